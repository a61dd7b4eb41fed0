// Where sshd writes its pid: what `sshd -T` says, else the default sshd was built with.

/** The PidFile Debian's and Ubuntu's sshd is built with (_PATH_SSH_DAEMON_PID_FILE), for an sshd -T that names none. */
export const SSHD_DEFAULT_PIDFILE = '/run/sshd.pid';

/** The PidFile of an sshd, from its `sshd -T` output (keys in lower case). */
export function sshdPidFile(effective: ReadonlyMap<string, readonly string[]>): string {
  return effective.get('pidfile')?.[0] ?? SSHD_DEFAULT_PIDFILE;
}
