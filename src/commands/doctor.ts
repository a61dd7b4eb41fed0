// `jailwizard doctor USER [--fix] [--yes] [--sshd-log FILE]`: the guided way out of
// "bad ownership or modes for chroot directory component" and the other classic failures.
import { EXIT, UserError, exitCodeFor, explain } from '../model/errors.ts';
import { assertNoUnfinished } from '../engine/executor.ts';
import { diagnose, gatherDoctorFacts, planFixes } from '../workflows/doctor.ts';
import { printEvent, say, warn } from './output.ts';
import { formatProbeTable } from '../workflows/verify.ts';
import { formatReport, runDoctorFix } from '../workflows/doctor-fix.ts';
import { askOnTerminal, type CommonOptions } from './common.ts';
import { sha256 } from '../host/hash.ts';

export interface DoctorOptions extends CommonOptions {
  fix: boolean;
  yes: boolean;
  sshdLog?: string;
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
  const r = await runDoctorFix(facts, plan, o, {
    listener: printEvent,
    confirm: askOnTerminal((fixes) => `Apply these ${fixes.steps.length} fixes?`, o.yes),
    onProbe: (p) => say(`  ${p.ok ? '✓' : '✗'} ${p.name}`),
    onTestStart: () => say(`Connection test for ${user} with the real clients:`),
  });
  // Declined: the problems are still there.
  if (r.status === 'declined') return EXIT.failed;
  if (r.status !== 'committed') {
    warn(`jailwizard: ${explain(r.error)}`);
    return exitCodeFor(r);
  }
  if (!r.verified) {
    // The fixes stay; bad input (sshd listens nowhere) is still exit 2.
    if (r.error instanceof UserError) throw r.error;
    warn(`jailwizard: the connection test could not run: ${explain(r.error)}`);
    return exitCodeFor(r);
  }
  const failed = r.verified.filter((p) => !p.ok);
  if (failed.length > 0) {
    warn(formatProbeTable(r.verified));
    warn(`Fixed what could be fixed, but ${failed.length} probe(s) still fail; run jailwizard doctor ${user} again.`);
    return exitCodeFor(r);
  }
  say(`Fixed: ${user} logs in again, and all ${r.verified.length} probes passed.`);
  return exitCodeFor(r);
}
