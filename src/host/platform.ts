// What kind of system this is, beyond what sshd says: the facts that decide whether
// jailwizard can build a jail here right (libc and its loader, the init system, the
// package manager, SELinux, busybox, the shadow tools). Read-only, from a root directory
// ('/' for the host, a fixture dir in tests). The refusals and notes are pure.
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { readElf } from './elf.ts';
import { UserError } from '../model/errors.ts';
import { hostEntriesFor } from './ld-resolve.ts';
import { MINIMAL_SHELL } from '../../recipes/base.ts';
import type { Answers } from '../model/types.ts';
import { systemdRunning } from './systemd.ts';

export type PackageManager = 'apt-get' | 'dnf' | 'pacman' | 'apk';
export type SelinuxMode = 'enforcing' | 'permissive' | 'disabled';

export interface PlatformFacts {
  /** From /etc/os-release: ID, ID_LIKE and PRETTY_NAME. */
  os: { id: string; like: string[]; name: string };
  /** The C library of /bin/sh, from its ELF interpreter (the loader). */
  libc: 'glibc' | 'musl' | 'unknown';
  loader?: string;
  /** systemd (/run/systemd/system) or OpenRC (/run/openrc) as PID 1's service manager. */
  init: 'systemd' | 'openrc' | 'other';
  packageManager?: PackageManager;
  /** Now (/sys/fs/selinux/enforce) and at the next boot (SELINUX= in /etc/selinux/config). */
  selinux: { mode: SelinuxMode; atBoot?: SelinuxMode; policy?: string };
  /** The busybox binary that /bin/sh is, when it is one (Alpine): its applets come along. */
  busyboxShell?: string;
  /** The shadow tools jailwizard runs that are not installed. */
  missingAccountTools: string[];
}

/** What jailwizard runs to create, change and remove the jailed account. */
export const ACCOUNT_TOOLS = ['useradd', 'usermod', 'userdel', 'gpasswd', 'chage'] as const;
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function inRoot(root: string, p: string): string {
  return root === '/' ? p : path.join(root, p);
}

/** Exists without following a last symlink: an absolute target means the root's file, not the host's. */
function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function readText(root: string, p: string): string | undefined {
  try {
    return readFileSync(inRoot(root, p), 'utf8');
  } catch {
    return undefined;
  }
}

/** KEY=value lines of os-release and selinux/config; quotes removed. */
export function parseKeyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

export function detectPackageManager(root = '/'): PackageManager | undefined {
  return (['apt-get', 'dnf', 'pacman', 'apk'] as const).find((m) => ['/usr/bin', '/bin', '/sbin', '/usr/sbin'].some((d) => lexists(inRoot(root, path.join(d, m)))));
}

function selinuxMode(v: string | undefined): SelinuxMode | undefined {
  const s = v?.trim().toLowerCase();
  return s === 'enforcing' || s === 'permissive' || s === 'disabled' ? s : undefined;
}

/** SELinux's mode: the kernel's selinuxfs says what holds now; without it, SELinux is off. */
function gatherSelinux(root: string): PlatformFacts['selinux'] {
  const enforce = readText(root, '/sys/fs/selinux/enforce')?.trim();
  const mode: SelinuxMode = enforce === '1' ? 'enforcing' : enforce === '0' ? 'permissive' : 'disabled';
  const config = readText(root, '/etc/selinux/config');
  const kv = config ? parseKeyValues(config) : {};
  return { mode, atBoot: selinuxMode(kv.SELINUX), policy: kv.SELINUXTYPE };
}

/** /bin/sh's real file inside root (symlinks resolved there), its loader and whether it is busybox. */
function gatherShell(root: string): { real?: string; loader?: string } {
  let real: string | undefined;
  try {
    const entries = hostEntriesFor([MINIMAL_SHELL], { root });
    real = entries[entries.length - 1]?.path;
  } catch {
    return {};
  }
  if (!real) return {};
  try {
    return { real, loader: readElf(inRoot(root, real))?.interp };
  } catch {
    return { real };
  }
}

export function gatherPlatformFacts(root = '/'): PlatformFacts {
  const osr = parseKeyValues(readText(root, '/etc/os-release') ?? readText(root, '/usr/lib/os-release') ?? '');
  const shell = gatherShell(root);
  const loader = shell.loader;
  const libc = !loader ? 'unknown' : /\/ld-musl-[^/]+\.so\.1$/.test(loader) ? 'musl' : /\/ld-linux[^/]*\.so\.\d+$|\/ld\.so\.\d+$/.test(loader) ? 'glibc' : 'unknown';
  const init = systemdRunning(root) ? 'systemd' : existsSync(inRoot(root, '/run/openrc')) ? 'openrc' : 'other';
  const onPath = (cmd: string) => BIN_DIRS.some((d) => lexists(inRoot(root, path.join(d, cmd))));
  return {
    os: { id: osr.ID ?? 'linux', like: (osr.ID_LIKE ?? '').split(/\s+/).filter(Boolean), name: osr.PRETTY_NAME ?? osr.NAME ?? 'unknown' },
    libc,
    loader,
    init,
    packageManager: detectPackageManager(root),
    selinux: gatherSelinux(root),
    busyboxShell: shell.real && path.basename(shell.real) === 'busybox' ? shell.real : undefined,
    missingAccountTools: ACCOUNT_TOOLS.filter((t) => !onPath(t)),
  };
}

/** The commands that give a jail the labels of the files it copies (SELinux file equivalence). */
export function selinuxLabelCommands(jail: string): string[] {
  return [`semanage fcontext -a -e / ${jail}`, `restorecon -RF ${jail} /etc/ssh/authorized_keys`];
}

/**
 * Refusals for systems where jailwizard cannot yet build this jail right. Each is bad input
 * (exit 2, one line and a hint) and comes before anything changes.
 */
export function checkPlatform(a: Pick<Answers, 'jail' | 'tools' | 'extraBinaries'>, p: PlatformFacts, needsShell: boolean): void {
  if (p.selinux.mode === 'enforcing') {
    // New files take the label of the dir they are made in (under /srv: var_t), not bin_t,
    // lib_t, ld_so_t, user_home_dir_t or the device types of what they copy. Whether sshd
    // and the user's programs are then denied depends on the policy and the user's SELinux
    // mapping, which cannot be tried here: refused rather than left to fail at login.
    throw new UserError(
      `SELinux is enforcing (${p.selinux.policy ?? 'policy unknown'}): jailwizard cannot label a jail yet, and its files would get the label of ${path.dirname(a.jail)} instead of those of /usr/bin, /usr/lib, /home and /dev`,
      `label it like / yourself: run jailwizard while SELinux is permissive (setenforce 0), then \`${selinuxLabelCommands(a.jail).join(' && ')}\`, check \`ausearch -m avc -ts recent\`, and setenforce 1`,
    );
  }
  if (p.missingAccountTools.length > 0) {
    throw new UserError(
      `${p.missingAccountTools.join(', ')} not installed: jailwizard creates, changes and removes the jailed account with the shadow tools`,
      p.packageManager === 'apk' ? 'apk add shadow (busybox adduser/deluser cannot set what a jail needs)' : `install the shadow tools (${p.packageManager === 'dnf' ? 'dnf install shadow-utils' : 'apt-get install passwd'})`,
    );
  }
  if (p.busyboxShell && (needsShell || (a.extraBinaries?.length ?? 0) > 0)) {
    throw new UserError(
      `${MINIMAL_SHELL} is busybox here (${p.busyboxShell}): in a jail it would hand the user every busybox applet, and the basic commands are applets too; jailwizard cannot yet build a jail with a shell on ${p.os.name}`,
      'use tools: [sftp] alone (internal-sftp, no binaries in the jail), or jail shell users on a Debian or Ubuntu host',
    );
  }
}

/** Warnings for the plan: what it cannot prove on this system. */
export function platformNotes(a: Pick<Answers, 'jail'>, p: PlatformFacts): string[] {
  const notes: string[] = [];
  if (p.selinux.mode === 'permissive') {
    notes.push(
      `WARNING: SELinux is permissive${p.selinux.atBoot === 'enforcing' ? ' now but enforcing after the next boot' : ''}: the connection test passes even where labels are wrong. Before enforcing, label the jail like /: ${selinuxLabelCommands(a.jail).join(' && ')}; then check \`ausearch -m avc -ts recent\` after a login.`,
    );
  }
  return notes;
}

/**
 * sshd's reload on OpenRC (Alpine, Gentoo): `rc-service sshd reload` runs `sshd -t` and then
 * SIGHUPs the pid in its pidfile. Only for the stock config and an sshd that OpenRC started
 * (it records that as /run/openrc/started/sshd); otherwise the caller sends SIGHUP itself.
 */
export function openrcReload(config: string, defaultConfig: string, root = '/'): { argv: string[] } | undefined {
  if (config !== defaultConfig || !lexists(inRoot(root, '/run/openrc/started/sshd'))) return undefined;
  const rcService = ['/sbin/rc-service', '/usr/sbin/rc-service', '/bin/rc-service', '/usr/bin/rc-service'].find((p) => lexists(inRoot(root, p)));
  return rcService ? { argv: ['rc-service', 'sshd', 'reload'] } : undefined;
}

/** Preflight's lines about this system (the shape of the wizard's findings), only where it matters. */
export function platformFindings(p: PlatformFacts): { label: string; value: string; status: 'ok' | 'warn' | 'bad'; fix?: string }[] {
  const out: ReturnType<typeof platformFindings> = [];
  if (p.selinux.mode === 'enforcing') {
    out.push({ label: 'SELinux', value: `enforcing (${p.selinux.policy ?? 'policy unknown'}): jailwizard cannot label a jail yet`, status: 'bad', fix: 'apply refuses; see README, "SELinux"' });
  } else if (p.selinux.mode === 'permissive') {
    out.push({ label: 'SELinux', value: `permissive${p.selinux.atBoot === 'enforcing' ? ', enforcing after the next boot' : ''}`, status: 'warn', fix: 'label each jail like / before enforcing (the plan lists the commands)' });
  }
  if (p.libc !== 'glibc') out.push({ label: 'libc', value: `${p.libc}${p.loader ? ` (${p.loader})` : ''}`, status: 'ok' });
  if (p.busyboxShell) out.push({ label: 'shell', value: `/bin/sh is busybox (${p.busyboxShell})`, status: 'warn', fix: 'only sftp-only jails (tools: [sftp]) are possible here' });
  if (p.missingAccountTools.length > 0) {
    out.push({ label: 'accounts', value: `${p.missingAccountTools.join(', ')} not installed`, status: 'bad', fix: p.packageManager === 'apk' ? 'apk add shadow' : 'install the shadow tools' });
  }
  return out;
}
