import { existsSync } from 'node:fs';
import { UserError } from '../errors.ts';

export interface CommonOptions {
  sshdConfig: string;
  stateDir: string;
  /** The syslog daemon's config for jails that log (--syslog-config); found by itself when absent. */
  syslogConfig?: string;
}

export function checkSshdConfigPath(p: string): void {
  if (!p.startsWith('/')) throw new UserError(`--sshd-config ${p} is not an absolute path`, 'give the full path, e.g. /etc/ssh/sshd_config');
  if (!existsSync(p)) throw new UserError(`sshd config ${p} does not exist`, 'is openssh-server installed? (apt-get install openssh-server)');
}
