import { formatPlan, shQuote, type Plan } from '../model/effects.ts';
import { confirm } from './prompt.ts';
import { say } from './output.ts';
import { DEFAULT_SSHD_CONFIG } from '../host/sshd-config.ts';
import { DEFAULT_STATE_DIR } from '../host/state.ts';
import type { CommonOptions } from '../model/options.ts';

export type { CommonOptions };

/**
 * The options a command shown to the admin must repeat to act on the same sshd and state:
 * ` --sshd-config P --state-dir D` for those that are not the defaults, shell-quoted.
 */
export function repeatFlags(o: Pick<CommonOptions, 'sshdConfig' | 'stateDir'>): string {
  const flags: string[] = [];
  if (o.sshdConfig !== DEFAULT_SSHD_CONFIG) flags.push('--sshd-config', o.sshdConfig);
  if (o.stateDir !== DEFAULT_STATE_DIR) flags.push('--state-dir', o.stateDir);
  return flags.map((f) => ` ${shQuote(f)}`).join('');
}

/** runPlan's confirm on the command line: the plan's preview, the question (or --yes), and "Nothing changed." on no. */
export function askOnTerminal(question: (plan: Plan) => string, yes: boolean): (plan: Plan) => Promise<boolean> {
  return async (plan) => {
    say(formatPlan(plan));
    if (await confirm(question(plan), yes)) return true;
    say('Nothing changed.');
    return false;
  };
}
