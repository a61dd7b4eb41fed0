// After a SIGHUP, sshd closes its listening sockets and re-executes itself under the same
// pid. We know the reload is complete when a new listening socket (a new inode) is up.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

const LISTEN = '0A';

/** Inodes of the TCP sockets listening on these ports (IPv4 and IPv6). */
export function listenerInodes(ports: number[]): Set<string> {
  const want = new Set(ports);
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== LISTEN) continue;
      const port = parseInt(cols[1]!.split(':')[1] ?? '', 16);
      if (want.has(port)) out.add(cols[9]!);
    }
  }
  return out;
}

/** Waits until every port listens on a socket that was not there before (up to 15 s). */
export async function waitForNewListener(ports: number[], before: Set<string>, timeoutMs = 15_000): Promise<void> {
  if (ports.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const perPort = ports.map((p) => [...listenerInodes([p])]);
    if (perPort.every((inodes) => inodes.length > 0 && inodes.some((i) => !before.has(i)))) return;
    if (Date.now() > deadline) {
      throw new Error(`sshd did not listen again on port ${ports.join(', ')} within ${timeoutMs / 1000} s of the reload; check its log`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Connects and reads sshd's banner ("SSH-2.0-…"): proves that something answers as sshd there.
 * Under socket activation this connection starts sshd, with whatever config is current.
 */
export function readBanner(host: string, port: number, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = connect({ host, port });
    const done = (err?: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(got.split('\r\n')[0]!);
    };
    const timer = setTimeout(() => done(new Error(`no SSH banner from ${host}:${port} within ${timeoutMs / 1000} s`)), timeoutMs);
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\n')) done(got.startsWith('SSH-') ? undefined : new Error(`${host}:${port} answered ${JSON.stringify(got.slice(0, 40))}, not an SSH banner`));
    });
    sock.on('error', (e) => done(e));
    sock.on('end', () => done(new Error(`${host}:${port} closed the connection before its SSH banner`)));
  });
}
