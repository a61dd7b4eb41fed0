// doctor --fix as a workflow, for the CLI and the wizard's Repair screen alike: the report
// of what doctor found, and the fixes run through runPlan (journaled, rolled back if one
// fails, then proved with the connection test).
import type { ExecEvent, Listener } from '../engine/executor.ts';
import type { Plan } from '../model/effects.ts';
import { StepFailed } from '../model/errors.ts';
import { inferTools, type DoctorFacts, type Finding } from './doctor.ts';
import { runPlan, type RunOutcome } from '../engine/run-plan.ts';
import type { ProbeResult } from './verify.ts';
import { verifyJail } from './verify-run.ts';

/** What the wizard's Repair screen needs: who to offer, doctor's report and fixes, and a run of them. */
export interface RepairServices {
  repairCandidates(): { user: string; reason: string }[];
  /** doctor's report (chain picture and findings) and the plan of fixes. */
  diagnose(user: string): Promise<{ report: string[]; plan: Plan }>;
  /** The fixes through runPlan; exitCode is exitCodeFor the run (0 only when every probe passed). */
  fix(user: string, listener: (e: ExecEvent) => void, onProbe: (p: ProbeResult) => void): Promise<{ ok: boolean; error?: string; manual: string[]; probes: ProbeResult[]; exitCode: number }>;
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

export interface FixHooks {
  listener: Listener;
  /** Shows the fixes and asks (the CLI); the Repair screen previewed them itself. */
  confirm?(plan: Plan): Promise<boolean>;
  onProbe?(p: ProbeResult): void;
  onTestStart?(): void;
}

/**
 * Applies the fixes (journaled; rolled back if one fails), then proves the jail. The fixes
 * stay even if the test then fails or cannot run: each one is a repair; the test says what
 * is left. Ctrl+C or a dropped session during the test rolls the repair back too.
 */
export async function runDoctorFix(facts: DoctorFacts, plan: Plan, o: { stateDir: string; sshdConfig: string }, hooks: FixHooks): Promise<RunOutcome<ProbeResult[]>> {
  const user = facts.user.name;
  return runPlan(plan, {
    stateDir: o.stateDir,
    command: 'doctor',
    user,
    listener: hooks.listener,
    confirm: hooks.confirm,
    verify(ex) {
      hooks.onTestStart?.();
      return verifyJail(ex, { user, jail: facts.chroot ?? '/', tools: inferTools(facts), sshdConfig: o.sshdConfig }, hooks.onProbe);
    },
    judge(probes) {
      const failed = probes.filter((p) => !p.ok);
      return failed.length > 0 ? new StepFailed('connection test', new Error(`${failed.length} probe(s) still fail: ${failed.map((p) => p.name).join('; ')}`)) : undefined;
    },
    onVerifyFailure: 'keep',
  });
}
