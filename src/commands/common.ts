import { existsSync } from 'node:fs';
import { UserError } from '../errors.ts';
import { shQuote } from '../effects.ts';
import { DEFAULT_SSHD_CONFIG } from '../sshd-config.ts';
import { DEFAULT_STATE_DIR } from '../state.ts';

export interface CommonOptions {
  sshdConfig: string;
  stateDir: string;
  /** The syslog daemon's config for jails that log (--syslog-config); found by itself when absent. */
  syslogConfig?: string;
}

export function checkSshdConfigPath(p: string): void {
  if (!p.startsWith('/')) throw new UserError(`--sshd-config ${JSON.stringify(p)} is not an absolute path`, 'give the full path, e.g. /etc/ssh/sshd_config');
  // Its dir may go into an Include line of the config itself: plain characters only.
  if (/[^A-Za-z0-9._+@/-]/.test(p)) throw new UserError(`--sshd-config ${JSON.stringify(p)} has characters sshd_config cannot hold in an Include line`, 'use a path of letters, digits and . _ - + @ /');
  if (!existsSync(p)) throw new UserError(`sshd config ${p} does not exist`, 'is openssh-server installed? (apt-get install openssh-server)');
}

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
