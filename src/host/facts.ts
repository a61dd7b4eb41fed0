// Read-only facts about the host: everything the pure planner needs to decide what to
// change. Nothing in this file writes anything.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { readElf } from './elf.ts';
import { hostEntriesFor, resolveClosure, type HostEntry } from './ld-resolve.ts';
import { run } from './run.ts';
import {
  connectAddresses,
  findIncludeDir,
  dropInName,
  includeLineFor,
  sshdEffective,
  type EffectiveConfig,
} from './sshd-config.ts';
import { entryPointsOf, resolveExtra, type ExtraBinary } from './extra-commands.ts';
import { readRecord, readRetiredUids, sharersOf, type JailRecord } from './state.ts';
import { detectSshdMode, reloadFor, type SshdMode, type SshdReload } from './sshd-service.ts';
import { type Answers, type Arch } from '../model/types.ts';
import { TOOLS } from '../../recipes/index.ts';
import { mountOf, readMountInfo } from './mountinfo.ts';
import { jailSlug, systemdUnitForPath } from '../model/paths.ts';
import { LOCALE_DIR, NSS_FILES_LIBS, TERMINFO_DIRS, TERMINFO_NAMES, jailWide, toolBinaries, type BinaryGroup } from '../../recipes/needs.ts';
import { gatherSyslogFacts, isSyslogProblem, type SyslogFacts, type SyslogProblem } from './syslog.ts';
import { readLoginDefs } from './validate.ts';
import { readGroups, readPasswd, readShadow, type GroupEntry, type PasswdEntry, type ShadowEntry } from './accounts.ts';
import { AUTHORIZED_KEYS_DIR } from '../model/action-role.ts';
import { recipeFor } from '../../recipes/index.ts';
import { UnsafePathError, rootOnly, withParent } from './safe-fs.ts';
import { sha256, sha256At, sha256File } from './hash.ts';
import { systemdRunning } from './systemd.ts';
import { sshdPidFile } from './pidfile.ts';
import { gatherPlatformFacts, type PackageManager, type PlatformFacts } from './platform.ts';

export interface FileState {
  kind: 'dir' | 'file' | 'symlink' | 'char' | 'other';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  target?: string;
  major?: number;
  minor?: number;
}

export interface ClosureFacts extends BinaryGroup {
  /** Every dir, symlink and file the group's binaries need, host side, files hashed. */
  entries: (HostEntry & { sha256?: string; mtimeMs?: number })[];
  missing: { name: string; neededBy: string }[];
}

export interface SshdFacts {
  mainConfig: string;
  mainText: string;
  mainSha256: string;
  /** Where our drop-in goes; `needsInclude` when the main config does not read that dir yet. */
  dropInDir: string;
  dropInPath: string;
  dropIn?: FileState & { text?: string };
  dropInDirExists: boolean;
  needsInclude: boolean;
  includeLine?: string;
  /** Path of the global external sftp Subsystem, undefined for internal-sftp. */
  sftpSubsystem?: string;
  /** The sftp-server binary the gate runs: the Subsystem's, or the distro's when the Subsystem is internal-sftp. */
  sftpServer?: string;
  pidFile: string;
  /** How sshd runs (a service, socket-activated, by hand) and so how a change reaches it. */
  mode: SshdMode;
  reload?: SshdReload;
  listen: { host: string; port: number }[];
  effective: EffectiveConfig;
}

export interface HostFacts {
  hostArch: Arch;
  passwd: PasswdEntry[];
  groups: GroupEntry[];
  loginDefs: { UID_MIN: number; UID_MAX: number };
  /** uids of removed jail users, never given to a new one (state dir's retired-uids.json). */
  retiredUids?: number[];
  /** The user's shadow entry, when the user exists. */
  shadow?: ShadowEntry;
  keysDir?: FileState;
  keysFile?: FileState & { text?: string };
  /** The jail's ancestors, `/` first, without the jail itself. */
  ancestors: { path: string; state?: FileState }[];
  /** The jail and what is under it (the user's home is not descended into), by host path. */
  jail: Record<string, FileState>;
  closures: ClosureFacts[];
  packages: { manager?: PackageManager; missing: { binary: string; pkg: string }[]; installs: string[] };
  sshd: SshdFacts;
  record?: JailRecord;
  stateDir: string;
  /** Other users of a shared jail: their records and host accounts. */
  sharers: { record: JailRecord; account?: PasswdEntry }[];
  /** extraBinaries as asked, resolved to a host path; setid when the file has a setuid/setgid bit. */
  extraBinaries: ExtraBinary[];
  /** Mount points now (for bind mounts already in place). */
  mounts: string[];
  /** Each bind source: its real path (symlinks resolved) and state. */
  bindSources: Record<string, { real: string; state?: FileState; fsType?: string }>;
  fstab: { path: string; text: string };
  /** systemd mount units of the bind targets, when they exist. */
  mountUnits: Record<string, FileState>;
  /** systemd is PID 1: bind mounts persist as mount units, not fstab lines. */
  systemd: boolean;
  /** With log: the syslog daemon that gets a socket inside the jail, or why there is none. */
  syslog?: SyslogFacts | SyslogProblem;
  syslogDropIn?: FileState & { text?: string };
  /** libc, init, SELinux, busybox, the shadow tools: what decides whether a jail can be built right here. */
  platform: PlatformFacts;
}

export type { PackageManager } from './platform.ts';


export function hostArch(): Arch {
  switch (process.arch) {
    case 'arm64':
      return 'aarch64';
    case 'arm':
      return 'armhf';
    case 'ia32':
      return 'i386';
    default:
      return 'x86_64';
  }
}

/**
 * The sha256 of a file jailwizard may compare or replace: only root's files in dirs root
 * alone can change. Content a user can write is never read or hashed.
 */
function managedSha256(p: string, st: Stats): string | undefined {
  if (st.uid !== 0) return undefined;
  try {
    return withParent(p, (d, name) => (d.rootOnly ? sha256At(d, name) : undefined));
  } catch (e) {
    if (e instanceof UnsafePathError) return undefined;
    throw e;
  }
}

/** glibc's dev_t encoding: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31. */
export function devNumbers(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  return { major: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)), minor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)) };
}

function toState(st: Stats, p: string, hash: boolean): FileState {
  const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : 'other';
  const s: FileState = { kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size };
  if (kind === 'symlink') s.target = readlinkSync(p);
  if (kind === 'file' && hash) s.sha256 = managedSha256(p, st);
  if (kind === 'char') {
    Object.assign(s, devNumbers(st.rdev));
  }
  return s;
}

export function fileState(p: string, hash = true): FileState | undefined {
  try {
    return toState(lstatSync(p), p, hash);
  } catch {
    return undefined;
  }
}

/**
 * lstat of the jail and everything under it, except inside `skip` (the user's own files)
 * and inside any dir a user can change (a /tmp, a group dir, a home): those are the users',
 * so only the dir itself is seen, and nothing in it is read, hashed or even listed.
 */
function scanJail(jail: string, skip: Set<string>): Record<string, FileState> {
  const out: Record<string, FileState> = {};
  const walk = (p: string): void => {
    const s = fileState(p);
    if (!s) return;
    out[p] = s;
    if (s.kind === 'dir' && !skip.has(p) && rootOnly(s)) for (const n of readdirSync(p).sort()) walk(path.join(p, n));
  };
  walk(jail);
  return out;
}



/** What `apt-get install` would add, from its own simulation (nothing is installed). */
async function simulateInstall(manager: PackageManager, pkgs: string[]): Promise<string[]> {
  if (manager !== 'apt-get' || pkgs.length === 0) return pkgs;
  const r = await run(['apt-get', '-s', '-y', 'install', ...pkgs], { timeoutMs: 60_000, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  const names = [...r.stdout.matchAll(/^Inst (\S+)/gm)].map((m) => m[1]!.replace(/:.*/, ''));
  return names.length > 0 ? names : pkgs;
}

/** Where distros put the sftp-server (Debian and Ubuntu, RHEL, Arch and Alpine). */
const SFTP_SERVERS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/lib/ssh/sftp-server'];

export async function gatherSshdFacts(mainConfig: string, user: string): Promise<SshdFacts> {
  const mainText = readFileSync(mainConfig, 'utf8');
  const include = findIncludeDir(mainText);
  const added = include.dropInDir ? undefined : includeLineFor(mainConfig);
  const dropInDir = include.dropInDir ?? added!.dir;
  const dropInPath = path.join(dropInDir, dropInName(user, include.pattern ?? 'jailwizard-*.conf'));
  const effective = await sshdEffective(mainConfig);
  const pidFileEarly = sshdPidFile(effective);
  const mode = await detectSshdMode(mainConfig, pidFileEarly);
  const reload = reloadFor(mode);
  const sub = (effective.get('subsystem') ?? []).map((v) => v.split(/\s+/)).find((w) => w[0] === 'sftp');
  const sftpSubsystem = sub && sub[1] !== 'internal-sftp' ? sub[1] : undefined;
  const pidFile = pidFileEarly;
  const dropIn = fileState(dropInPath);
  return {
    mainConfig,
    mainText,
    mainSha256: sha256(mainText),
    dropInDir,
    dropInPath,
    dropIn: dropIn && { ...dropIn, text: dropIn.kind === 'file' ? readFileSync(dropInPath, 'utf8') : undefined },
    dropInDirExists: existsSync(dropInDir),
    needsInclude: !include.dropInDir,
    includeLine: added?.line,
    sftpSubsystem,
    sftpServer: sftpSubsystem ?? SFTP_SERVERS.find((p) => existsSync(p)),
    pidFile,
    mode,
    reload,
    listen: connectAddresses(effective),
    effective,
  };
}

export interface GatherOptions {
  sshdConfig: string;
  stateDir: string;
  syslogConfig?: string;
}

export { resolveExtra, type ExtraBinary } from './extra-commands.ts';

/** Files for the named extras that come from the host (locale, terminfo, libnss_files). */
function runtimeExtraPaths(extras: readonly string[]): { files: string[]; elfs: string[] } {
  const files: string[] = [];
  const elfs: string[] = [];
  if (extras.includes('locale') && existsSync(LOCALE_DIR)) {
    for (const n of readdirSync(LOCALE_DIR).sort()) {
      const p = path.join(LOCALE_DIR, n);
      if (statSync(p).isFile()) files.push(p);
      else if (statSync(p).isDirectory()) for (const m of readdirSync(p).sort()) files.push(path.join(p, m));
    }
  }
  if (extras.includes('terminfo')) {
    for (const name of TERMINFO_NAMES) {
      const found = TERMINFO_DIRS.map((d) => path.join(d, name[0]!, name)).find((c) => existsSync(c));
      if (found) files.push(found);
    }
  }
  if (extras.includes('nss')) {
    const lib = NSS_FILES_LIBS.find((c) => existsSync(c));
    if (lib) elfs.push(lib);
  }
  return { files, elfs };
}

/**
 * The entries, files with their sha256 and mtime. `seen` is shared by one gathering's closures:
 * libc, the loader and friends are in every tool's closure, and are hashed once.
 */
function hashed(entries: HostEntry[], seen: Map<string, { sha256: string; mtimeMs: number }>): ClosureFacts['entries'] {
  return entries.map((e) => {
    if (e.kind !== 'file') return e;
    let h = seen.get(e.path);
    if (!h) seen.set(e.path, (h = { sha256: sha256File(e.path), mtimeMs: statSync(e.path).mtimeMs }));
    return { ...e, ...h };
  });
}

export async function gatherFacts(answers: Answers, opts: GatherOptions): Promise<HostFacts> {
  const passwd = readPasswd();
  const existing = passwd.find((p) => p.name === answers.user);
  const sshd = await gatherSshdFacts(opts.sshdConfig, answers.user);

  const record = readRecord(opts.stateDir, answers.user);
  const sharers = sharersOf(opts.stateDir, answers).map((r) => ({ record: r, account: passwd.find((p) => p.name === r.user) }));
  const everyone = [answers, ...sharers.map((x) => x.record.answers)];
  const wide = jailWide(answers, everyone.slice(1));
  // What each user runs (its login shell, sftp-server only with a shell), together: a shared jail holds them all.
  const groups = mergeGroups(everyone.map((x) => toolBinaries(x.tools, sshd.sftpSubsystem, sshd.sftpServer)));
  const platform = gatherPlatformFacts();
  const manager = platform.packageManager;
  const missing: { binary: string; pkg: string }[] = [];
  const closures: ClosureFacts[] = [];
  const seen = new Map<string, { sha256: string; mtimeMs: number }>();
  for (const g of groups) {
    const present = g.binaries.filter((b) => existsSync(b));
    for (const b of g.binaries.filter((x) => !existsSync(x))) {
      const recipe = recipeFor(g.name);
      missing.push({ binary: b, pkg: (manager && recipe?.packages?.[manager]) ?? path.basename(b) });
    }
    const c = resolveClosure(present);
    closures.push({ ...g, entries: hashed(hostEntriesFor(c.objects), seen), missing: c.missing });
  }
  const extraBinaries = wide.extraBinaries.map((x) => resolveExtra(x, opts.stateDir));
  const extraPaths = extraBinaries.filter((x) => x.path && x.elf).flatMap((x) => [x.path!, ...entryPointsOf(x)]);
  if (extraPaths.length > 0) {
    const c = resolveClosure(extraPaths);
    closures.push({ name: 'extra', title: 'extra commands', binaries: extraPaths, entries: hashed(hostEntriesFor(c.objects), seen), missing: c.missing });
  }
  const runtime = runtimeExtraPaths(wide.extras);
  if (runtime.files.length + runtime.elfs.length > 0) {
    const c = resolveClosure(runtime.elfs);
    const entries = hashed(hostEntriesFor([...runtime.files, ...c.objects]), seen);
    closures.push({ name: 'runtime', title: wide.extras.filter((e) => e === 'locale' || e === 'terminfo' || e === 'nss').join(', '), binaries: [...runtime.files, ...runtime.elfs], entries, missing: c.missing });
  }
  const pkgs = [...new Set(missing.map((m) => m.pkg))];

  const jailHome = existing ? path.join(answers.jail, existing.home) : path.join(answers.jail, 'home', answers.user);
  const ancestors: { path: string; state?: FileState }[] = [];
  for (let p = path.dirname(answers.jail); ; p = path.dirname(p)) {
    ancestors.unshift({ path: p, state: fileState(p, false) });
    if (p === '/') break;
  }
  const keysFilePath = path.join(AUTHORIZED_KEYS_DIR, answers.user);
  const systemd = systemdRunning();
  const syslog = wide.log ? gatherSyslogFacts(opts.syslogConfig ?? record?.syslogConfig ?? sharers.find((x) => x.record.syslogConfig)?.record.syslogConfig, systemd) : undefined;
  const syslogDropInPath = syslog && !isSyslogProblem(syslog) ? path.join(syslog.dropInDir, `jailwizard-${jailSlug(answers.jail)}.conf`) : undefined;
  const syslogDropIn = syslogDropInPath ? fileState(syslogDropInPath) : undefined;
  const keysFile = fileState(keysFilePath);
  const mounts = readMountInfo();

  return {
    hostArch: hostArch(),
    passwd,
    groups: readGroups(),
    loginDefs: readLoginDefs(),
    retiredUids: readRetiredUids(opts.stateDir).list.map((x) => x.uid),
    shadow: existing ? readShadow(answers.user) : undefined,
    keysDir: fileState(AUTHORIZED_KEYS_DIR, false),
    keysFile: keysFile && { ...keysFile, text: keysFile.kind === 'file' ? readFileSync(keysFilePath, 'utf8') : undefined },
    ancestors,
    // Not descended into: the user's home (their files) and bind targets (host data).
    jail: scanJail(
      answers.jail,
      new Set([
        jailHome,
        ...[answers, ...sharers.map((x) => x.record.answers)].flatMap((x) => [x.writable, x.groupDir]).filter((d): d is string => !!d).map((d) => path.join(answers.jail, d)),
        ...sharers.map((x) => path.join(answers.jail, x.account?.home ?? `/home/${x.record.user}`)),
        ...wide.binds.map((b) => path.join(answers.jail, b.target)),
      ]),
    ),
    closures,
    packages: { manager, missing, installs: manager ? await simulateInstall(manager, pkgs) : pkgs },
    sshd,
    record,
    stateDir: opts.stateDir,
    sharers,
    extraBinaries,
    mounts: mounts.map((m) => m.target),
    bindSources: Object.fromEntries(
      wide.binds.map((b) => {
        let real = b.source;
        try {
          real = realpathSync(b.source);
        } catch {
          // missing: the planner refuses it with the path as given
        }
        return [b.source, { real, state: fileState(real, false), fsType: mountOf(real, mounts)?.fsType }];
      }),
    ),
    fstab: { path: FSTAB, text: existsSync(FSTAB) ? readFileSync(FSTAB, 'utf8') : '' },
    // The bind targets', and the units of the dirs a noexec bind may cover (home, writable, group dir, /tmp).
    mountUnits: Object.fromEntries(
      [...wide.binds.map((b) => path.join(answers.jail, b.target)), jailHome, ...[answers.writable, answers.groupDir, '/tmp'].filter((d): d is string => !!d).map((d) => path.join(answers.jail, d))].flatMap((where) => {
        const unit = path.join('/etc/systemd/system', systemdUnitForPath(where));
        const st = fileState(unit);
        return st ? [[unit, st]] : [];
      }),
    ),
    systemd,
    syslog,
    syslogDropIn: syslogDropIn && { ...syslogDropIn, text: syslogDropIn.kind === 'file' ? readFileSync(syslogDropInPath!, 'utf8') : undefined },
    platform,
  };
}

export const FSTAB = '/etc/fstab';

/** Binary groups of several users as one list, each group once, in recipe order. */
function mergeGroups(lists: BinaryGroup[][]): BinaryGroup[] {
  const order: string[] = ['shell', ...TOOLS];
  const byName = new Map<string, BinaryGroup>();
  for (const g of lists.flat()) {
    const have = byName.get(g.name);
    byName.set(g.name, have ? { ...have, binaries: [...new Set([...have.binaries, ...g.binaries])] } : g);
  }
  return [...byName.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** The ELF arch of each chosen tool binary that exists on the host. */
export function binaryArches(paths: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const e = readElf(p);
    if (e) m.set(p, e.arch);
  }
  return m;
}
