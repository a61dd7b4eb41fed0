// Typed errors that speak to a sysadmin. A UserError is bad input: one line, a hint,
// exit 2, nothing changed. An ExternalError names the command that failed. Anything
// else is a bug and may show a stack.
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
