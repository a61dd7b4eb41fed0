// `jailwizard doctor USER [--fix] [--yes] [--sshd-log FILE]`: the guided way out of
// "bad ownership or modes for chroot directory component" and the other classic failures.
import { EXIT, Interrupted, UserError, signalExitCode } from '../errors.ts';
import { Executor, assertNoUnfinished, explain, type Listener } from '../executor.ts';
import { formatPlan, type Plan } from '../effects.ts';
import { diagnose, gatherDoctorFacts, inferTools, planFixes, type DoctorFacts, type Finding } from '../doctor.ts';
import { confirm } from '../prompt.ts';
import { printEvent, say, warn } from '../output.ts';
import { formatProbeTable, type ProbeResult } from '../verify.ts';
import { verifyJail } from './test.ts';
import type { CommonOptions } from './common.ts';
import { sha256 } from '../host/hash.ts';

export interface DoctorOptions extends CommonOptions {
  fix: boolean;
  yes: boolean;
  sshdLog?: string;
}

/** The chain, one line per component, so the broken link shows at a glance. */
export function formatReport(f: DoctorFacts, findings: Finding[]): string {
  const out: string[] = [`jailwizard doctor: ${f.user.name} (shell ${f.user.shell}, home ${f.user.home})`, ''];
  if (f.logLine) out.push(`Latest sshd failure (${f.logLine.source}):`, `  ${f.logLine.line.trim()}`);
  else if (f.logSource) out.push(`No sshd failure for ${f.user.name} in ${f.logSource}.`);
  else out.push(`No sshd log found; searched: ${f.logsSearched.join(', ')}. Pass --sshd-log FILE if sshd logs elsewhere.`);
  out.push('');
  if (f.chroot) {
    out.push(
      f.jailkit
        ? `jailkit jail for ${f.user.name}: ${f.chroot}   (jk_chrootsh, from the /./ in the home ${f.user.home}; every component root-owned, no group/other write)`
        : `ChrootDirectory for ${f.user.name}: ${f.chroot}   (sshd -T -C user=${f.user.name}; every component must be root-owned, no group/other write)`,
    );
    const w = Math.max(...f.chain.map((l) => l.path.length)) + 2;
    for (const l of f.chain) out.push(`  ${l.ok ? '✓' : '✗'} ${l.path.padEnd(w)}${l.exists ? l.owner : 'missing'}${l.symlinkTo ? ` -> ${l.symlinkTo}` : ''}${l.reason ? `   ${l.reason}` : ''}`);
    out.push('');
  }
  if (findings.length === 0) {
    out.push('No problems found.');
    return `${out.join('\n')}\n`;
  }
  out.push(`${findings.length} problem${findings.length === 1 ? '' : 's'}:`);
  for (const x of findings) {
    out.push(`  ✗ ${x.title}`);
    for (const e of x.evidence) out.push(`      ${e}`);
    if (x.fix) out.push(`      fix (--fix): ${x.fix.title}`);
    else if (x.manual) out.push(`      by hand: ${x.manual}`);
  }
  return `${out.join('\n')}\n`;
}

export async function doctorCommand(user: string, o: DoctorOptions): Promise<number> {
  if (o.fix) assertNoUnfinished(o.stateDir);
  const facts = await gatherDoctorFacts(user, o);
  const findings = diagnose(facts, sha256);
  say(formatReport(facts, findings));
  if (findings.length === 0) return EXIT.ok;
  if (!o.fix) {
    if (findings.some((x) => x.fix)) say(`Run \`jailwizard doctor ${user} --fix\` to preview and apply the fixes.`);
    return EXIT.failed;
  }
  const plan = planFixes(facts, findings);
  if (plan.steps.length === 0) {
    warn('Nothing here can be fixed automatically; see "by hand" above.');
    return EXIT.failed;
  }
  say(formatPlan(plan));
  if (!(await confirm(`Apply these ${plan.steps.length} fixes?`, o.yes))) {
    say('Nothing changed.');
    return EXIT.failed;
  }
  const r = await runDoctorFix(facts, plan, o, printEvent, (p) => say(`  ${p.ok ? '✓' : '✗'} ${p.name}`), () => say(`Connection test for ${user} with the real clients:`));
  if (r.kind === 'rolled-back') {
    warn(`jailwizard: ${r.error}`);
    return r.manual.length ? EXIT.rollbackIncomplete : r.signal ? signalExitCode(r.signal) : EXIT.failed;
  }
  if (r.kind === 'test-error') {
    warn(`jailwizard: the connection test could not run: ${r.error}`);
    return EXIT.failed;
  }
  const failed = r.probes.filter((p) => !p.ok);
  if (failed.length > 0) {
    warn(formatProbeTable(r.probes));
    warn(`Fixed what could be fixed, but ${failed.length} probe(s) still fail; run jailwizard doctor ${user} again.`);
    return EXIT.failed;
  }
  say(`Fixed: ${user} logs in again, and all ${r.probes.length} probes passed.`);
  return EXIT.ok;
}

export type FixOutcome =
  | { kind: 'rolled-back'; error: string; manual: string[]; signal?: NodeJS.Signals }
  | { kind: 'test-error'; error: string }
  | { kind: 'tested'; probes: ProbeResult[] };

/**
 * Applies the fixes (journaled; rolled back if one fails), then proves the jail. The fixes
 * stay even if the test then fails: each one is a repair; the test says what is left.
 */
export async function runDoctorFix(
  facts: DoctorFacts,
  plan: Plan,
  o: CommonOptions,
  listener: Listener,
  onProbe?: (p: ProbeResult) => void,
  onTestStart?: () => void,
): Promise<FixOutcome> {
  const user = facts.user.name;
  const ex = Executor.begin(o.stateDir, 'doctor', user, listener);
  const rollBack = async (e: unknown): Promise<FixOutcome> => {
    const interrupted = ex.interruption(e);
    const error = interrupted ? interrupted.message : explain(e);
    const manual = await ex.rollback(error);
    ex.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
    return { kind: 'rolled-back', error, manual, ...(interrupted ? { signal: interrupted.signal } : {}) };
  };
  try {
    await ex.apply(plan);
  } catch (e) {
    return rollBack(e);
  }
  try {
    onTestStart?.();
    const probes = await verifyJail(ex, { user, jail: facts.chroot ?? '/', tools: inferTools(facts), sshdConfig: o.sshdConfig }, onProbe);
    // Ctrl+C or a dropped session during the test stops the repair too: nothing stays half-proved.
    if (ex.interruptedBy) return rollBack(new Interrupted(ex.interruptedBy));
    ex.finish('committed');
    return { kind: 'tested', probes };
  } catch (e) {
    if (ex.interruption(e)) return rollBack(e);
    ex.finish('committed');
    if (e instanceof UserError) throw e;
    return { kind: 'test-error', error: explain(e) };
  }
}
