// Asking the admin on a terminal; refusing to guess when there is none.
import { createInterface } from 'node:readline/promises';
import { UserError } from '../model/errors.ts';

/** Asks yes/no on a TTY. Without one, changes need --yes: exit 2 with that hint. */
export async function confirm(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new UserError('stdin is not a terminal, so jailwizard cannot ask before changing the host', 'review the plan with --dry-run, then run again with --yes');
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
