// Typed errors that speak to a sysadmin, and the one map from an error or a run's outcome
// to the exit code. A UserError is bad input: one line, a hint, exit 2, nothing changed.
// An ExternalError names the command that failed. Interrupted is a signal (128+N once
// rolled back); StepFailed a step that failed (rolled back, 1); RollbackIncomplete a
// rollback that left manual commands (4). Anything else is a bug and may show a stack.
import { constants as osConstants } from 'node:os';

export const EXIT = {
  ok: 0,
  failed: 1, // failed and rolled back (or: problems found)
  usage: 2, // bad input or usage; nothing changed
  rollbackIncomplete: 4,
  interrupted: 130,
} as const;

export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export class ExternalError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderrTail: string,
    readonly exitCode?: number,
  ) {
    super(`\`${argv.join(' ')}\` failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
    this.name = 'ExternalError';
  }
}

/**
 * The run was interrupted by a signal (Ctrl+C, SIGTERM, a dropped SSH session). Not a
 * failure of the command or child that was running: once rolled back, exit 128+N.
 */
export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
    this.name = 'Interrupted';
  }
}

/** A step of a plan failed (the run is rolled back): the step's title and why. */
export class StepFailed extends Error {
  constructor(
    readonly stepTitle: string,
    readonly cause: unknown,
  ) {
    super(`${stepTitle}: ${explain(cause)}`);
  }
}

/**
 * A run failed (`cause`) and its rollback could not undo everything: `manual` holds the
 * commands the admin must run by hand. The message stays the cause's.
 */
export class RollbackIncomplete extends Error {
  constructor(
    readonly cause: Error,
    readonly manual: string[],
  ) {
    super(explain(cause));
    this.name = 'RollbackIncomplete';
  }
}

/** What kind of failure a thrown value is; anything untyped is a bug. */
export type ErrorKind = 'user' | 'external' | 'interrupted' | 'step-failed' | 'rollback-incomplete' | 'bug';

export function errorKind(e: unknown): ErrorKind {
  if (e instanceof UserError) return 'user';
  if (e instanceof ExternalError) return 'external';
  if (e instanceof Interrupted) return 'interrupted';
  if (e instanceof StepFailed) return 'step-failed';
  if (e instanceof RollbackIncomplete) return 'rollback-incomplete';
  return 'bug';
}

/**
 * How a run of changes ended; `error` (typed) says why it did not work, when it did not
 * (a RollbackIncomplete when the rollback left manual commands).
 */
export interface Outcome {
  status: 'committed' | 'declined' | 'rolled-back' | 'rollback-incomplete';
  error?: Error;
}

/** The signal behind a failure, also when it is wrapped (a step it stopped, a rollback left incomplete). */
export function interruptionOf(e: unknown): Interrupted | undefined {
  if (e instanceof Interrupted) return e;
  if (e instanceof StepFailed || e instanceof RollbackIncomplete) return interruptionOf(e.cause);
  return undefined;
}

function isOutcome(x: unknown): x is Outcome {
  return typeof x === 'object' && x !== null && !(x instanceof Error) && 'status' in x;
}

/**
 * The exit code for a thrown error or a run's outcome, as the README lists them: 0 ok (a
 * declined run changed nothing), 1 failed (rolled back) or a bug, 2 bad input, 4 rollback
 * incomplete, 128+N interrupted by signal N.
 */
export function exitCodeFor(x: unknown): number {
  if (isOutcome(x)) return x.error === undefined ? EXIT.ok : exitCodeFor(x.error);
  switch (errorKind(x)) {
    case 'user':
      return EXIT.usage;
    case 'interrupted':
      return signalExitCode((x as Interrupted).signal);
    case 'rollback-incomplete':
      return EXIT.rollbackIncomplete;
    case 'external':
    case 'step-failed':
    case 'bug':
      return EXIT.failed;
  }
}

/** What an exit code means, in the README's words (apply --json and plan --json say it). */
export function exitMeaning(code: number): string {
  switch (code) {
    case EXIT.ok:
      return 'ok';
    case EXIT.failed:
      return 'failed and rolled back';
    case EXIT.usage:
      return 'bad input, nothing changed';
    case EXIT.rollbackIncomplete:
      return 'rollback incomplete';
    default: {
      const sig = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
      return code > 128 && sig ? `interrupted by ${sig}, rolled back` : 'failed';
    }
  }
}

/** A failure in words a sysadmin can act on; ENOSPC in particular says the disk is full. */
export function explain(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { stderrTail?: string };
  if (err?.code === 'ENOSPC' || /No space left on device/i.test(String(err?.message))) {
    return `the disk is full (no space left on device${err.path ? ` writing ${err.path}` : ''})`;
  }
  if (err?.code && err.path) return `${err.code} on ${err.path}: ${err.message.replace(/^\w+: /, '')}`;
  return err instanceof Error ? err.message : String(e);
}

/** The shell's convention for "ended by signal N": 128+N (130 for Ctrl+C). */
export function signalExitCode(sig: NodeJS.Signals): number {
  const n = osConstants.signals[sig];
  return typeof n === 'number' ? 128 + n : EXIT.failed;
}

/**
 * A value as it can go into a one-line message: as it is when plain, JSON-quoted when it
 * holds a newline or another control character (a group or path typed with a newline must
 * not break the message into lines that look like jailwizard's own).
 */
export function quoteIfOdd(s: string): string {
  // C0 and C1 controls: newlines, and escapes a terminal would act on.
  const odd = /[\u0000-\u001f\u007f-\u009f]/;
  if (!odd.test(s)) return s;
  return JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Text with every control character written as an escape: whatever a value held, it stays on its line. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** One line for the admin, plus the hint on a second line when there is one. */
export function formatUserError(e: UserError): string {
  return e.hint ? `jailwizard: ${oneLine(e.message)}\n  hint: ${oneLine(e.hint)}` : `jailwizard: ${oneLine(e.message)}`;
}
