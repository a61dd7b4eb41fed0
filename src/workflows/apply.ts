// The apply pipeline shared by `jailwizard apply` and the wizard: validate, plan, execute
// with journal and rollback, then prove the jail with the real clients.
import { StepFailed, UserError, exitCodeFor, explain } from '../model/errors.ts';
import type { Listener } from '../engine/executor.ts';
import { runPlan } from '../engine/run-plan.ts';
import type { Plan } from '../model/effects.ts';
import { binaryArches, gatherFacts, hostArch, type HostFacts } from '../host/facts.ts';
import { planApply, toolBinaries } from '../plan/index.ts';
import { readRecord, recordForJail } from '../host/state.ts';
import { checkArch, checkAuthorizedKeys, checkJailPath, checkSshdConfigPath, checkUserAllowed, checkUserName, readUserHost } from '../host/validate.ts';
import type { CommonOptions } from '../model/options.ts';
import { verifyJail } from './verify-run.ts';
import type { ProbeResult } from './verify.ts';
import type { Answers, Arch, Tool } from '../model/types.ts';
import { sha256 } from '../host/hash.ts';

/** Every refusal that needs no plan but the keys' (see checkedPlan): bad input never gets as far as a change. */
function refuseBadAnswers(a: Answers, o: CommonOptions): void {
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
  checkSshdConfigPath(o.sshdConfig);
  if (a.arch !== 'auto') checkArch(a.arch, hostArch(), toolArches(a.tools));
}

/**
 * Validates the answers, then plans. ssh-keygen judges the keys while the facts are
 * gathered (both only read); a refusal of either still comes before any change, a bad
 * key's first.
 */
export async function checkedPlan(a: Answers, o: CommonOptions): Promise<{ plan: Plan; facts: HostFacts }> {
  refuseBadAnswers(a, o);
  const [keys, made] = await Promise.allSettled([checkAuthorizedKeys(a.authorizedKeys), planWithFacts(a, o)]);
  if (keys.status === 'rejected') throw keys.reason;
  if (made.status === 'rejected') throw made.reason;
  return made.value;
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

/** The plan and the facts it was made from (apply's closing lines reuse sshd's global settings). */
export async function planWithFacts(a: Answers, o: CommonOptions): Promise<{ plan: Plan; facts: HostFacts }> {
  const facts = await gatherFacts(a, { sshdConfig: o.sshdConfig, stateDir: o.stateDir, syslogConfig: o.syslogConfig });
  return { plan: planApply(a, facts, { now: new Date().toISOString(), sha256 }), facts };
}

export interface ApplyHooks {
  listener: Listener;
  /** Shows the plan and asks before anything changes (the CLI); the wizard previewed it on its own screen. */
  confirm?(plan: Plan): Promise<boolean>;
  /** A plan made after packages were installed: show it and say whether to go on. */
  confirmNext(plan: Plan): Promise<boolean>;
  onTestStart?(): void;
  onProbe?(r: ProbeResult): void;
}

export type ApplyOutcome =
  | { ok: true; probes: ProbeResult[]; declined?: true }
  | { ok: false; exitCode: number; error: string; probes: ProbeResult[]; manual: string[] };

/** Runs the plan through runPlan; on any failure or signal everything is rolled back. Throws only before a change. */
export async function executeApply(a: Answers, o: CommonOptions & { noTest: boolean }, first: Plan, hooks: ApplyHooks): Promise<ApplyOutcome> {
  const outcome = await runPlan(first, {
    stateDir: o.stateDir,
    command: 'apply',
    user: a.user,
    listener: hooks.listener,
    confirm: hooks.confirm,
    // A plan that installs packages is followed by one for their files, shown once they exist.
    next: async (done) => (done.steps[0]?.id === 'packages' ? (await planWithFacts(a, o)).plan : undefined),
    confirmNext: hooks.confirmNext,
    verify: o.noTest
      ? undefined
      : async (ex) => {
          const rec = readRecord(o.stateDir, a.user);
          if (!rec) throw new StepFailed('connection test', new Error('the jail record is missing'));
          hooks.onTestStart?.();
          return verifyJail(ex, rec, hooks.onProbe);
        },
    judge(probes) {
      const failed = probes.filter((r) => !r.ok);
      return failed.length > 0 ? new StepFailed('connection test', new Error(`${failed.length} probe(s) failed: ${failed.map((f) => f.name).join('; ')}`)) : undefined;
    },
  });
  const probes = outcome.verified ?? [];
  if (outcome.status === 'declined') return { ok: true, probes, declined: true };
  if (!outcome.error) return { ok: true, probes };
  return { ok: false, exitCode: exitCodeFor(outcome), error: explain(outcome.error), probes, manual: outcome.manual };
}
