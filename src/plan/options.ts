// The options of a jail beyond its tools (shared jails, writable and read-only access, bind
// mounts, logging, source limits, extras), as pure helpers the planner calls. Each one
// turns answers into text or settings; nothing here reads the host.
import { UserError } from '../model/errors.ts';
import { checkKeyLineOptions, splitKeyLine } from '../model/key-options.ts';
import type { Answers, BindMount, Extra } from '../model/types.ts';
import { addressAllowed } from '../host/address.ts';
import { inside, jailSlug, systemdUnitForPath } from '../model/paths.ts';
import { jailWide, LOCALE_DIR, NSS_FILES_LIBS, TERMINFO_DIRS, TERMINFO_NAMES, type JailWide } from '../../recipes/needs.ts';

// Their homes are below the planner (the host's fact gathering needs them too); imported from here as before.
export { inside, jailSlug, systemdUnitForPath, jailWide, LOCALE_DIR, NSS_FILES_LIBS, TERMINFO_DIRS, TERMINFO_NAMES, type JailWide };

/** Flags every bind mount gets: host data shown in a jail must not become a way to run or escalate. */
export const BIND_FLAGS = ['nodev', 'nosuid', 'noexec'] as const;



/** sshd's ForceCommand for an sftp-only user: internal-sftp with the chosen flags. */
export function internalSftpCommand(a: Pick<Answers, 'readOnly' | 'umask' | 'startDir' | 'log'>): string {
  const words = ['internal-sftp'];
  if (a.readOnly) words.push('-R');
  if (a.umask) words.push('-u', a.umask);
  if (a.startDir) words.push('-d', a.startDir);
  if (a.log) words.push('-l', 'INFO', '-f', 'AUTH');
  return words.join(' ');
}

/**
 * One authorized_keys line as jailwizard writes it: the admin's key, its options checked as
 * sshd parses them (refused when duplicated or in conflict with the jail), and from= with
 * `allowFrom` in front when that is set. The connection test's temporary key goes through
 * here too, so sshd parses the same kind of line it will see for the admin's keys.
 */
export function keyLine(key: string, allowFrom: readonly string[] | undefined, index: number): string {
  const k = key.trim();
  checkKeyLineOptions(k, allowFrom, `authorized key ${index + 1}`);
  if (!allowFrom || allowFrom.length === 0) return k;
  const { options, rest } = splitKeyLine(k);
  const from = `from="${allowFrom.join(',')}"`;
  return options ? `${from},${options} ${rest}` : `${from} ${rest}`;
}

/** sshd's Match Address pattern for every source except the allowed ones. */
export function deniedAddressPattern(allowFrom: string[]): string {
  return ['*', ...allowFrom.map((x) => `!${x}`)].join(',');
}

/** An address inside the allowed set, for `sshd -T -C addr=…` (a network's own address is in it). */
export function allowedSample(allowFrom: string[]): string {
  return allowFrom[0]!.split('/')[0]!;
}

/** An address outside the allowed set, for proving the refusal with `sshd -T`. */
export function deniedSample(allowFrom: string[]): string | undefined {
  return ['127.0.0.2', '192.0.2.1', '198.51.100.1', '203.0.113.1', '2001:db8::1'].find((x) => !addressAllowed(x, allowFrom));
}


export function bindOptions(b: BindMount): string[] {
  return [...(b.readOnly ? ['ro'] : ['rw']), ...BIND_FLAGS];
}

/** The /etc/fstab line; nofail so a missing source never stops a remote box from booting. */
export function fstabLine(b: BindMount, where: string): string {
  return `${b.source} ${where} none ${['bind', ...bindOptions(b), 'nofail'].join(',')} 0 0`;
}

export function mountUnitText(b: BindMount, where: string, jail: string): string {
  return [
    `# Written by jailwizard: ${b.source} shown inside the jail ${jail}. Remove with jailwizard remove.`,
    '[Unit]',
    `Description=jailwizard bind mount of ${b.source} into ${jail}`,
    '',
    '[Mount]',
    `What=${b.source}`,
    `Where=${where}`,
    'Type=none',
    `Options=${['bind', ...bindOptions(b), 'nofail'].join(',')}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}


/** Filesystems of the kernel itself: bound into a jail they show the host's processes, devices or kernel knobs. */
export const KERNEL_FS_TYPES = ['proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'debugfs', 'tracefs', 'securityfs', 'bpf', 'configfs', 'mqueue'];

/** Host trees no bind mount may show, in part or whole, with why (the state dir is added per run). */
const SENSITIVE_TREES: { tree: string; what: string }[] = [
  { tree: '/', what: 'the whole system' },
  { tree: '/etc', what: "the host's configuration and secrets" },
  { tree: '/root', what: "root's home" },
  { tree: '/boot', what: 'the kernel and the boot loader' },
  { tree: '/run', what: 'runtime sockets, pids and secrets' },
  { tree: '/var/lib', what: "services' state: databases, keys" },
  { tree: '/proc', what: "the kernel's view of processes" },
  { tree: '/sys', what: "the kernel's view of devices" },
  { tree: '/dev', what: "the host's devices" },
];

/** Why no jail may show this host dir (its real path, its filesystem type), or undefined. */
export function forbiddenBindSource(real: string, fsType: string | undefined, stateDir: string | undefined): string | undefined {
  if (fsType && KERNEL_FS_TYPES.includes(fsType)) return `is on a ${fsType} filesystem (the kernel's own, not data)`;
  const trees = [...SENSITIVE_TREES, ...(stateDir ? [{ tree: stateDir, what: "jailwizard's state" }] : [])];
  for (const t of trees) {
    if (real === t.tree) return `is ${t.tree} (${t.what})`;
    if (t.tree !== '/' && inside(real, t.tree)) return `is under ${t.tree} (${t.what})`;
  }
  // A dir above one of them shows it too (a bind of /var shows /var/lib).
  const below = trees.find((t) => t.tree !== '/' && inside(t.tree, real));
  return below ? `contains ${below.tree} (${below.what})` : undefined;
}

/** Bind sources jailwizard refuses, whatever the admin says. */
export function checkBind(b: BindMount, jail: string, realSource: string, fsType?: string, stateDir?: string): void {
  const shown = realSource === b.source ? '' : ` (${realSource})`;
  if (inside(jail, realSource) && realSource !== '/') throw new UserError(`bind source ${b.source}${shown} contains the jail ${jail}`, 'a jail inside its own bind mount would loop; bind a dir beside the jail');
  if (inside(realSource, jail)) throw new UserError(`bind source ${b.source}${shown} is inside the jail ${jail}`, 'bind a host dir from outside the jail');
  const why = forbiddenBindSource(realSource, fsType, stateDir);
  if (why) throw new UserError(`bind source ${b.source}${shown} ${why}`, 'bind a data dir of its own, e.g. /srv/web/example.com');
  const top = b.target.split('/')[1] ?? '';
  if (['etc', 'dev', 'usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'home', 'tmp', 'proc'].includes(top)) {
    throw new UserError(`bind target ${b.target} is under /${top}, which jailwizard manages inside the jail`, 'mount it at a path of its own, e.g. target: /web (and startDir: /web for sftp users)');
  }
}

/** Why each extra is there, for the preview. */
export const EXTRA_WHY: Record<Extra, string> = {
  locale: 'locale: /usr/lib/locale/C.utf8, because Debian forwards the client\'s LANG and bash warns on every login without it.',
  terminfo: 'terminfo: xterm, screen and tmux entries, so full-screen programs and line editing work.',
  profile: 'profile: /etc/profile with PATH and a prompt that says you are in a jail.',
  tmp: 'tmp: /tmp with mode 1777 (sticky), for programs that need scratch files.',
  nss: 'nss: /etc/nsswitch.conf (files only) and libnss_files, so user and group names resolve from the jail\'s own files.',
};


export const PROFILE_TEXT = [
  '# Written by jailwizard: the login environment inside the jail.',
  'PATH=/usr/local/bin:/usr/bin:/bin',
  'export PATH',
  'if [ -n "$BASH_VERSION" ]; then',
  "  PS1='[jail] \\u:\\w\\$ '",
  'fi',
  '',
].join('\n');

export const NSSWITCH_TEXT = ['# Written by jailwizard: names come from the jail\'s own files.', 'passwd: files', 'group: files', 'shadow: files', ''].join('\n');


export function rsyslogDropInText(jail: string): string {
  return [
    `# Written by jailwizard: a /dev/log socket inside the jail ${jail}, so that`,
    '# internal-sftp (-l INFO -f AUTH) can log from inside the chroot. Removed with the jail.',
    `input(type="imuxsock" Socket="${jail}/dev/log" CreatePath="on")`,
    '',
  ].join('\n');
}

export function syslogNgDropInText(jail: string): string {
  const id = `s_jailwizard_${jailSlug(jail).replace(/[^A-Za-z0-9_]/g, '_')}`;
  return [
    `# Written by jailwizard: a /dev/log socket inside the jail ${jail}, so that`,
    '# internal-sftp (-l INFO -f AUTH) can log from inside the chroot. Removed with the jail.',
    `source ${id} { unix-dgram("${jail}/dev/log"); };`,
    `log { source(${id}); filter(f_auth); destination(d_auth); };`,
    '',
  ].join('\n');
}
