// Typed errors that speak to a sysadmin. A UserError is bad input: one line, a hint,
// exit 2, nothing changed. An ExternalError names the command that failed. Anything
// else is a bug and may show a stack.

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

/** One line for the admin, plus the hint on a second line when there is one. */
export function formatUserError(e: UserError): string {
  return e.hint ? `jailwizard: ${e.message}\n  hint: ${e.hint}` : `jailwizard: ${e.message}`;
}
