// What a jailed user will type to connect: the address the admin reached this host by
// (their own SSH session's server address), or the host's FQDN, and sshd's port. Not
// 127.0.0.1 from a ListenAddress, which is useless from anywhere else.
//
// Under sudo, env_reset drops SSH_CONNECTION, so the session is looked for in the
// environment of the processes above this one (the admin's login shell has it), then in
// the sshd process above this one (its TCP socket's local end), then among the
// connections sshd has open (tmux started under sudo has no SSH ancestor at all).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { run } from './run.ts';
import { connectAddresses, type EffectiveConfig } from './sshd-config.ts';
import { isLoopback, type Endpoint } from '../model/endpoint.ts';

export type { Endpoint };

export interface ConnectTarget extends Endpoint {
  /** Where the host came from, for a note on the screen. */
  from: 'session' | 'connections' | 'fqdn' | 'listen';
}

/** The server end of `SSH_CONNECTION` ("client-ip client-port server-ip server-port"). */
export function serverEndOf(sshConnection: string | undefined): Endpoint | undefined {
  const f = sshConnection?.trim().split(/\s+/);
  if (!f || f.length !== 4 || !/^\d+$/.test(f[3]!)) return undefined;
  return { host: unmapped(f[2]!), port: Number(f[3]) };
}

/** ::ffff:192.0.2.1 is 192.0.2.1. */
function unmapped(ip: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function parentOf(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

/** The processes above `pid`, nearest first, up to (not including) init. */
export function ancestorsOf(pid: number): number[] {
  const out: number[] = [];
  for (let p = parentOf(pid); p !== undefined && p > 1 && out.length < 64; p = parentOf(p)) out.push(p);
  return out;
}

function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readOr(`/proc/${pid}/environ`).split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

interface TcpSocket {
  local: Endpoint;
  remote: Endpoint;
  state: string;
  inode: string;
}

/** /proc/net/tcp's hex address: IPv4 as one little-endian word, IPv6 as four. */
export function decodeAddress(hex: string): string {
  const word = (w: string): number[] => [3, 2, 1, 0].map((i) => parseInt(w.slice(i * 2, i * 2 + 2), 16));
  if (hex.length === 8) return word(hex).join('.');
  const bytes = [0, 1, 2, 3].flatMap((w) => word(hex.slice(w * 8, w * 8 + 8)));
  // An IPv4 client of an IPv6 socket: ::ffff:a.b.c.d.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, g) => (bytes[g * 2]! << 8) | bytes[g * 2 + 1]!);
  // RFC 5952: the longest run of two or more zero groups becomes ::.
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hexes = groups.map((g) => g.toString(16));
  if (best.at < 0) return hexes.join(':');
  return `${hexes.slice(0, best.at).join(':')}::${hexes.slice(best.at + best.len).join(':')}`;
}

/** Every TCP socket of this host (IPv4 and IPv6). */
export function tcpSockets(): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readOr(file).split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      const [la = '', lp = ''] = c[1]!.split(':');
      const [ra = '', rp = ''] = c[2]!.split(':');
      out.push({ local: { host: decodeAddress(la), port: parseInt(lp, 16) }, remote: { host: decodeAddress(ra), port: parseInt(rp, 16) }, state: c[3]!, inode: c[9]! });
    }
  }
  return out;
}

const ESTABLISHED = '01';

/** The local end of the established TCP connection process `pid` holds (an sshd session's). */
export function sessionSocketOf(pid: number, sockets: TcpSocket[] = tcpSockets()): Endpoint | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const inodes = new Set<string>();
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const s = sockets.find((x) => x.state === ESTABLISHED && inodes.has(x.inode));
  return s ? { host: unmapped(s.local.host), port: s.local.port } : undefined;
}

function commOf(pid: number): string {
  return readOr(`/proc/${pid}/comm`).trim();
}

/**
 * The server end of the admin's own SSH session: this process's SSH_CONNECTION, else the
 * nearest process above it that has one, else the nearest sshd above it (its socket).
 */
export function adminSession(env: NodeJS.ProcessEnv = process.env, pid = process.pid): Endpoint | undefined {
  const own = serverEndOf(env.SSH_CONNECTION);
  if (own) return own;
  const above = ancestorsOf(pid);
  for (const p of above) {
    const found = serverEndOf(environOf(p).SSH_CONNECTION);
    if (found) return found;
  }
  for (const p of above) if (/^sshd(-session)?$/.test(commOf(p))) return sessionSocketOf(p);
  return undefined;
}

/** The one address clients reached sshd's ports by, if all of sshd's open connections agree. */
function addressOfConnections(ports: number[], sockets: TcpSocket[]): Endpoint | undefined {
  const seen = new Map<string, Endpoint>();
  for (const s of sockets) {
    if (s.state !== ESTABLISHED || !ports.includes(s.local.port)) continue;
    const host = unmapped(s.local.host);
    if (!isLoopback(host)) seen.set(`${host}:${s.local.port}`, { host, port: s.local.port });
  }
  return seen.size === 1 ? [...seen.values()][0] : undefined;
}

/** This host's fully qualified name (hostname -f), or its plain name. */
export async function fqdn(): Promise<string> {
  const r = await run(['hostname', '-f'], { timeoutMs: 3000 }).catch(() => undefined);
  const name = r?.exitCode === 0 ? r.stdout.trim() : '';
  return name !== '' && !/\s/.test(name) && name !== 'localhost' ? name : hostname();
}

/**
 * Where users connect. The admin's own session when it reached a non-loopback address;
 * else the address sshd's open connections share; else the FQDN when sshd listens beyond
 * loopback; else the loopback address sshd listens on (reachable only from this host).
 */
export async function connectTarget(eff: EffectiveConfig, o: { env?: NodeJS.ProcessEnv; pid?: number; sockets?: TcpSocket[]; fqdn?: () => Promise<string> } = {}): Promise<ConnectTarget> {
  const listen = (eff.get('listenaddress') ?? []).map((v) => /^\[?(.*?)\]?:(\d+)$/.exec(v)).flatMap((m) => (m ? [{ host: m[1]!, port: Number(m[2]) }] : []));
  const ports = [...new Set([...listen.map((l) => l.port), ...(eff.get('port') ?? []).map(Number)])].filter((p) => p > 0);
  const session = adminSession(o.env ?? process.env, o.pid ?? process.pid);
  if (session && !isLoopback(session.host)) return { ...session, from: 'session' };
  const shared = addressOfConnections(ports, o.sockets ?? tcpSockets());
  if (shared) return { ...shared, from: 'connections' };
  const outward = listen.find((l) => !isLoopback(l.host));
  if (outward) {
    const wildcard = outward.host === '0.0.0.0' || outward.host === '::';
    return wildcard ? { host: await (o.fqdn ?? fqdn)(), port: outward.port, from: 'fqdn' } : { ...outward, from: 'listen' };
  }
  // Only loopback: that is the truth (and the admin's session port, if they came that way).
  const local = connectAddresses(eff)[0] ?? { host: '127.0.0.1', port: ports[0] ?? 22 };
  return { host: local.host, port: session?.port ?? local.port, from: 'listen' };
}
