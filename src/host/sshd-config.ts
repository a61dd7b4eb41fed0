// Reading sshd's configuration: where drop-ins go, what sshd -T says, how to reload.
// jailwizard only ever changes sshd through one drop-in file per user (plus, on configs
// without an Include, one Include line that names only jailwizard's own drop-ins).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from './run.ts';
import { UserError } from '../model/errors.ts';
import { livePid } from './proc.ts';

export const DEFAULT_SSHD_CONFIG = '/etc/ssh/sshd_config';

export interface IncludeInfo {
  /** The dir a `DIR/*.conf`-style Include reads, or undefined when there is no usable one. */
  dropInDir?: string;
  /** The glob's file pattern, e.g. `*.conf`, so our drop-in name matches it. */
  pattern?: string;
}

/** sshd resolves relative Include paths against /etc/ssh, whatever the config's own dir. */
function absoluteInclude(p: string): string {
  return path.isAbsolute(p) ? p : path.join('/etc/ssh', p);
}

/**
 * Finds a top-level Include (before the first Match, where it applies to everyone) whose
 * glob is `DIR/<pattern>` with a `*` in the file part, such as Debian's
 * `Include /etc/ssh/sshd_config.d/*.conf`.
 */
export function findIncludeDir(configText: string): IncludeInfo {
  for (const raw of configText.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [kw, ...args] = line.split(/\s+/);
    if (!kw) continue;
    if (kw.toLowerCase() === 'match') break;
    if (kw.toLowerCase() !== 'include') continue;
    for (const arg of args) {
      const abs = absoluteInclude(arg.replace(/^"|"$/g, ''));
      const dir = path.dirname(abs);
      const pattern = path.basename(abs);
      if (pattern.includes('*') && !/[*?[]/.test(dir)) return { dropInDir: dir, pattern };
    }
  }
  return {};
}

/** A drop-in file name for the user that the Include's pattern matches. */
export function dropInName(user: string, pattern = '*.conf'): string {
  const suffix = pattern.startsWith('*') ? pattern.slice(1) : '.conf';
  return `jailwizard-${user}${suffix.includes('*') ? '.conf' : suffix}`;
}

/** The Include line jailwizard adds to a config that has none. It names only our drop-ins. */
export function includeLineFor(mainConfig: string): { line: string; dir: string } {
  const dir = path.join(path.dirname(mainConfig), 'sshd_config.d');
  return { line: `Include ${dir}/jailwizard-*.conf`, dir };
}

/**
 * The Match block for one user, with a header that says who wrote it and how to undo it.
 * With `deniedAddresses` (every source but the allowed ones), a first block refuses the user
 * from there; sshd evaluates every Match block, so the jail's settings still apply everywhere.
 */
export function renderDropIn(user: string, settings: Record<string, string>, deniedAddresses?: string): string {
  for (const [k, v] of [['User', user], ['Address', deniedAddresses ?? '*'], ...Object.entries(settings)] as const) checkSshdValue(k, v);
  const lines = [
    `# Written by jailwizard: chroot jail for ${user}.`,
    `# Remove with: jailwizard remove ${user}   (do not edit: jailwizard check compares it)`,
    ...(deniedAddresses ? [`Match User ${user} Address ${deniedAddresses}`, `    DenyUsers ${user}`] : []),
    `Match User ${user}`,
    ...Object.entries(settings).map(([k, v]) => `    ${k} ${v}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * What may stand in a value jailwizard writes into sshd_config: no quotes, `#` (a comment in
 * OpenSSH 9), `%` (a token in ChrootDirectory and AuthorizedKeysFile other than jailwizard's own
 * `%u`), backslashes or control characters. Every input is checked earlier; this is the last
 * guard, so a path that slipped through can never add a line or a keyword.
 */
export function checkSshdValue(keyword: string, value: string): void {
  const v = keyword === 'AuthorizedKeysFile' ? value.replace(/%u/g, '') : value;
  if (v === '' || !/^[A-Za-z0-9._+@/,:=!* -]+$/.test(v)) {
    throw new UserError(`refusing to write ${keyword} ${JSON.stringify(value)} into sshd's config`, 'use plain paths and names: letters, digits and . _ - + @ /');
  }
}

/** `sshd -T` output: keyword (lower case) → every value it printed, in order. */
export type EffectiveConfig = Map<string, string[]>;

export function parseEffective(text: string): EffectiveConfig {
  const m: EffectiveConfig = new Map();
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i <= 0) continue;
    const k = line.slice(0, i).toLowerCase();
    const list = m.get(k) ?? [];
    list.push(line.slice(i + 1).trim());
    m.set(k, list);
  }
  return m;
}

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd', '/sbin/sshd'].find((p) => existsSync(p)) ?? 'sshd';

/**
 * Where sshd -t/-T fails only because its privilege separation dir is missing: a
 * socket-activated sshd between connections (ssh.service's RuntimeDirectory=sshd makes
 * /run/sshd when it starts and removes it when it stops).
 */
const MISSING_PRIVSEP = /Missing privilege separation directory: (\/(?:var\/)?run\/[^\s/]+)\s*$/m;

/**
 * The check sshd runs before it starts (its unit's ExecStartPre is `sshd -t`, run after
 * systemd made /run/sshd). sshd only stat()s that dir, and its path is compiled in, so when it
 * is missing the check runs in a private mount namespace with an empty tmpfs on /run and the
 * dir made there: the same config files, and nothing on the host is created or changed.
 */
export const PRIVSEP_SCRIPT = 'mount -t tmpfs -o mode=0755 jailwizard-sshd-check "$1" && mkdir -m 0755 "$2" && shift 2 && exec "$@"';

export function privsepArgv(privsepDir: string, sshdArgs: readonly string[]): string[] {
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', PRIVSEP_SCRIPT, 'sh', path.dirname(privsepDir), privsepDir, SSHD, ...sshdArgs];
}

/** `sshd ARGS` for -t and -T; retried with the privsep dir provided when only that is missing. */
export async function runSshdCheck(args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  const r = await run([SSHD, ...args], { timeoutMs });
  const missing = r.exitCode !== 0 ? missingPrivsepDir(r.stderr) : undefined;
  return missing ? run(privsepArgv(missing, args), { timeoutMs }) : r;
}

/** The runtime privsep dir sshd says is missing (only dirs under /run or /var/run qualify). */
export function missingPrivsepDir(stderr: string): string | undefined {
  return MISSING_PRIVSEP.exec(stderr)?.[1];
}

/** Runs `sshd -T` (optionally for one connection); a bad config is the admin's to fix: exit 2. */
export async function sshdEffective(config: string, conn?: { user: string; addr: string }): Promise<EffectiveConfig> {
  const argv = ['-T', '-f', config];
  if (conn) argv.push('-C', `user=${conn.user},host=localhost,addr=${conn.addr}`);
  const r = await runSshdCheck(argv, 15_000);
  if (r.exitCode !== 0) {
    throw new UserError(
      `sshd rejects its configuration ${config}: ${lastLine(r.stderr)}`,
      `fix it first (\`sshd -t -f ${config}\` shows the error); jailwizard changes nothing while sshd's own config is broken`,
    );
  }
  return parseEffective(r.stdout);
}

export function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
}

/** Turns sshd -T's `listenaddress 0.0.0.0:22` lines into addresses a local client can reach. */
export function connectAddresses(eff: EffectiveConfig): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const v of eff.get('listenaddress') ?? []) {
    const m = /^\[?(.*?)\]?:(\d+)$/.exec(v);
    if (!m || !m[1] || !m[2]) continue;
    const port = Number(m[2]);
    const host = m[1] === '0.0.0.0' ? '127.0.0.1' : m[1] === '::' ? '::1' : m[1];
    if (!out.some((o) => o.host === host && o.port === port)) out.push({ host, port });
  }
  // Prefer IPv4 loopback: the temporary test key is restricted to it.
  return out.sort((a, b) => score(a.host) - score(b.host));
}

function score(host: string): number {
  return host === '127.0.0.1' ? 0 : host === '::1' ? 1 : 2;
}

/** sshd's pid from its PidFile, when that process is a running sshd. */
export function readPid(pidFile: string): number | undefined {
  return livePid(pidFile, 'sshd');
}

export async function sshdVersion(): Promise<string> {
  const r = await run([SSHD, '-V'], { timeoutMs: 5000 });
  return /OpenSSH_[^\s,]+/.exec(r.stderr + r.stdout)?.[0] ?? 'unknown';
}

/** sshd's %-tokens for a user: %% %u %U %h, and a leading ~ for the home. */
export function expandUserTokens(value: string, user: { name: string; uid: number; home: string }): string {
  const v = value.startsWith('~/') || value === '~' ? user.home + value.slice(1) : value;
  return v.replace(/%([%uUh])/g, (_, t: string) => (t === '%' ? '%' : t === 'u' ? user.name : t === 'U' ? String(user.uid) : user.home));
}

/** The host paths sshd reads the user's keys from (relative ones are under the home). */
export function authorizedKeysPaths(eff: EffectiveConfig, user: { name: string; uid: number; home: string }): string[] {
  const words = (eff.get('authorizedkeysfile') ?? []).flatMap((v) => v.split(/\s+/)).filter((w) => w && w !== 'none');
  return words.map((w) => {
    const p = expandUserTokens(w, user);
    return path.isAbsolute(p) ? p : path.join(user.home, p);
  });
}
