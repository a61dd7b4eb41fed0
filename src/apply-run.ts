// The apply pipeline shared by `jailwizard apply` and the wizard: validate, plan, execute
// with journal and rollback, then prove the jail with the real clients.
import { UserError } from './errors.ts';
import { Executor, Interrupted, StepFailed, explain, signalExitCode, type Listener } from './executor.ts';
import type { Plan } from './effects.ts';
import { binaryArches, gatherFacts, hostArch } from './host-facts.ts';
import { planApply, toolBinaries } from './plan.ts';
import { readRecord, recordForJail } from './state.ts';
import { checkArch, checkAuthorizedKeys, checkJailPath, checkUserAllowed, checkUserName, readUserHost } from './validate.ts';
import { verifyJail } from './commands/test.ts';
import { checkSshdConfigPath, type CommonOptions } from './commands/common.ts';
import type { ProbeResult } from './verify.ts';
import type { Answers, Arch, Tool } from './types.ts';
import { sha256 } from './host/hash.ts';

/** Every refusal that needs no plan: bad input never gets as far as a change. */
export async function validateAnswers(a: Answers, o: CommonOptions): Promise<void> {
  checkUserName(a.user);
  checkUserAllowed(a.user, readUserHost());
  const managed = recordForJail(o.stateDir, a.jail, a.user);
  if (managed && !(managed.answers.shared && a.shared)) {
    throw new UserError(
      `jail ${a.jail} belongs to ${managed.user}${managed.answers.shared ? '' : ' and is not shared'}`,
      managed.answers.shared ? 'add shared: true to share it' : `choose another path, or apply ${managed.user} again with shared: true first`,
    );
  }
  checkJailPath(a.jail, { isManagedJail: (p) => recordForJail(o.stateDir, p) !== undefined });
  await checkAuthorizedKeys(a.authorizedKeys);
  checkSshdConfigPath(o.sshdConfig);
  if (a.arch !== 'auto') checkArch(a.arch, hostArch(), toolArches(a.tools));
}

/** The ELF arches of the chosen tools' binaries on this host. */
export function toolArches(tools: Tool[]): Partial<Record<Tool, Arch[]>> {
  const found: Partial<Record<Tool, Arch[]>> = {};
  for (const g of toolBinaries(tools, '/usr/lib/openssh/sftp-server')) {
    const tool = g.name === 'shell' ? 'bash' : (g.name as Tool);
    const arches = [...binaryArches(g.binaries).values()].filter((x): x is Arch => !x.startsWith('other'));
    found[tool] = [...new Set([...(found[tool] ?? []), ...arches])];
  }
  return found;
}

export async function makePlan(a: Answers, o: CommonOptions): Promise<Plan> {
  const facts = await gatherFacts(a, { sshdConfig: o.sshdConfig, stateDir: o.stateDir, syslogConfig: o.syslogConfig });
  return planApply(a, facts, { now: new Date().toISOString(), sha256 });
}

export interface ApplyHooks {
  listener: Listener;
  /** A plan made after packages were installed: show it and say whether to go on. */
  confirmNext(plan: Plan): Promise<boolean>;
  onTestStart?(): void;
  onProbe?(r: ProbeResult): void;
}

export type ApplyOutcome =
  | { ok: true; probes: ProbeResult[] }
  | { ok: false; exitCode: number; error: string; probes: ProbeResult[]; manual: string[] };

/** Runs a confirmed plan; on any failure or signal everything is rolled back. Never throws. */
export async function executeApply(a: Answers, o: CommonOptions & { noTest: boolean }, first: Plan, hooks: ApplyHooks): Promise<ApplyOutcome> {
  let probes: ProbeResult[] = [];
  let ex: Executor;
  try {
    ex = Executor.begin(o.stateDir, 'apply', a.user, hooks.listener);
  } catch (e) {
    return { ok: false, exitCode: e instanceof UserError ? 2 : 1, error: explain(e), probes, manual: [] };
  }
  try {
    let plan = first;
    // A plan that installs packages is followed by one for their files, shown once they exist.
    for (let round = 0; plan.steps.length > 0 && round < 3; round++) {
      await ex.apply(plan);
      if (plan.steps[0]?.id !== 'packages') break;
      plan = await makePlan(a, o);
      if (plan.steps.length === 0) break;
      if (!(await hooks.confirmNext(plan))) throw new StepFailed('confirmation', new Error('declined by the admin'));
    }
    if (!o.noTest) {
      const rec = readRecord(o.stateDir, a.user);
      if (!rec) throw new StepFailed('connection test', new Error('the jail record is missing'));
      hooks.onTestStart?.();
      probes = await verifyJail(ex, rec, hooks.onProbe);
      if (ex.interruptedBy) throw new Interrupted(ex.interruptedBy);
      const failed = probes.filter((r) => !r.ok);
      if (failed.length > 0) throw new StepFailed('connection test', new Error(`${failed.length} probe(s) failed: ${failed.map((f) => f.name).join('; ')}`));
    }
    ex.finish('committed');
    return { ok: true, probes };
  } catch (e) {
    // A signal that reached a child (sshd -T, ssh…) is the interruption, not the child's failure.
    const interrupted = ex.interruption(e);
    const error = interrupted ? interrupted.message : e instanceof StepFailed ? e.message : explain(e);
    const manual = await ex.rollback(interrupted ? interrupted.message : explain(e));
    ex.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
    const exitCode = manual.length ? 4 : interrupted ? signalExitCode(interrupted.signal) : e instanceof UserError ? 2 : 1;
    return { ok: false, exitCode, error, probes, manual };
  }
}
