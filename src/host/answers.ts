// The answers: what each key means, and checkShape, which checks structure and types only
// (synchronously, no host reads) of answers from a file (answers-file.ts), the wizard or a
// record. The checks that need the host (user allowed, jail path, keys through ssh-keygen)
// live in validate.ts.
import { isIP } from 'node:net';
import { UserError } from '../model/errors.ts';
import { ARCHES, EXTRAS, isSftpOnly, type Answers, type BindMount, type Extra } from '../model/types.ts';
import { RECIPES, TOOLS } from '../../recipes/index.ts';
import { checkTools } from './validate.ts';

export interface KeyDoc {
  type: string;
  required: boolean;
  /** The default as it would be written in the file; absent for required keys. */
  default?: string;
  doc: string;
}

/** One entry per key, in the order files are written; used for --help and the README. */
export const ANSWER_KEYS: { readonly [K in keyof Answers]-?: KeyDoc } = {
  user: { type: 'string', required: true, doc: 'The account to jail: an existing user, or a new one when createUser is true.' },
  tools: {
    type: `list of ${TOOLS.join(', ')}`,
    required: true,
    doc: 'What the user may run. At least one; bash gives a shell, rsync and scp copy files, sftp allows sftp sessions.',
  },
  jail: { type: 'absolute path', required: true, doc: 'The chroot directory, e.g. /srv/jails/alice. Every parent must be root-owned and not world-writable.' },
  arch: {
    type: `auto, ${ARCHES.join(', ')}`,
    required: false,
    default: 'auto',
    doc: "Architecture of the binaries copied into the jail; auto means this host's.",
  },
  authorizedKeys: {
    type: 'list of strings',
    required: false,
    default: '[]',
    doc: 'Public keys (one authorized_keys line each) allowed to log in as the user. Options such as from="..." are kept.',
  },
  createUser: { type: 'boolean', required: false, default: 'true', doc: 'Create the user when it does not exist yet.' },
  group: { type: 'string', required: false, doc: 'A group to put the user in (optional).' },
  installMissing: {
    type: 'boolean',
    required: false,
    default: 'false',
    doc: 'Install missing tools (e.g. rsync) with apt-get instead of stopping.',
  },
  shared: {
    type: 'boolean',
    required: false,
    default: 'false',
    doc: 'A jail several users share, each with /home/<user> inside; apply it once per user with the same jail path.',
  },
  writable: {
    type: 'path inside the jail',
    required: false,
    doc: 'The one dir the user owns, e.g. /home/alice/upload. Default: the home. The jail root always stays root-owned.',
  },
  readOnly: { type: 'boolean', required: false, default: 'false', doc: 'sftp only: the user may read but never write (internal-sftp -R).' },
  umask: { type: 'octal string', required: false, doc: 'sftp only: umask for uploaded files and dirs, e.g. "0027" (internal-sftp -u).' },
  startDir: { type: 'path inside the jail', required: false, doc: 'sftp only: the dir a session starts in, e.g. /upload (internal-sftp -d).' },
  groupDir: {
    type: 'path inside the jail',
    required: false,
    doc: 'A dir shared by the members of `group` (setgid, group-writable, mode 2770), e.g. /shared.',
  },
  binds: {
    type: 'list of {source, target, readOnly}',
    required: false,
    default: '[]',
    doc: 'Host dirs shown inside the jail (bind mounts with nodev,nosuid,noexec; persisted by a systemd mount unit or /etc/fstab).',
  },
  log: {
    type: 'boolean',
    required: false,
    default: 'false',
    doc: 'sftp only: log every file operation (internal-sftp -l INFO -f AUTH) through a /dev/log socket rsyslog or syslog-ng adds inside the jail.',
  },
  allowFrom: {
    type: 'list of addresses or networks',
    required: false,
    default: '[]',
    doc: 'The only sources the user may log in from, e.g. [203.0.113.7, 10.0.0.0/8]: a Match User … Address block and from= on every key.',
  },
  extraBinaries: {
    type: 'list of paths or names',
    required: false,
    default: '[]',
    doc: 'More host commands for the jail, e.g. [git, /usr/bin/nano], copied with their libraries (needs a shell tool).',
  },
  extras: {
    type: `list of ${EXTRAS.join(', ')}`,
    required: false,
    default: '[]',
    doc: 'Runtime pieces ELF cannot see: locale (C.UTF-8), terminfo (xterm, screen, tmux), profile (/etc/profile with a prompt), tmp (/tmp 1777), nss (nsswitch.conf).',
  },
  allowSetuid: {
    type: 'boolean',
    required: false,
    default: 'false',
    doc: 'Copy setuid/setgid extra binaries with their bit (a risk inside a jail); refused otherwise.',
  },
  allowPrivilegedGroups: {
    type: 'list of group names',
    required: false,
    default: '[]',
    doc: 'Adopt an existing user who stays in these privileged groups (sudo, adm, shadow, disk, docker…); refused otherwise, and warned about in the preview.',
  },
  noexec: {
    type: 'boolean',
    required: false,
    default: 'true without bash, false with bash',
    doc: 'Mount the dirs the user can write noexec,nosuid,nodev, so nothing uploaded runs (on by default for rsync/scp users without bash).',
  },
};

export const KNOWN_KEYS = Object.keys(ANSWER_KEYS) as (keyof Answers)[];

/** Entries of one list (keys, addresses, binds, commands): each may cost a check such as ssh-keygen. */
export const MAX_LIST_ENTRIES = 1000;

export const SIZE_HINT = 'an answers file describes one jailed user and is a few hundred bytes; keep keys in /etc/ssh/authorized_keys/USER if there are many';

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v === 'string' ? 'a string' : `a ${typeof v}`} (${JSON.stringify(v)})`;
}

function wrongType(src: string, key: string, expected: string, got: unknown, example: string): UserError {
  return new UserError(`${src}: "${key}" must be ${expected}, got ${describe(got)}`, `e.g. ${example}`);
}

/** Answers as JSON.parse or YAML gave them (or as a record stored them), checked and normalised. */
export function checkShape(data: unknown, src: string): Answers {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UserError(
      `${src}: expected a mapping of keys (${KNOWN_KEYS.join(', ')}), got ${describe(data)}`,
      'start from: user: alice, tools: [bash, rsync], jail: /srv/jails/alice (one per line)',
    );
  }
  const obj = data as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!(KNOWN_KEYS as string[]).includes(key)) {
      const near = nearestKey(key);
      throw new UserError(
        `${src}: unknown key ${JSON.stringify(key)}${near ? ` (did you mean "${near}"?)` : ''}`,
        `known keys: ${KNOWN_KEYS.join(', ')}`,
      );
    }
  }
  for (const key of ['user', 'tools', 'jail'] as const) {
    if (obj[key] === undefined || obj[key] === null) {
      throw new UserError(`${src}: "${key}" is required`, `add a line like ${exampleLine(key)}`);
    }
  }

  const user = obj.user;
  if (typeof user !== 'string' || user.trim() === '') throw wrongType(src, 'user', 'a user name', user, 'user: alice');

  const tools = obj.tools;
  if (!Array.isArray(tools) || tools.some((t) => typeof t !== 'string')) {
    throw wrongType(src, 'tools', `a list of tool names (${TOOLS.join(', ')})`, tools, 'tools: [bash, rsync]');
  }
  try {
    checkTools(tools as string[]);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${src}: ${e.message}`, e.hint);
    throw e;
  }

  const jail = obj.jail;
  if (typeof jail !== 'string') throw wrongType(src, 'jail', 'an absolute path', jail, 'jail: /srv/jails/alice');
  if (!jail.startsWith('/')) {
    throw new UserError(`${src}: "jail" must be an absolute path, got ${JSON.stringify(jail)}`, 'e.g. jail: /srv/jails/alice');
  }

  const arch = obj.arch ?? 'auto';
  if (typeof arch !== 'string' || !(['auto', ...ARCHES] as string[]).includes(arch)) {
    throw wrongType(src, 'arch', `one of auto, ${ARCHES.join(', ')}`, arch, 'arch: auto');
  }

  const keys = obj.authorizedKeys ?? [];
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) {
    throw wrongType(src, 'authorizedKeys', 'a list of strings (one public key each)', keys, 'authorizedKeys: ["ssh-ed25519 AAAA... alice@laptop"]');
  }
  bounded(src, 'authorizedKeys', keys);

  const answers: Answers = {
    user: user.trim(),
    // Canonical order, so plans and saved files do not depend on how the list was typed.
    tools: TOOLS.filter((t) => (tools as string[]).includes(t)),
    // One spelling per jail: `/srv/jails/alice/` is `/srv/jails/alice`, so records and
    // ownership checks compare the same string.
    jail: jail.length > 1 ? jail.replace(/\/+$/, '') : jail,
    arch: arch as Answers['arch'],
    authorizedKeys: (keys as string[]).map((k) => k.trim()).filter((k) => k !== ''),
    createUser: bool(obj, 'createUser', true, src),
    installMissing: bool(obj, 'installMissing', false, src),
  };
  if (obj.group !== undefined && obj.group !== null) {
    if (typeof obj.group !== 'string' || !isGroupName(obj.group.trim())) throw wrongType(src, 'group', 'a group name', obj.group, 'group: sftpusers');
    answers.group = obj.group.trim();
  }
  checkOptions(obj, answers, src);
  return answers;
}

/** A path inside the jail, as written in the answers: absolute, no `..`, no trailing slash. */
function jailPath(obj: Record<string, unknown>, key: string, src: string, example: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  // These paths go into sshd_config (ForceCommand -d), fstab and mount units: plain characters only.
  if (typeof v !== 'string' || !v.startsWith('/') || v.split('/').includes('..') || /[^A-Za-z0-9._+@/-]/.test(v)) {
    throw wrongType(src, key, 'an absolute path inside the jail (letters, digits, . _ - + @; no ..)', v, `${key}: ${example}`);
  }
  const clean = v.replace(/\/+/g, '/').replace(/\/$/, '');
  if (clean === '') throw new UserError(`${src}: "${key}" cannot be the jail root /`, 'the jail root must stay root-owned; name a dir below it');
  return clean;
}

function stringList(obj: Record<string, unknown>, key: string, src: string, example: string): string[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.trim() === '')) throw wrongType(src, key, 'a list of strings', v, `${key}: ${example}`);
  bounded(src, key, v);
  return (v as string[]).map((x) => x.trim());
}

function bounded(src: string, key: string, list: unknown[]): void {
  if (list.length > MAX_LIST_ENTRIES) throw new UserError(`${src}: "${key}" has ${list.length} entries; at most ${MAX_LIST_ENTRIES} are allowed`, SIZE_HINT);
}

/**
 * A local group name as it can go into the jail's etc/group and usermod's argv: no blanks,
 * ':' or ',' (the file's separators), no control characters, not starting with '-'.
 */
function isGroupName(g: string): boolean {
  // eslint-disable-next-line no-control-regex
  return g.length > 0 && g.length <= 32 && !g.startsWith('-') && !/[\s:,\u0000-\u001f\u007f-\u009f]/.test(g);
}

/** The options: structure and formats here; what needs the host is checked by the planner. */
function checkOptions(obj: Record<string, unknown>, a: Answers, src: string): void {
  const flag = (key: 'shared' | 'readOnly' | 'log' | 'allowSetuid'): void => {
    const v = obj[key];
    if (v === undefined || v === null || v === false) return;
    if (v !== true) throw new UserError(`${src}: "${key}" must be true or false, got ${describe(v)}`, `write ${key}: true (yes/no are not booleans in YAML 1.2)`);
    a[key] = true;
  };
  flag('shared');
  flag('readOnly');
  flag('log');
  flag('allowSetuid');
  if (obj.noexec !== undefined && obj.noexec !== null) {
    if (typeof obj.noexec !== 'boolean') throw new UserError(`${src}: "noexec" must be true or false, got ${describe(obj.noexec)}`, 'write noexec: true (yes/no are not booleans in YAML 1.2)');
    a.noexec = obj.noexec;
  }
  const writable = jailPath(obj, 'writable', src, `/home/${a.user}/upload`);
  // /home holds every home: the user's own must stay below a root-owned /home (sshd starts sessions there).
  if (writable === '/home') throw new UserError(`${src}: "writable" cannot be /home itself`, `/home holds the users' homes and stays root's; name a dir of the user's own, e.g. /home/${a.user}/upload`);
  if (writable) a.writable = writable;
  const startDir = jailPath(obj, 'startDir', src, '/upload');
  if (startDir) a.startDir = startDir;
  const groupDir = jailPath(obj, 'groupDir', src, '/shared');
  if (groupDir) {
    if (!a.group) throw new UserError(`${src}: "groupDir" needs "group", the group that shares it`, 'add e.g. group: uploads (groupadd uploads first)');
    a.groupDir = groupDir;
  }
  if (obj.umask !== undefined && obj.umask !== null) {
    const u = typeof obj.umask === 'number' ? obj.umask.toString() : obj.umask;
    // YAML reads 0027 as the number 27 (octal 0o27 in YAML 1.1 files): insist on a string.
    if (typeof obj.umask !== 'string' || !/^0?[0-7]{3}$/.test(u as string)) {
      throw wrongType(src, 'umask', 'a quoted octal string', obj.umask, 'umask: "0027" (quoted, or YAML reads it as a number)');
    }
    a.umask = (u as string).padStart(4, '0');
  }
  for (const k of SFTP_ONLY_KEYS) {
    if (a[k] !== undefined && !isSftpOnly(a)) {
      throw new UserError(
        `${src}: "${k}" applies to sftp sessions only, so it needs tools: [sftp] alone`,
        "with a shell, sshd runs the global sftp-server, whose options a Match block cannot change in OpenSSH 9.2; drop the key or the other tools",
      );
    }
  }
  if (a.readOnly && a.writable) throw new UserError(`${src}: "readOnly" and "writable" contradict each other`, 'drop one of them');

  if (obj.binds !== undefined && obj.binds !== null) {
    if (!Array.isArray(obj.binds)) throw wrongType(src, 'binds', 'a list of {source, target, readOnly}', obj.binds, 'binds: [{source: /srv/web/example.com, target: /web, readOnly: true}]');
    bounded(src, 'binds', obj.binds);
    const binds: BindMount[] = [];
    obj.binds.forEach((b: unknown, i: number) => {
      const where = `binds[${i}]`;
      if (typeof b !== 'object' || b === null || Array.isArray(b)) throw wrongType(src, where, 'a mapping {source, target, readOnly}', b, `binds: [{source: /srv/web/example.com, target: /web, readOnly: true}]`);
      const m = b as Record<string, unknown>;
      for (const k of Object.keys(m)) if (!['source', 'target', 'readOnly'].includes(k)) throw new UserError(`${src}: unknown key ${JSON.stringify(k)} in ${where}`, 'known keys: source, target, readOnly');
      if (typeof m.source !== 'string' || !m.source.startsWith('/') || m.source.split('/').includes('..') || /[^A-Za-z0-9._+@/-]/.test(m.source)) {
        throw wrongType(src, `${where}.source`, 'an absolute host path (letters, digits, . _ - + @; no ..)', m.source, 'source: /srv/web/example.com');
      }
      const target = jailPath(m, 'target', src, '/web');
      if (!target) throw new UserError(`${src}: ${where} needs a target inside the jail`, 'e.g. target: /web');
      if (m.readOnly !== undefined && typeof m.readOnly !== 'boolean') throw wrongType(src, `${where}.readOnly`, 'true or false', m.readOnly, 'readOnly: true');
      const source = m.source.length > 1 ? m.source.replace(/\/+/g, '/').replace(/\/$/, '') : m.source;
      binds.push({ source, target, readOnly: m.readOnly !== false });
    });
    if (binds.length > 0) a.binds = binds;
  }

  const allowFrom = stringList(obj, 'allowFrom', src, '[203.0.113.7, 10.0.0.0/8]');
  if (allowFrom && allowFrom.length > 0) {
    for (const x of allowFrom) {
      if (!isAddressOrNetwork(x)) throw new UserError(`${src}: allowFrom entry ${JSON.stringify(x)} is not an IP address or network`, 'write addresses or CIDR networks such as 203.0.113.7 or 10.0.0.0/8; sshd matches the client address, not its name');
    }
    a.allowFrom = allowFrom;
  }
  const extraBinaries = stringList(obj, 'extraBinaries', src, '[git, /usr/bin/nano]');
  if (extraBinaries && extraBinaries.length > 0) {
    for (const b of extraBinaries) {
      // Plain characters only: the path shows up in the preview, the sh script and the gate's arguments.
      if (!(/^\/[A-Za-z0-9._+@/-]*$/.test(b) || /^[A-Za-z0-9._+-]+$/.test(b)) || b.split('/').includes('..')) {
        throw new UserError(`${src}: extraBinaries entry ${JSON.stringify(b)} is neither an absolute path nor a command name`, 'e.g. extraBinaries: [git, /usr/bin/nano]');
      }
    }
    if (!runsCommands(a.tools)) {
      throw new UserError(`${src}: "extraBinaries" need a shell tool (${commandToolsText()})`, 'an sftp-only user never runs a command; add bash to tools, or drop extraBinaries');
    }
    a.extraBinaries = [...new Set(extraBinaries)];
  }
  const privileged = stringList(obj, 'allowPrivilegedGroups', src, '[adm]');
  if (privileged && privileged.length > 0) {
    const bad = privileged.find((g) => !isGroupName(g));
    if (bad !== undefined) throw new UserError(`${src}: allowPrivilegedGroups entry ${JSON.stringify(bad)} is not a group name`, 'e.g. allowPrivilegedGroups: [adm]');
    a.allowPrivilegedGroups = [...new Set(privileged)].sort();
  }
  const extras = stringList(obj, 'extras', src, `[${EXTRAS.join(', ')}]`);
  if (extras && extras.length > 0) {
    const bad = extras.find((x) => !(EXTRAS as readonly string[]).includes(x));
    if (bad) throw new UserError(`${src}: unknown extra ${JSON.stringify(bad)}`, `known extras: ${EXTRAS.join(', ')}`);
    a.extras = EXTRAS.filter((x): x is Extra => extras.includes(x));
  }
}

/** The keys only internal-sftp honours: they need tools: [sftp] alone (isSftpOnly). */
export const SFTP_ONLY_KEYS = ['readOnly', 'umask', 'startDir', 'log'] as const;

/** Some chosen tool runs through the login shell, so the user runs commands (extra commands need that). */
export function runsCommands(tools: readonly string[]): boolean {
  return tools.some((t) => RECIPES[t]?.needsShell === true);
}

/** The tools that run commands, for messages: "bash, rsync or scp". */
export function commandToolsText(): string {
  const names = TOOLS.filter((t) => RECIPES[t]!.needsShell);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
}

/** An IPv4/IPv6 address, optionally with a /prefix, as sshd's Match Address takes it. */
export function isAddressOrNetwork(s: string): boolean {
  const [addr = '', prefix, ...rest] = s.split('/');
  if (rest.length > 0) return false;
  const v = isIP(addr);
  if (v === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (v === 4 ? 32 : 128);
}

function bool(obj: Record<string, unknown>, key: 'createUser' | 'installMissing', dflt: boolean, src: string): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  // YAML 1.2 reads yes/no/on/off as strings, which surprises people used to YAML 1.1.
  throw new UserError(`${src}: "${key}" must be true or false, got ${describe(v)}`, `write ${key}: ${dflt} (yes/no are not booleans in YAML 1.2)`);
}

function exampleLine(key: 'user' | 'tools' | 'jail'): string {
  return { user: '"user: alice"', tools: '"tools: [bash, rsync]"', jail: '"jail: /srv/jails/alice"' }[key];
}

/** The known key closest to a misspelt one: same letters ignoring case/_/-, or ≤ 2 edits. */
function nearestKey(key: string): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const same = KNOWN_KEYS.find((k) => norm(k) === norm(key));
  if (same) return same;
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN_KEYS) {
    const d = editDistance(norm(key), norm(k));
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
