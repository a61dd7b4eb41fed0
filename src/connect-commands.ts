// The commands a jailed user types to connect, for the wizard's summary and apply's
// closing lines. No imports: the screens' bundle carries it.

export interface Endpoint {
  host: string;
  port: number;
}

export function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1' || ip === 'localhost';
}

/** user@host for ssh (a bare IPv6 address) and for sftp, scp and rsync (in brackets). */
export function destination(user: string, host: string, brackets: boolean): string {
  return brackets && host.includes(':') ? `${user}@[${host}]` : `${user}@${host}`;
}

/** The commands a user types, per tool: -P for sftp and scp, -p for ssh, -e 'ssh -p' for rsync. */
export function connectCommands(user: string, tools: readonly string[], t: Endpoint): string[] {
  const P = t.port === 22 ? '' : ` -P ${t.port}`;
  const p = t.port === 22 ? '' : ` -p ${t.port}`;
  const out: string[] = [];
  if (tools.includes('sftp') || tools.includes('scp')) out.push(`sftp${P} ${destination(user, t.host, true)}`);
  if (tools.includes('scp')) out.push(`scp${P} FILE ${destination(user, t.host, true)}:`);
  if (tools.includes('bash')) out.push(`ssh${p} ${destination(user, t.host, false)}`);
  if (tools.includes('rsync')) out.push(`rsync -av${t.port === 22 ? '' : ` -e 'ssh -p ${t.port}'`} FILES ${destination(user, t.host, true)}:`);
  return out;
}
