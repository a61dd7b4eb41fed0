// Input checks. Each throws a UserError (one line, a hint) or returns. Host facts are
// passed in (or read by the small readers here) so tests can use fixtures.
import { existsSync, lstatSync, readdirSync, readFileSync, fstatSync, type Stats } from 'node:fs';
import { isatty } from 'node:tty';
import { UserError, quoteIfOdd } from '../model/errors.ts';
import { checkKeyLineOptions, shortKey, splitKeyLine } from '../model/key-options.ts';
import { run } from './run.ts';
import { ARCHES, type Arch, type Tool } from '../model/types.ts';
import { TOOLS } from '../../recipes/index.ts';
import { readPasswd, type PasswdEntry } from './accounts.ts';

/** Quotes a value for a message; JSON escapes keep it on one line. */
const q = (s: string) => JSON.stringify(s);

// ---------------------------------------------------------------- user names

/**
 * The classic shadow-utils rule (upstream useradd before 4.14, and the default NAME_REGEX
 * of Debian's adduser): [a-z_][a-z0-9_-]*[$]?, at most 32 characters, not all digits.
 * Debian's own useradd is laxer (it accepts "Alice", "a.b", "1234"); we keep the strict rule
 * because the name also goes into sshd Match lines, paths and ls/chown output, where
 * capitals, dots and numeric names cause confusion.
 */
export function checkUserName(name: string): void {
  const hint = 'use lowercase letters, digits, "_" and "-", starting with a letter or "_", e.g. alice or backup_web';
  if (name === '') throw new UserError('the user name is empty', hint);
  if (name.length > 32) throw new UserError(`user name ${q(name)} is ${name.length} characters long; the limit is 32`, 'pick a shorter name');
  if (/^[0-9]+$/.test(name)) {
    throw new UserError(`user name ${q(name)} is all digits`, 'tools read an all-digit name as a uid; start it with a letter, e.g. u' + name);
  }
  if (/^[a-z_][a-z0-9_-]*[$]?$/.test(name)) return;
  if (/[A-Z]/.test(name) && /^[a-z_][a-z0-9_-]*[$]?$/.test(name.toLowerCase())) {
    throw new UserError(`user name ${q(name)} has uppercase letters`, `user names are lowercase by convention; use "${name.toLowerCase()}"`);
  }
  const bad = [...name].find((c, i) => !(i === 0 ? /[a-z_]/ : /[a-z0-9_-]/).test(c) && !(c === '$' && i === name.length - 1));
  throw new UserError(`user name ${q(name)} is not allowed${bad === undefined ? '' : ` (${JSON.stringify(bad)} at that position)`}`, hint);
}

// ---------------------------------------------------------------- host accounts

export interface LoginDefs {
  UID_MIN: number;
  UID_MAX: number;
}

export interface UserHost {
  passwd: PasswdEntry[];
  loginDefs: LoginDefs;
  env: NodeJS.ProcessEnv;
  /** Owner of the controlling terminal: the person who logged in, even after `su -`. */
  ttyUid?: number;
}

/** UID_MIN and UID_MAX from login.defs, with shadow's defaults when unset or missing. */
export function readLoginDefs(path = '/etc/login.defs'): LoginDefs {
  const defs: LoginDefs = { UID_MIN: 1000, UID_MAX: 60000 };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return defs;
  }
  for (const line of text.split('\n')) {
    const m = /^\s*(UID_MIN|UID_MAX)\s+(\d+)\s*$/.exec(line);
    if (m) defs[m[1] as keyof LoginDefs] = Number(m[2]);
  }
  return defs;
}

/** uid of whoever owns our terminal (stdin, stdout or stderr), if any is a tty. */
export function readTtyOwnerUid(): number | undefined {
  for (const fd of [0, 1, 2]) {
    try {
      if (isatty(fd)) return fstatSync(fd).uid;
    } catch {
      // A closed fd: try the next one.
    }
  }
  return undefined;
}

export function readUserHost(): UserHost {
  return { passwd: readPasswd(), loginDefs: readLoginDefs(), env: process.env, ttyUid: readTtyOwnerUid() };
}

/**
 * The admin's own account names. sudo and doas record the caller; LOGNAME/USER name it when
 * they are not root; the terminal's owner survives `su -`, which resets everything else.
 */
export function adminNames(host: UserHost): Map<string, string> {
  const found = new Map<string, string>();
  const add = (name: string | undefined, how: string) => {
    if (name && name !== 'root' && !found.has(name)) found.set(name, how);
  };
  add(host.env.SUDO_USER, 'SUDO_USER');
  add(host.env.DOAS_USER, 'DOAS_USER');
  add(host.env.LOGNAME, 'LOGNAME');
  add(host.env.USER, 'USER');
  if (host.ttyUid !== undefined && host.ttyUid !== 0) {
    add(host.passwd.find((p) => p.uid === host.ttyUid)?.name, 'the owner of this terminal');
  }
  return found;
}

/** Refuses root, system accounts and the admin running jailwizard. A new user is fine. */
export function checkUserAllowed(name: string, host: UserHost): void {
  const admin = adminNames(host).get(name);
  if (admin) {
    throw new UserError(
      `refusing to jail ${q(name)}: that is the admin running jailwizard (from ${admin})`,
      'jailing your own account would lock you out of this server; jail a separate account',
    );
  }
  const entry = host.passwd.find((p) => p.name === name);
  if (name === 'root' || entry?.uid === 0) {
    throw new UserError(`refusing to jail ${q(name)}: it has uid 0 (root)`, 'jail an ordinary user account, never root');
  }
  if (name === 'nobody' || entry?.uid === 65534) {
    throw new UserError(`refusing to jail ${q(name)}: it is the "nobody" account (uid 65534)`, 'jail a dedicated user instead; many daemons run as nobody');
  }
  if (!entry) return;
  const { UID_MIN, UID_MAX } = host.loginDefs;
  if (entry.uid < UID_MIN || entry.uid > UID_MAX) {
    throw new UserError(
      `refusing to jail ${q(name)}: uid ${entry.uid} is a system account (outside UID_MIN..UID_MAX = ${UID_MIN}..${UID_MAX} in /etc/login.defs)`,
      'system accounts belong to services; jail a regular user (or let jailwizard create one)',
    );
  }
}

// ---------------------------------------------------------------- jail path

export interface JailFsInfo {
  /** True when jailwizard's own state says it built this jail, so reusing it is fine. */
  isManagedJail(path: string): boolean;
  /** lstat, or undefined when the path does not exist. Defaults to the real filesystem. */
  lstat?(path: string): Pick<Stats, 'mode' | 'isDirectory' | 'isSymbolicLink'> | undefined;
  /** Directory entries. Defaults to the real filesystem. */
  readdir?(path: string): string[];
}

/** Directories that must never be a jail themselves. */
export const CRITICAL_DIRS = [
  '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/libx32', '/lost+found', '/media', '/mnt',
  '/opt', '/proc', '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/lib64',
  '/usr/local', '/usr/sbin', '/usr/share', '/var', '/var/lib', '/var/log', '/var/cache', '/var/spool', '/var/mail',
  '/var/tmp', '/var/www', '/var/backups', '/var/opt', '/var/local',
];

/** Trees a jail must not live under: virtual or volatile filesystems, and dpkg's own trees. */
export const FORBIDDEN_TREES = ['/tmp', '/proc', '/sys', '/dev', '/run', '/etc', '/boot', '/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** '/srv/jails/alice' → ['/', '/srv', '/srv/jails'] (the dirs sshd checks before the jail). */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out = ['/'];
  for (let i = 1; i < parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
  return parts.length === 0 ? [] : out;
}

function realLstat(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function checkJailPath(path: string, fsInfo: JailFsInfo): void {
  const lstat = fsInfo.lstat ?? realLstat;
  const readdir = fsInfo.readdir ?? ((p: string) => readdirSync(p));
  const example = 'e.g. /srv/jails/alice';

  if (!path.startsWith('/')) throw new UserError(`jail path ${q(path)} is relative`, `use an absolute path, ${example}`);
  // The path goes into sshd_config (where % is expanded and spaces split words) and into
  // passwd-style files (where ':' separates fields): allow only plain characters.
  const odd = /[^A-Za-z0-9._+@/-]/.exec(path);
  if (odd) {
    throw new UserError(`jail path ${q(path)} contains ${JSON.stringify(odd[0])}`, 'use letters, digits and . _ - + @ only (no spaces, %, : or quotes)');
  }
  if (path.includes('//')) throw new UserError(`jail path ${q(path)} contains "//"`, `write it plainly, ${example}`);
  const parts = path.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) {
    throw new UserError(`jail path ${q(path)} contains "." or ".." components`, `write the real path, ${example}`);
  }
  const clean = '/' + parts.join('/');
  if (clean === '/') throw new UserError('jail path "/" is the whole system', `use a dedicated directory, ${example}`);
  if (CRITICAL_DIRS.includes(clean)) {
    throw new UserError(`jail path ${q(path)} is the system directory ${clean}`, `use a new directory below it, ${example}`);
  }
  const tree = FORBIDDEN_TREES.find((t) => clean.startsWith(t + '/'));
  if (tree) {
    throw new UserError(
      `jail path ${q(path)} is under ${tree}`,
      `${tree} is a system tree (virtual, volatile or package-managed); use a directory of its own, ${example}`,
    );
  }

  // sshd stat()s every parent and needs it root-owned and not group/world-writable.
  // Ownership and group-write jailwizard can fix; a world-writable or symlinked parent means
  // someone else could swap the path, so that is refused here.
  for (const dir of ancestorsOf(clean)) {
    const st = lstat(dir);
    if (!st) break; // Missing from here down: jailwizard creates the rest, root-owned.
    if (st.isSymbolicLink()) {
      throw new UserError(`jail path ${q(path)}: its parent ${dir} is a symlink`, 'use the real path (readlink -f), so nothing can redirect the jail later');
    }
    if (!st.isDirectory()) throw new UserError(`jail path ${q(path)}: its parent ${dir} is not a directory`, `choose another location, ${example}`);
    if (st.mode & 0o002) {
      throw new UserError(
        `jail path ${q(path)}: its parent ${dir} is world-writable`,
        `sshd refuses a chroot below a world-writable directory, and anyone could swap it; ${example}`,
      );
    }
  }

  const st = lstat(clean);
  if (!st) return;
  if (st.isSymbolicLink()) throw new UserError(`jail path ${q(path)} is a symlink`, 'use the real path (readlink -f) of a new directory');
  if (!st.isDirectory()) throw new UserError(`jail path ${q(path)} exists and is not a directory`, `choose a new path, ${example}`);
  if (readdir(clean).length > 0 && !fsInfo.isManagedJail(clean)) {
    throw new UserError(
      `jail path ${q(path)} is an existing non-empty directory that jailwizard did not create`,
      'choose a new or empty directory; jailwizard owns everything in a jail and would mix with these files',
    );
  }
}

// ---------------------------------------------------------------- tools and arch

export function checkTools(list: readonly string[]): asserts list is readonly Tool[] {
  const valid = `valid tools: ${TOOLS.join(', ')}`;
  if (list.length === 0) throw new UserError('no tools chosen', `choose at least one; ${valid}`);
  for (const t of list) {
    if (!(TOOLS as readonly string[]).includes(t)) throw new UserError(`unknown tool ${q(t)}`, valid);
  }
  const dup = list.find((t, i) => list.indexOf(t) !== i);
  if (dup) throw new UserError(`tool ${q(dup)} is listed twice`, 'list each tool once');
}

/** binaryArches: for each chosen tool, the arches of its binaries found on this host. */
export function checkArch(arch: string, hostArch: Arch, binaryArches: Partial<Record<Tool, readonly Arch[]>>): void {
  if (arch === 'auto') return;
  if (!(ARCHES as readonly string[]).includes(arch)) {
    throw new UserError(`unknown arch ${q(arch)}`, `use auto or one of ${ARCHES.join(', ')}`);
  }
  for (const tool of TOOLS) {
    const found = binaryArches[tool];
    if (found && !found.includes(arch as Arch)) {
      throw new UserError(
        `no ${arch} binaries for ${tool} on this host`,
        `found ${found.length ? found.join(', ') : 'none'}; use arch: auto to build the jail for this host (${hostArch})`,
      );
    }
  }
}

// ---------------------------------------------------------------- public keys

export interface KeyInfo {
  type: string;
  bits: number;
  fingerprint: string;
  comment: string;
}

/** One key per line; blank lines and # comments dropped (authorized_keys syntax). */
export function splitKeys(text: string): string[] {
  return text
    // A paste in a raw-mode terminal ends its lines with \r.
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Validates one authorized_keys line with the real ssh-keygen; returns what it reports. */
export async function checkAuthorizedKey(line: string): Promise<KeyInfo> {
  const key = line.trim();
  const pasteHint = 'paste one line of the client\'s .pub file, e.g. the output of "cat ~/.ssh/id_ed25519.pub"';
  if (key === '') throw new UserError('the public key is empty', pasteHint);
  if (/-----BEGIN|PuTTY-User-Key-File/.test(key)) {
    throw new UserError(`"${shortKey(key)}" is a private key`, "that's a private key; paste the .pub (keep the private one secret, and consider replacing it)");
  }
  if (key.startsWith('---- BEGIN SSH2 PUBLIC KEY')) {
    throw new UserError(`"${shortKey(key)}" is an RFC 4716 (PuTTY/SSH2) public key`, 'convert it first: ssh-keygen -i -f key.pub');
  }
  if (/[\r\n]/.test(key)) throw new UserError(`"${shortKey(key)}" has more than one line`, 'give one key per entry (split several keys with splitKeys)');

  const { options, rest } = splitKeyLineOr(key);
  // Only judge options on a line that looks like a key; ssh-keygen judges the rest.
  if (options && /^(ssh|ecdsa|sk)-/.test(rest)) checkKeyLineOptions(key, undefined);

  // The key goes to ssh-keygen on stdin: no temporary file that a refusal or a kill could leave behind.
  const r = await run(['ssh-keygen', '-l', '-f', '-'], { input: `${key}\n`, timeoutMs: 10_000 });
  const m = /^(\d+) (\S+) (.*) \(([^)]+)\)$/.exec(r.stdout.trim());
  if (r.exitCode !== 0 || !m) {
    const why = r.stderr.trim().split('\n')[0]?.replaceAll('(stdin)', 'it') ?? '';
    throw new UserError(`"${shortKey(key)}" is not a valid public key${why ? ` (ssh-keygen: ${quoteIfOdd(why)})` : ''}`, pasteHint);
  }
  const [, bits, fingerprint, , type] = m as unknown as [string, string, string, string, string];
  if (type === 'DSA') {
    throw new UserError(`"${shortKey(key)}" is a DSA (ssh-dss) key`, 'sshd refuses DSA keys since OpenSSH 7.0; make a new one with ssh-keygen -t ed25519');
  }
  // ssh-keygen prints "no comment" for an empty one, so take the comment from the line.
  const comment = /^\S+\s+\S+(?:\s+(.*))?$/.exec(rest)?.[1] ?? '';
  return { type, bits: Number(bits), fingerprint, comment };
}

/**
 * Checks a list of keys a few at a time (not thousands of ssh-keygen at once) and refuses
 * with the first bad one in list order, once every check that started has ended.
 */
export async function checkAuthorizedKeys(keys: readonly string[], parallel = 4): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  const errors: { i: number; e: unknown }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (errors.length === 0 && next < keys.length) {
      const i = next++;
      try {
        out[i] = await checkAuthorizedKey(keys[i]!);
      } catch (e) {
        errors.push({ i, e });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, keys.length) }, worker));
  if (errors.length > 0) throw errors.sort((a, b) => a.i - b.i)[0]!.e;
  return out;
}

/** The key itself (type and base64 blob), without options and comment: two lines with the same one are the same key. */
export function keyBlob(line: string): string {
  const [type = '', blob = ''] = splitKeyLineOr(line.trim()).rest.split(/\s+/);
  return `${type} ${blob}`;
}

/** [options] type base64 [comment] as sshd splits it; an unbalanced quote leaves it all to ssh-keygen to reject. */
function splitKeyLineOr(key: string): { options: string; rest: string } {
  try {
    return splitKeyLine(key);
  } catch {
    return { options: '', rest: key };
  }
}

// ---------------------------------------------------------------- --sshd-config

export function checkSshdConfigPath(p: string): void {
  if (!p.startsWith('/')) throw new UserError(`--sshd-config ${JSON.stringify(p)} is not an absolute path`, 'give the full path, e.g. /etc/ssh/sshd_config');
  // Its dir may go into an Include line of the config itself: plain characters only.
  if (/[^A-Za-z0-9._+@/-]/.test(p)) throw new UserError(`--sshd-config ${JSON.stringify(p)} has characters sshd_config cannot hold in an Include line`, 'use a path of letters, digits and . _ - + @ /');
  if (!existsSync(p)) throw new UserError(`sshd config ${p} does not exist`, 'is openssh-server installed? (apt-get install openssh-server)');
}
