// `jailwizard apply --config FILE`: validate everything, plan, show, confirm, execute with
// journal and rollback, then prove the jail with the real clients (or roll it all back).
// With --json (for Ansible and other callers) stdout carries exactly one JSON object: what
// changed, the steps run, the probes, and the exit code with its meaning.
import { EXIT, UserError, errorKind, exitCodeFor, exitMeaning } from '../model/errors.ts';
import { assertNoUnfinished, type ExecEvent } from '../engine/executor.ts';
import { countActions, formatPlan, planToShellScript } from '../model/effects.ts';
import { internalErrorReport, shortMessage } from '../host/crash.ts';
import { loadAnswers } from '../host/answers-file.ts';
import { readRecord } from '../host/state.ts';
import { formatProbeTable, probeLine, type ProbeResult } from '../workflows/verify.ts';
import { confirm } from './prompt.ts';
import { printEvent, say, warn } from './output.ts';
import { checkedPlan, executeApply } from '../workflows/apply.ts';
import { askOnTerminal, repeatFlags, type CommonOptions } from './common.ts';
import type { Answers } from '../model/types.ts';
import { connectTarget } from '../host/connect-target.ts';
import { connectCommands, isLoopback } from '../plan/connect-commands.ts';
import type { EffectiveConfig } from '../host/sshd-config.ts';

declare const JAILWIZARD_VERSION: string;
export const VERSION = typeof JAILWIZARD_VERSION === 'string' ? JAILWIZARD_VERSION : '0.0.0-dev';

export interface ApplyOptions extends CommonOptions {
  config: string;
  yes: boolean;
  dryRun: boolean;
  noTest: boolean;
  json?: boolean;
}

export async function applyCommand(o: ApplyOptions): Promise<number> {
  if (o.json) return applyJson(o);
  const a = await loadAnswers(o.config);
  if (!o.dryRun) assertNoUnfinished(o.stateDir);
  const { plan, facts } = await checkedPlan(a, o);

  if (o.dryRun) {
    process.stdout.write(planToShellScript(plan));
    return EXIT.ok;
  }
  if (plan.steps.length === 0) {
    say(`Nothing to do: ${a.user}'s jail ${a.jail} already matches ${o.config}.`);
    if (o.noTest) return EXIT.ok;
  } else if (!o.noTest) plan.notes.push(testNote(a.user));

  const outcome = await executeApply(a, o, plan, {
    listener: printEvent,
    confirm: askOnTerminal((first) => `Apply these ${first.steps.length} steps (${countActions(first)} changes)?`, o.yes),
    async confirmNext(next) {
      say(formatPlan(next));
      return confirm(`Apply these ${next.steps.length} steps?`, o.yes);
    },
    onTestStart: () => say('Connection test with the real clients:'),
    onProbe: (r) => say(probeLine(r)),
  });
  if (!outcome.ok) {
    if (outcome.probes.some((p) => !p.ok)) warn(formatProbeTable(outcome.probes));
    warn(`jailwizard: ${outcome.error}`);
    return outcome.exitCode;
  }
  if (outcome.declined) return EXIT.ok;
  await summary(a, o, facts.sshd.effective);
  return EXIT.ok;
}

export function testNote(user: string): string {
  return `After the last step, the connection test authorizes a temporary key for ${user} (from 127.0.0.1 and ::1 only) and removes it again; if a probe fails, every step is rolled back.`;
}

/** `sshd`: sshd -T's global settings from the plan's facts; the drop-in added only a Match block, so where users connect is unchanged. */
async function summary(a: Answers, o: CommonOptions, sshd: EffectiveConfig): Promise<void> {
  const rec = readRecord(o.stateDir, a.user);
  say('');
  say(`Done: ${a.user} is jailed in ${a.jail} with ${a.tools.join(', ')}.`);
  // The address and port users type: the one this host was reached by, not <this host>.
  const target = await connectTarget(sshd);
  for (const [i, c] of connectCommands(a.user, a.tools, target).entries()) say(`  ${i === 0 ? 'Connect:' : '        '} ${c}`);
  if (isLoopback(target.host)) say(`  (sshd listens only on ${target.host}: only this host can connect)`);
  say(`  Undo:    jailwizard remove ${a.user}${repeatFlags(o)}`);
  if (rec && a.authorizedKeys.length === 0) say(`  No keys yet: add them to /etc/ssh/authorized_keys/${a.user} (root-owned).`);
}

// ---------------------------------------------------------------- --json

export interface JsonStep {
  id: string;
  title: string;
  /** The step ran to its end (false: it failed, or was interrupted, and was rolled back). */
  ok: boolean;
}

/** The one object `apply --json` prints. */
export interface ApplyJson {
  command: 'apply';
  version: string;
  user: string | null;
  jail: string | null;
  /** Whether the host is different afterwards: steps ran and were not (all) rolled back. */
  changed: boolean;
  steps: JsonStep[];
  /** null when the test did not run (--no-test, or a failure before it). */
  verification: { ok: boolean; probes: ProbeResult[] } | null;
  rolledBack: boolean;
  /** Commands to run by hand when the rollback was incomplete (exit 4). */
  manual: string[];
  exit: { code: number; meaning: string };
  error: { message: string; hint: string | null } | null;
}

function emitJson(o: object): void {
  process.stdout.write(`${JSON.stringify(o, null, 2)}\n`);
}

/** An error before anything changed, as the JSON object of `command` (and as a line on stderr). */
export function jsonError(command: 'apply' | 'plan', e: unknown): { code: number; body: object } {
  const code = exitCodeFor(e);
  const kind = errorKind(e);
  const message = kind === 'bug' ? `internal error (a bug; please report it): ${shortMessage(e)}` : (e as Error).message;
  const hint = e instanceof UserError ? (e.hint ?? null) : null;
  // The few lines and the trace's file go to stderr; the JSON carries the message.
  if (kind === 'bug') warn(internalErrorReport(e));
  else warn(`jailwizard: ${message}${hint ? `\n  hint: ${hint}` : ''}`);
  const exit = { code, meaning: kind === 'interrupted' ? `${message}, nothing changed` : code === EXIT.failed ? 'failed, nothing changed' : exitMeaning(code) };
  const error = { message, hint };
  const body =
    command === 'apply'
      ? ({ command, version: VERSION, user: null, jail: null, changed: false, steps: [], verification: null, rolledBack: false, manual: [], exit, error } satisfies ApplyJson)
      : { command, version: VERSION, user: null, changed: false, steps: [], notes: [], exit, error };
  return { code, body };
}

/**
 * Runs a --json command: whatever it throws (bad input, a missing --config, not root) still
 * ends as one JSON object on stdout, with exit 2 for bad input.
 */
export async function withJsonErrors(command: 'apply' | 'plan', body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    const { code, body: obj } = jsonError(command, e);
    emitJson(obj);
    return code;
  }
}

/** Human progress goes to stderr: stdout is the JSON object's alone. */
function progressToStderr(e: ExecEvent): void {
  if (e.type === 'step-start') warn(`[${e.index}/${e.total}] ${e.step.title}`);
  else printEvent(e); // the rest of printEvent writes to stderr or not at all
}

async function applyJson(o: ApplyOptions): Promise<number> {
  if (o.dryRun) throw new UserError('--dry-run prints a sh script, not JSON', 'for the plan as JSON, run `jailwizard plan --config FILE --json`');
  const a = await loadAnswers(o.config);
  assertNoUnfinished(o.stateDir);
  const { plan } = await checkedPlan(a, o);
  if (plan.steps.length > 0 && !o.yes) {
    throw new UserError(
      `${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'} would change this host, and --json cannot ask`,
      'review them with `jailwizard plan --config FILE --json`, then run again with --yes',
    );
  }
  const result: ApplyJson = {
    command: 'apply',
    version: VERSION,
    user: a.user,
    jail: a.jail,
    changed: false,
    steps: [],
    verification: null,
    rolledBack: false,
    manual: [],
    exit: { code: EXIT.ok, meaning: exitMeaning(EXIT.ok) },
    error: null,
  };
  if (plan.steps.length === 0 && o.noTest) {
    emitJson(result);
    return EXIT.ok;
  }
  if (plan.steps.length > 0) warn(formatPlan(plan));
  const probes: ProbeResult[] = [];
  const outcome = await executeApply(a, o, plan, {
    listener(e) {
      if (e.type === 'step-start') result.steps.push({ id: e.step.id, title: e.step.title, ok: false });
      if (e.type === 'step-done') result.steps[result.steps.length - 1]!.ok = true;
      progressToStderr(e);
    },
    async confirmNext(next) {
      warn(formatPlan(next));
      return true; // --yes was given: the same answer for the files of new packages
    },
    onTestStart: () => warn('Connection test with the real clients:'),
    onProbe(r) {
      probes.push(r);
      warn(probeLine(r));
    },
  });
  const all = outcome.probes.length > 0 ? outcome.probes : probes;
  if (all.length > 0 || (outcome.ok && !o.noTest)) result.verification = { ok: all.every((p) => p.ok), probes: all };
  if (outcome.ok) {
    result.changed = result.steps.length > 0;
  } else {
    result.rolledBack = true;
    result.manual = outcome.manual;
    result.changed = result.steps.length > 0 && outcome.manual.length > 0;
    result.exit = { code: outcome.exitCode, meaning: exitMeaning(outcome.exitCode) };
    result.error = { message: outcome.error, hint: outcome.manual.length > 0 ? 'run the commands in "manual" by hand' : null };
    if (all.some((p) => !p.ok)) warn(formatProbeTable(all));
    warn(`jailwizard: ${outcome.error}`);
  }
  emitJson(result);
  return result.exit.code;
}
