import { existsSync } from 'node:fs';
import { UserError } from '../errors.ts';

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
