// The planner: answers plus read-only host facts in, a Plan of Steps out. Pure: it reads
// nothing and runs nothing, so its output can be snapshot-tested and previewed exactly.
// Where the host already matches, it plans nothing (apply twice changes nothing).
import path from 'node:path';
import { octal } from './host/mode.ts';
import {
  RECIPES,
  SFTP_SUBSYSTEM,
  DEVICE_NODES,
  MATCH_SHELL_WITHOUT_BASH,
  MINIMAL_SHELL,
  base,
  baseMatch,
  chosenRecipes,
  recipeFor,
  shell as SHELL_RECIPE,
  type Recipe,
} from '../recipes/index.ts';
import type { Action, Effect, Plan, Precondition, Step } from './effects.ts';
import { UserError } from './errors.ts';
import type { FileState, HostFacts } from './host-facts.ts';
import type { HostEntry } from './ld-resolve.ts';
import { renderDropIn } from './sshd-config.ts';
import { modeNote, reloadEffect, reloadProblem } from './sshd-service.ts';
import {
  EXTRA_WHY,
  NSSWITCH_TEXT,
  PROFILE_TEXT,
  allowedSample,
  bindOptions,
  checkBind,
  deniedAddressPattern,
  deniedSample,
  fstabLine,
  internalSftpCommand,
  jailSlug,
  jailWide,
  type JailWide,
  keyLine,
  mountUnitText,
  rsyslogDropInText,
  syslogNgDropInText,
  systemdUnitForPath,
} from './plan-options.ts';
import { isSyslogProblem } from './syslog.ts';
import { checkSharedJailPaths } from './shared-jail.ts';
import { checkPlatform, platformNotes } from './platform.ts';
import { recordPath, type JailRecord } from './state.ts';
import { usesGate, wantsNoexec, type Answers, type BindMount, type Tool } from './types.ts';
import { GATE_PATH, gateCommand, gateScript, describeGrant, type GateGrant } from './gate.ts';
import { LOCKED_WITHOUT_PASSWORD, type PasswdEntry } from './host/accounts.ts';
import { TOOLS } from '../recipes/index.ts';

export const AUTHORIZED_KEYS_DIR = '/etc/ssh/authorized_keys';
const ROOT = { uid: 0, gid: 0 };

export interface BinaryGroup {
  /** A tool, the minimal shell, extra commands, or the runtime extras (locale, terminfo, nss). */
  name: Tool | 'shell' | 'extra' | 'runtime';
  title: string;
  binaries: string[];
}

/** A recipe's reasons; some speak of the small shell, which bash replaces when chosen. */
function toolWhy(r: Recipe, tools: readonly Tool[]): string[] {
  return tools.includes('bash') && r.whyWithBash ? r.whyWithBash : r.why;
}

export function needsShell(tools: readonly Tool[]): boolean {
  return tools.some((t) => RECIPES[t].needsShell);
}

/** The login shell in the host's passwd; sshd runs that same path inside the jail. */
export function loginShell(tools: readonly Tool[]): string {
  if (tools.includes('bash')) return '/bin/bash';
  if (needsShell(tools)) return MINIMAL_SHELL;
  return '/usr/sbin/nologin'; // sftp only: ForceCommand internal-sftp never runs a shell
}

/**
 * Which host binaries each chosen tool puts in the jail, in recipe order. The sftp-server is
 * the external Subsystem's; a user behind the gate needs one even when the Subsystem is
 * internal-sftp (sshd hands the gate the request), so then it is `gatedSftpServer`.
 */
export function toolBinaries(tools: readonly Tool[], sftpSubsystem: string | undefined, gatedSftpServer?: string): BinaryGroup[] {
  const shell = needsShell(tools);
  const sftpServer = sftpSubsystem ?? (usesGate({ tools }) ? gatedSftpServer : undefined);
  const groups: BinaryGroup[] = [];
  if (shell && !tools.includes('bash')) {
    groups.push({ name: 'shell', title: SHELL_RECIPE.summary, binaries: SHELL_RECIPE.binaries });
  }
  for (const t of TOOLS) {
    if (!tools.includes(t)) continue;
    // sftp without any shell is internal-sftp: no binaries at all.
    if (RECIPES[t]!.matchWithoutShell && !shell) continue;
    const bins = RECIPES[t].binaries.flatMap((b) => (b === SFTP_SUBSYSTEM ? (sftpServer ? [sftpServer] : []) : [b]));
    if (bins.length > 0) groups.push({ name: t, title: RECIPES[t].summary, binaries: bins });
  }
  return groups;
}

/** The settings of the user's Match block; `gate` is the grant of a user without bash (gateGrant). */
export function matchSettings(a: Pick<Answers, 'tools' | 'jail' | 'readOnly' | 'umask' | 'startDir' | 'log'>, gate?: GateGrant): Record<string, string> {
  const m = { ...baseMatch(a.jail) };
  for (const r of chosenRecipes(a.tools)) Object.assign(m, r.match);
  if (!needsShell(a.tools)) Object.assign(m, RECIPES.sftp.matchWithoutShell, { ForceCommand: internalSftpCommand(a) });
  else if (!a.tools.includes('bash')) Object.assign(m, MATCH_SHELL_WITHOUT_BASH, gate ? { ForceCommand: gateCommand(gate) } : {});
  return m;
}

/**
 * What the gate lets a user without bash run, as jail paths: their tools, the sftp-server for
 * sftp and scp, git's server commands when git is one of their extra commands (never git
 * itself: `git -c alias.x=!sh x` runs anything), and their other extra commands.
 */
export function gateGrant(a: Pick<Answers, 'tools' | 'extraBinaries'>, facts: { sshd: Pick<HostFacts['sshd'], 'sftpSubsystem' | 'sftpServer'>; extraBinaries: HostFacts['extraBinaries'] }): GateGrant | undefined {
  if (!usesGate(a)) return undefined;
  const asked = new Set(a.extraBinaries ?? []);
  const extras = facts.extraBinaries.filter((x) => asked.has(x.asked) && x.path && x.elf);
  const git = extras.find((x) => path.basename(x.path!) === 'git');
  const sftp = a.tools.includes('sftp') || a.tools.includes('scp') ? (facts.sshd.sftpSubsystem ?? facts.sshd.sftpServer) : undefined;
  return {
    ...(a.tools.includes('rsync') ? { rsync: RECIPES.rsync.binaries[0]! } : {}),
    ...(a.tools.includes('scp') ? { scp: RECIPES.scp.binaries[0]! } : {}),
    ...(sftp ? { sftp, sftpSubsystem: facts.sshd.sftpSubsystem ?? 'internal-sftp' } : {}),
    ...(git ? { git: path.dirname(git.path!) } : {}),
    commands: extras.filter((x) => x !== git).map((x) => x.path!),
  };
}

/**
 * The dirs inside the jail the user can write, which are bind-mounted onto themselves
 * noexec,nosuid,nodev when the user (or, for the shared /tmp, any user of the jail) wants it.
 */
export function noexecDirs(a: Answers, home: string, everyone: readonly Answers[], extras: readonly string[]): string[] {
  const dirs = wantsNoexec(a) ? [a.writable ?? home, ...(a.groupDir ? [a.groupDir] : [])] : [];
  if (extras.includes('tmp') && everyone.some(wantsNoexec)) dirs.push('/tmp');
  return [...new Set(dirs)];
}

/**
 * The first uid ≥ UID_MIN that is free both as a uid and as a gid, so the user group matches,
 * and that no removed jail user had (their files may remain).
 */
export function pickUid(facts: Pick<HostFacts, 'passwd' | 'groups' | 'loginDefs' | 'retiredUids'>): number {
  const used = new Set([...facts.passwd.map((p) => p.uid), ...facts.groups.map((g) => g.gid), ...(facts.retiredUids ?? [])]);
  for (let n = facts.loginDefs.UID_MIN; n <= facts.loginDefs.UID_MAX; n++) if (!used.has(n)) return n;
  throw new UserError('no free uid between UID_MIN and UID_MAX', 'see /etc/login.defs');
}

function sameState(have: FileState | undefined, want: Partial<FileState>): boolean {
  if (!have) return false;
  return Object.entries(want).every(([k, v]) => (have as unknown as Record<string, unknown>)[k] === v);
}

function preFor(p: string, have: FileState | undefined): Precondition {
  if (!have) return { kind: 'absent', path: p };
  if (have.kind === 'file' && have.sha256) return { kind: 'sha256', path: p, sha256: have.sha256 };
  return { kind: 'none' };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Actions that make `p` a dir with this owner and mode; changes only what differs. */
function ensureDir(p: string, have: FileState | undefined, mode: number, uid: number, gid: number): Action[] {
  if (!have) return [{ effect: { kind: 'mkdir', path: p, mode, uid, gid }, undo: [{ kind: 'rmdir', path: p }], pre: { kind: 'absent', path: p } }];
  if (have.kind !== 'dir') throw new UserError(`${p} exists and is not a directory`, 'move it away, or choose another jail path');
  const out: Action[] = [];
  if (have.uid !== uid || have.gid !== gid) {
    out.push(runAction(['chown', `${uid}:${gid}`, p], [['chown', `${have.uid}:${have.gid}`, p]], { kind: 'dir', path: p }));
  }
  if (have.mode !== mode) {
    out.push(runAction(['chmod', octal(mode), p], [['chmod', octal(have.mode), p]], { kind: 'dir', path: p }));
  }
  return out;
}

/**
 * A dir outside the jail that others may put things in (a parent of the jail, the keys dir,
 * the drop-in dir): undoing its mkdir leaves it in place when it is no longer empty.
 */
function sharedDir(actions: Action[]): Action[] {
  return actions.map((a) => ({ ...a, undo: a.undo.map((u) => (u.kind === 'rmdir' ? { ...u, ifEmpty: true } : u)) }));
}

function runAction(argv: string[], undo: string[][], pre: Precondition = { kind: 'none' }, undoIf?: Precondition): Action {
  return { effect: { kind: 'run', argv }, undo: undo.map((u) => ({ kind: 'run', argv: u })), pre, undoIf };
}

/** A file with exact content: written only when absent or different. */
function ensureFile(p: string, have: FileState | undefined, effect: Effect & { kind: 'write' | 'copy' }, wantSha: string): Action[] {
  if (have && have.kind !== 'file') throw new UserError(`${p} exists and is not a regular file`, 'move it away, or choose another jail path');
  if (have && have.sha256 === wantSha && have.mode === effect.mode && have.uid === effect.uid && have.gid === effect.gid) return [];
  return [{ effect, undo: [{ kind: 'restore', path: p }], pre: preFor(p, have) }];
}

export interface PlanOptions {
  now: string;
  /** sha256 of a string; injected so the planner stays free of node:crypto state. */
  sha256: (s: string) => string;
}

/** The account the jailed user logs in as, as it will be after the plan. */
export interface PlannedUser extends PasswdEntry {
  exists: boolean;
}

export function plannedUser(a: Answers, facts: HostFacts): PlannedUser {
  const existing = facts.passwd.find((p) => p.name === a.user);
  const shell = loginShell(a.tools);
  if (existing) return { ...existing, shell, exists: true };
  if (!a.createUser) {
    throw new UserError(`user ${a.user} does not exist and createUser is false`, 'create the user first, or set createUser: true');
  }
  const uid = facts.record?.uid ?? pickUid(facts);
  return { name: a.user, uid, gid: uid, gecos: 'jailwizard jail', home: `/home/${a.user}`, shell, exists: false };
}

/** Top-level dirs of a jail that hold its own files and stay root's. */
const JAIL_SYSTEM_DIRS = new Set(['etc', 'dev', 'usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'proc']);

/**
 * Groups that give root, or root's secrets, to their members (on Debian and elsewhere), with
 * what membership means. A jailed user keeps them in every login that is not jailed, and in
 * whatever a bind mount or shared dir shows with group permissions.
 */
export const PRIVILEGED_GROUPS: Record<string, string> = {
  root: 'group root: owns system files',
  sudo: 'may run any command as root with sudo',
  wheel: 'may run any command as root with sudo',
  admin: 'may run any command as root with sudo',
  adm: 'reads every system log',
  shadow: 'reads the password hashes in /etc/shadow',
  disk: 'reads and writes every disk directly, so every file',
  kmem: 'reads kernel memory',
  staff: 'writes /usr/local, whose programs root runs',
  'systemd-journal': 'reads the whole journal',
  docker: 'is root through the docker socket',
  lxd: 'is root through the lxd socket',
  incus: 'is root through the incus socket',
  libvirt: 'is root through libvirt',
};

/** The privileged groups an existing account is in (primary or supplementary), with why each matters. */
export function privilegedGroupsOf(user: PasswdEntry, groups: HostFacts['groups']): { name: string; why: string }[] {
  return groups
    .filter((g) => g.gid === user.gid || g.members.includes(user.name))
    .filter((g) => g.gid === 0 || PRIVILEGED_GROUPS[g.name] !== undefined)
    .map((g) => ({ name: g.name, why: PRIVILEGED_GROUPS[g.name] ?? 'gid 0: owns system files' }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * An adopted account's passwd home is where sshd starts the session inside the jail, and the
 * dir jailwizard makes the user's own: it must be a plain path outside the jail's system dirs.
 */
function checkExistingHome(user: PasswdEntry): void {
  const home = user.home;
  const fix = `give ${user.name} a home of its own first (usermod --home /home/${user.name} ${user.name}), or jail a new user`;
  if (!home.startsWith('/') || home.split('/').some((p) => p === '.' || p === '..') || /[^A-Za-z0-9._+@/-]/.test(home)) {
    throw new UserError(`${user.name}'s home ${JSON.stringify(home)} in /etc/passwd is not a plain absolute path`, fix);
  }
  const top = home.split('/').filter(Boolean)[0];
  if (top === undefined) throw new UserError(`${user.name}'s home in /etc/passwd is /, which inside the jail is the jail root and must stay root's`, fix);
  if (JAIL_SYSTEM_DIRS.has(top)) {
    throw new UserError(`${user.name}'s home ${home} (in /etc/passwd) lies in /${top}, which inside the jail holds the jail's own files and stays root's`, fix);
  }
}

/** Refusals that need host facts; each is bad input (exit 2) and nothing has changed. */
function checkHost(a: Answers, facts: HostFacts, wide: JailWide): void {
  checkPlatform({ ...a, extraBinaries: wide.extraBinaries }, facts.platform, [a, ...facts.sharers.map((x) => x.record.answers)].some((x) => needsShell(x.tools)));
  for (const anc of facts.ancestors) {
    const s = anc.state;
    if (!s) continue;
    if (s.kind !== 'dir') throw new UserError(`chroot path component ${anc.path} is not a directory`, 'choose another jail path');
    if (s.uid !== 0 || (s.mode & 0o022) !== 0) {
      throw new UserError(
        `sshd would refuse the jail: ${anc.path} is owned by uid ${s.uid} with mode ${octal(s.mode)}; every component must be root-owned and not group/other-writable`,
        `fix that one directory (\`chown root ${anc.path} && chmod go-w ${anc.path}\`) or choose a jail under another dir`,
      );
    }
  }
  const missingLibs = facts.closures.flatMap((c) => c.missing);
  if (missingLibs.length > 0) {
    const m = missingLibs[0]!;
    throw new UserError(`${m.neededBy} needs ${m.name}, which is not on this host`, 'reinstall the package that provides it; jailwizard never copies an incomplete closure');
  }
  const group = a.group ? facts.groups.find((g) => g.name === a.group) : undefined;
  if (a.group && !group) {
    throw new UserError(`group ${a.group} does not exist`, `create it first (groupadd ${a.group}) or drop the group key`);
  }
  // A jailed user must not gain a system group's privileges (sudo, adm, shadow, disk…).
  if (group && (group.gid < facts.loginDefs.UID_MIN || group.gid > facts.loginDefs.UID_MAX)) {
    throw new UserError(`group ${a.group} is a system group (gid ${group.gid})`, 'use a regular group made for this purpose, e.g. groupadd uploads');
  }
  for (const x of facts.extraBinaries) {
    if (x.forbidden) throw new UserError(`extra command ${x.asked} ${x.forbidden}: jailwizard never copies it into a jail`, 'extra commands are programs, e.g. extraBinaries: [git, /usr/bin/nano]');
    if (!x.path) throw new UserError(`extra command ${x.asked} is not on this host`, `install it first (e.g. apt-get install ${x.asked.split('/').pop()}) or give its full path`);
    if (x.notExecutable) throw new UserError(`extra command ${x.path} is not an executable file`, 'name a program (a regular file with an execute bit), e.g. /usr/bin/nano');
    if (!x.elf) throw new UserError(`extra command ${x.path} is not an ELF program (a script or a library?)`, 'add the program that runs it instead (its #! interpreter), or drop it');
  }
  const setid = facts.extraBinaries.filter((x) => x.setid);
  if (setid.length > 0 && !wide.allowSetuid) {
    throw new UserError(
      `${setid.map((x) => x.path).join(', ')} ${setid.length === 1 ? 'is' : 'are'} setuid/setgid: inside a jail that is a way to root`,
      'drop it, or set allowSetuid: true if you are sure (it is copied with its bit, and check reports it)',
    );
  }
  for (const b of wide.binds) {
    const src = facts.bindSources[b.source];
    if (!src?.state) throw new UserError(`bind source ${b.source} does not exist`, 'create it first, or fix the path');
    if (src.state.kind !== 'dir') throw new UserError(`bind source ${b.source} is not a directory`, 'bind a directory');
    checkBind(b, a.jail, src.real, src.fsType, path.resolve(facts.stateDir));
  }
  const existing = facts.passwd.find((p) => p.name === a.user);
  if (existing) {
    checkExistingHome(existing);
    const refused = privilegedGroupsOf(existing, facts.groups).filter((g) => !a.allowPrivilegedGroups?.includes(g.name));
    if (refused.length > 0) {
      throw new UserError(
        `${a.user} is in ${refused.map((g) => `${g.name} (${g.why})`).join(', ')}`,
        `take ${a.user} out first (${refused.map((g) => `gpasswd --delete ${a.user} ${g.name}`).join('; ')}), or add allowPrivilegedGroups: [${refused.map((g) => g.name).join(', ')}] to the answers if you are sure`,
      );
    }
  }
  const home = existing?.home ?? `/home/${a.user}`;
  if (a.writable && a.writable !== home && home.startsWith(`${a.writable}/`)) {
    throw new UserError(`writable ${a.writable} contains ${a.user}'s home ${home}, whose parents stay root's`, `name a dir inside the home or beside it, e.g. ${home}/upload`);
  }
  for (const [key, p] of [['writable', a.writable], ['groupDir', a.groupDir], ['startDir', a.startDir]] as const) {
    if (p && JAIL_SYSTEM_DIRS.has(p.split('/')[1]!)) throw new UserError(`${key} ${p} is under /${p.split('/')[1]}, which must stay root's inside the jail`, `choose a dir of its own, e.g. /upload`);
    if (p && key !== 'startDir' && wide.binds.some((b) => p === b.target || p.startsWith(`${b.target}/`) || b.target.startsWith(`${p}/`))) {
      throw new UserError(`${key} ${p} overlaps a bind mount`, 'keep the user\'s dirs and bind mounts apart');
    }
  }
  if (facts.syslog && isSyslogProblem(facts.syslog)) throw new UserError(`log: ${facts.syslog.message}`, facts.syslog.hint);
}

/**
 * The jail's own etc/passwd and etc/group: root plus exactly the jail's users (all users of a
 * shared jail), their primary groups and the groups they share, so `ls -l` shows names.
 */
export function jailNames(a: Answers, user: PlannedUser, facts: Pick<HostFacts, 'passwd' | 'groups' | 'sharers'>): { passwdText: string; groupText: string } {
  const rootEntry = facts.passwd.find((p) => p.uid === 0);
  const users: PasswdEntry[] = [
    user,
    ...facts.sharers.map((x) => x.account ?? { name: x.record.user, uid: x.record.uid, gid: x.record.gid, gecos: 'jailwizard jail', home: `/home/${x.record.user}`, shell: '/usr/sbin/nologin' }),
  ].sort((x, y) => x.uid - y.uid);
  const passwdText = [`root:x:0:0:${rootEntry?.gecos ?? 'root'}:/root:${rootEntry?.shell ?? '/bin/sh'}`, ...users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}`)].join('\n') + '\n';
  const lines = ['root:x:0:'];
  const seen = new Set<number>([0]);
  for (const u of users) {
    if (seen.has(u.gid)) continue;
    seen.add(u.gid);
    lines.push(`${facts.groups.find((g) => g.gid === u.gid)?.name ?? u.name}:x:${u.gid}:`);
  }
  // Supplementary groups asked for in the answers (this user's and the sharers'), with the jail's members.
  const asked = [...new Set([a.group, ...facts.sharers.map((x) => x.record.answers.group)].filter((g): g is string => !!g))].sort();
  for (const name of asked) {
    const g = facts.groups.find((x) => x.name === name);
    if (!g || seen.has(g.gid)) continue;
    seen.add(g.gid);
    const members = users.filter((u) => g.members.includes(u.name) || (u.name === a.user && a.group === name) || facts.sharers.some((x) => x.record.user === u.name && x.record.answers.group === name));
    lines.push(`${g.name}:x:${g.gid}:${members.map((u) => u.name).join(',')}`);
  }
  return { passwdText, groupText: `${lines.join('\n')}\n` };
}

export function planApply(a: Answers, facts: HostFacts, opts: PlanOptions): Plan {
  const wide = jailWide(a, facts.sharers.map((x) => x.record.answers));
  checkHost(a, facts, wide);
  const steps: Step[] = [];
  const notes: string[] = platformNotes(a, facts.platform);
  const user = plannedUser(a, facts);
  checkSharedJailPaths(
    { answers: a, home: user.home },
    facts.sharers.map((x) => ({ answers: x.record.answers, home: x.account?.home ?? `/home/${x.record.user}` })),
  );
  const jail = a.jail;

  // 1. Packages. Their files can only be planned once they exist, so the plan stops here.
  if (facts.packages.missing.length > 0) {
    const mgr = facts.packages.manager;
    const install = installArgv(mgr, facts.packages.missing.map((m) => m.pkg));
    if (!a.installMissing) {
      throw new UserError(
        `${facts.packages.missing.map((m) => m.binary).join(', ')} not installed on this host`,
        `install it first (\`${install.join(' ')}\`), or set installMissing: true in the answers file`,
      );
    }
    steps.push({
      id: 'packages',
      title: `Install ${facts.packages.installs.join(', ')} with ${mgr ?? 'the package manager'}`,
      why: [`${facts.packages.missing.map((m) => m.binary).join(', ')} is missing; undo removes only the packages this step installs.`],
      actions: [runAction(install, [removeArgv(mgr, facts.packages.installs)])],
    });
    notes.push('The files to copy from the new packages are planned after they are installed, and shown before they are copied.');
    return { command: 'apply', user: a.user, steps, notes };
  }

  // 2. The account.
  const userActions: Action[] = [];
  if (!user.exists) {
    userActions.push(
      runAction(
        // No subordinate ids: a jailed user runs no containers, and /etc/subuid and /etc/subgid
        // stay untouched (userdel would rewrite them in its own order on a host with history).
        ['useradd', '--uid', String(user.uid), '--user-group', '--no-create-home', '--home-dir', user.home, '--shell', user.shell, '--password', '*', '--comment', user.gecos, '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', user.name],
        [['userdel', user.name]],
        { kind: 'user-absent', user: user.name },
        { kind: 'user-present', user: user.name },
      ),
    );
  } else {
    const old = facts.passwd.find((p) => p.name === a.user)!;
    if (old.shell !== user.shell) userActions.push(runAction(['usermod', '--shell', user.shell, user.name], [['usermod', '--shell', old.shell, user.name]]));
    const field = facts.shadow?.field;
    if (field !== undefined && LOCKED_WITHOUT_PASSWORD.has(field)) {
      const undo = [['usermod', '--password', field, user.name]];
      if (facts.shadow?.lastChange) undo.push(['chage', '--lastday', facts.shadow.lastChange, user.name]);
      userActions.push(runAction(['usermod', '--password', '*', user.name], undo));
    }
  }
  if (a.group && !facts.groups.find((g) => g.name === a.group)?.members.includes(user.name)) {
    userActions.push(runAction(['usermod', '--append', '--groups', a.group, user.name], [['gpasswd', '--delete', user.name, a.group]]));
  }
  if (userActions.length > 0) {
    steps.push({
      id: 'user',
      title: user.exists ? `Adopt the existing user ${user.name}` : `Create user ${user.name} (uid ${user.uid})`,
      why: [
        `Login shell ${user.shell}${user.shell === '/usr/sbin/nologin' ? ': sftp-only users never run a shell' : ', run inside the jail by sshd'}.`,
        'Password field `*`, not `!`: key logins work, passwords never do, even with UsePAM no.',
      ],
      actions: userActions,
    });
  }

  // 3. Keys, outside the jail and root-owned so the user cannot change them.
  const keysPath = path.join(AUTHORIZED_KEYS_DIR, user.name);
  const keysText = a.authorizedKeys.map((k, i) => `${keyLine(k, a.allowFrom, i)}\n`).join('');
  const keyActions = [
    ...sharedDir(ensureDir(AUTHORIZED_KEYS_DIR, facts.keysDir, 0o755, 0, 0)),
    ...ensureFile(keysPath, facts.keysFile, { kind: 'write', path: keysPath, content: keysText, mode: 0o644, ...ROOT }, opts.sha256(keysText)),
  ];
  if (keyActions.length > 0) {
    steps.push({
      id: 'keys',
      title: `Authorize ${a.authorizedKeys.length} key${a.authorizedKeys.length === 1 ? '' : 's'} in ${keysPath}`,
      why: [
        'sshd reads AuthorizedKeysFile before the chroot, as a host path; root-owned, the user cannot add keys or loosen them.',
        ...(a.authorizedKeys.length === 0 ? ['No keys yet: nobody can log in until you add one to this file.'] : []),
        ...(a.allowFrom ? [`Each key carries from="${a.allowFrom.join(',')}": even a stolen key works only from there.`] : []),
      ],
      actions: keyActions,
    });
  }

  // 4. The jail root and any missing parents: root-owned, no group/other write.
  const chain: Action[] = [];
  for (const anc of facts.ancestors) if (!anc.state) chain.push(...sharedDir(ensureDir(anc.path, undefined, 0o755, 0, 0)));
  chain.push(...ensureDir(jail, facts.jail[jail], 0o755, 0, 0));
  if (chain.length > 0) {
    steps.push({ id: 'jail', title: `Create the jail ${jail}`, why: [base.why[0]!], actions: chain });
  }

  // 5. Base layout: etc, dev, home, and the dirs the options ask for.
  const planned = new Set<string>([jail]);
  const baseActions: Action[] = [];
  const grant = gateGrant(a, facts);
  const dir = (rel: string, mode = 0o755, uid = 0, gid = 0): void => {
    const p = path.join(jail, rel);
    if (planned.has(p)) return;
    planned.add(p);
    baseActions.push(...ensureDir(p, facts.jail[p], mode, uid, gid));
  };
  const file = (rel: string, content: string): void => {
    const p = path.join(jail, rel);
    planned.add(p);
    baseActions.push(...ensureFile(p, facts.jail[p], { kind: 'write', path: p, content, mode: 0o644, ...ROOT }, opts.sha256(content)));
  };
  dir('etc');
  const { passwdText, groupText } = jailNames(a, user, facts);
  file('etc/passwd', passwdText);
  file('etc/group', groupText);
  dir('dev');
  for (const d of DEVICE_NODES) {
    const p = path.join(jail, 'dev', d.name);
    planned.add(p);
    const have = facts.jail[p];
    if (sameState(have, { kind: 'char', major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0 })) continue;
    if (have) throw new UserError(`${p} exists but is not the ${d.name} device (${d.major}:${d.minor})`, `remove it; jailwizard then makes it`);
    baseActions.push({ effect: { kind: 'mknod', path: p, major: d.major, minor: d.minor, mode: 0o666 }, undo: [{ kind: 'unlink', path: p }], pre: { kind: 'absent', path: p } });
  }
  // Parents are root-owned like the rest; only the user's own dir (the home, or `writable`) is theirs.
  const owned = a.writable ?? user.home;
  const ownDirs = (p: string): void => {
    const parts = p.split('/').filter(Boolean);
    parts.forEach((_, i) => {
      const rel = parts.slice(0, i + 1).join('/');
      if (i < parts.length - 1) dir(rel);
      else if (`/${rel}` === owned) dir(rel, 0o750, user.uid, user.gid);
      else dir(rel);
    });
  };
  ownDirs(user.home);
  if (a.writable) ownDirs(a.writable);
  if (a.groupDir) {
    const g = facts.groups.find((x) => x.name === a.group)!;
    const parts = a.groupDir.split('/').filter(Boolean);
    parts.slice(0, -1).forEach((_, i) => dir(parts.slice(0, i + 1).join('/')));
    // setgid: files made inside belong to the group; 2770: members write, others see nothing.
    dir(parts.join('/'), 0o2770, 0, g.gid);
  }
  // A start dir nothing else makes: root's and readable, unless it is inside host data.
  if (a.startDir && !wide.binds.some((b) => a.startDir === b.target || a.startDir!.startsWith(`${b.target}/`))) {
    const parts = a.startDir.split('/').filter(Boolean);
    parts.forEach((_, i) => dir(parts.slice(0, i + 1).join('/')));
  }
  if (wide.extras.includes('tmp')) dir('tmp', 0o1777);
  if (grant) {
    ['usr', 'usr/lib', path.dirname(GATE_PATH).slice(1)].forEach((d) => dir(d));
    const p = path.join(jail, GATE_PATH);
    const text = gateScript();
    planned.add(p);
    baseActions.push(...ensureFile(p, facts.jail[p], { kind: 'write', path: p, content: text, mode: 0o755, ...ROOT }, opts.sha256(text)));
  }
  if (wide.extras.includes('profile')) file('etc/profile', PROFILE_TEXT);
  if (wide.extras.includes('nss')) file('etc/nsswitch.conf', NSSWITCH_TEXT);
  for (const b of wide.binds) {
    const parts = b.target.split('/').filter(Boolean);
    parts.forEach((_, i) => dir(parts.slice(0, i + 1).join('/')));
  }
  if (baseActions.length > 0) {
    const why = base.why.slice(1, 4);
    if (a.writable) why.push(`${a.writable} is the one dir ${user.name} owns (0750); the home stays root's.`);
    if (a.groupDir) why.push(`${a.groupDir} is shared by group ${a.group}: setgid and group-writable (2770), so every file made there belongs to the group.`);
    if (facts.sharers.length > 0) why.push(`A shared jail: etc/passwd lists root and its ${facts.sharers.length + 1} users, each with /home/<user>.`);
    if (grant) why.push(`${GATE_PATH}: the gate sshd runs for ${user.name} (ForceCommand). It runs only ${describeGrant(grant)}, and refuses everything else: another user's shell, an uploaded program, the jail's ld.so.`);
    for (const e of wide.extras) if (e === 'tmp' || e === 'profile' || e === 'nss') why.push(EXTRA_WHY[e]);
    steps.push({
      id: 'base',
      title: 'Lay out etc, dev and the home dir inside the jail',
      why,
      actions: baseActions,
    });
  }

  // 6. Tool binaries with their ELF closure and symlink chains; then extra commands and extras.
  const manifest: JailRecord['manifest'] = [];
  const keepSetid = new Set(wide.allowSetuid ? facts.extraBinaries.filter((x) => x.setid).map((x) => x.real ?? x.path!) : []);
  // Links and files an earlier apply (this user's, or another user's of a shared jail) made:
  // those may be replaced when the host's layout changed; anything else in the way is refused.
  const ours = new Set(
    [facts.record, ...facts.sharers.map((x) => x.record)].flatMap((r) => (r?.actions ?? []).flatMap((x) => (x.effect.kind === 'copy' || x.effect.kind === 'symlink' ? [x.effect.path] : []))),
  );
  for (const c of facts.closures) {
    const copied = copyIntoJail(c.entries, jail, facts.jail, planned, keepSetid, ours);
    manifest.push(...copied.manifest);
    if (copied.actions.length === 0) continue;
    const why =
      c.name === 'extra' ? ['Extra commands asked for by name, each with exactly the libraries its ELF headers name.']
      : c.name === 'runtime' ? wide.extras.filter((e) => e === 'locale' || e === 'terminfo' || e === 'nss').map((e) => EXTRA_WHY[e])
      : toolWhy(recipeFor(c.name)!, a.tools);
    const what = c.name === 'runtime' ? `the ${c.title} extras` : c.binaries.map((b) => path.basename(b)).join(', ');
    steps.push({
      id: `copy-${c.name}`,
      title: `Copy ${what} and what they need: ${copied.files} file${copied.files === 1 ? '' : 's'}, ${mb(copied.bytes)}`,
      why,
      actions: copied.actions,
    });
  }
  const kept = user.exists ? privilegedGroupsOf(user, facts.groups) : [];
  if (kept.length > 0) {
    notes.push(
      `WARNING: ${user.name} stays in ${kept.map((g) => `${g.name} (${g.why})`).join(', ')}, as allowPrivilegedGroups says. Inside the jail that reaches only what bind mounts and shared dirs show; any login outside it has the group's full power.`,
    );
  }
  if (keepSetid.size > 0) notes.push(`WARNING: ${[...keepSetid].join(', ')} keep${keepSetid.size === 1 ? 's' : ''} the setuid/setgid bit inside the jail (allowSetuid: true). A setuid program in a jail is a classic way out of it.`);

  // 6b. What an earlier apply copied that the jail no longer needs (after an upgrade
  // dropped a library, or a tool was removed from the answers).
  if (facts.record) {
    const stale: Action[] = [];
    const seen = new Set<string>();
    for (const a of [...facts.record.actions].reverse()) {
      const e = a.effect;
      if ((e.kind !== 'copy' && e.kind !== 'symlink') || !e.path.startsWith(`${jail}/`) || planned.has(e.path) || seen.has(e.path)) continue;
      seen.add(e.path);
      if (facts.jail[e.path]) stale.push({ effect: { kind: 'unlink', path: e.path }, undo: [{ kind: 'restore', path: e.path }], pre: { kind: 'none' } });
    }
    if (stale.length > 0) {
      steps.push({ id: 'stale', title: `Remove ${stale.length} file${stale.length === 1 ? '' : 's'} the jail no longer needs`, why: ['Fewer binaries in a jail are fewer to keep patched.'], actions: stale });
    }
  }

  // 6c. Bind mounts of host data: mounted now, and again at every boot.
  const mountActions: Action[] = [];
  for (const b of wide.binds) mountActions.push(...persistedBind(b, path.join(jail, b.target), jail, facts, opts));
  if (mountActions.length > 0) {
    steps.push({
      id: 'mounts',
      title: `Bind-mount ${wide.binds.map((b) => `${b.source} at ${b.target}`).join(', ')}`,
      why: [
        'Host data shown inside the jail with nodev,nosuid,noexec (and ro where asked): nothing in it can run or escalate.',
        facts.systemd ? 'Persisted as a systemd mount unit, so it is back after a reboot.' : 'Persisted as an /etc/fstab line with nofail, so it is back after a reboot and a missing source never stops the boot.',
        'Undo unmounts and forgets it; the host data itself is never touched.',
      ],
      actions: mountActions,
    });
  }

  // 6c'. The dirs the user can write, bound onto themselves noexec: nothing uploaded runs,
  // not even through the jail's ld.so (it cannot map an executable segment from there).
  const everyone = [a, ...facts.sharers.map((x) => x.record.answers)];
  const noexec = noexecDirs(a, user.home, everyone, wide.extras);
  const noexecActions = noexec.flatMap((d) => {
    const where = path.join(jail, d);
    return persistedBind({ source: where, target: d, readOnly: false }, where, jail, facts, opts);
  });
  if (noexecActions.length > 0) {
    steps.push({
      id: 'noexec',
      title: `Mount ${noexec.join(', ')} noexec,nosuid,nodev (each a bind onto itself)`,
      why: [
        `What ${user.name} can write cannot run: a program uploaded there is refused by the kernel, and so is the same program run through the jail's ld.so.`,
        a.noexec === undefined ? `On by default for a user without bash (noexec: false turns it off).` : `Asked for with noexec: true.`,
        facts.systemd ? 'Persisted as a systemd mount unit, like bind mounts.' : 'Persisted as an /etc/fstab line with nofail, like bind mounts.',
      ],
      actions: noexecActions,
    });
  }

  // 6d. Logging from inside the jail: a /dev/log socket that the syslog daemon listens on.
  let logFile: string | undefined;
  let syslogConfig: string | undefined;
  if (wide.log && facts.syslog && !isSyslogProblem(facts.syslog)) {
    const sl = facts.syslog;
    logFile = sl.authLog;
    syslogConfig = sl.config;
    const dropIn = path.join(sl.dropInDir, `jailwizard-${jailSlug(jail)}.conf`);
    const text = sl.kind === 'rsyslog' ? rsyslogDropInText(jail) : syslogNgDropInText(jail);
    const have = facts.syslogDropIn && facts.syslogDropIn.text !== undefined ? { ...facts.syslogDropIn, sha256: opts.sha256(facts.syslogDropIn.text) } : facts.syslogDropIn;
    const write = ensureFile(dropIn, have, { kind: 'write', path: dropIn, content: text, mode: 0o644, ...ROOT }, opts.sha256(text));
    if (write.length > 0) {
      // Undo in that order: the drop-in goes, the daemon lets go of the socket, the socket goes.
      write[0]!.undo.push(sl.apply, { kind: 'unlink', path: path.join(jail, 'dev/log') });
      steps.push({
        id: 'logging',
        title: `Let ${sl.kind} listen on ${jail}/dev/log`,
        why: [
          'internal-sftp runs inside the chroot, where the host\'s /dev/log does not exist: without a socket there its log lines are lost.',
          `A ${sl.kind} drop-in adds the socket; ${sl.kind === 'rsyslog' ? 'rsyslog reads new inputs only when it starts, so it is restarted (sshd is not)' : 'syslog-ng is reloaded'}.`,
          ...(logFile ? [`The lines land in ${logFile} (facility AUTH), where the connection test looks for its own upload.`] : []),
        ],
        actions: [
          ...write,
          runAction(sl.validate, []),
          { effect: sl.apply, undo: [], pre: { kind: 'none' } },
        ],
      });
    } else logFile = facts.record?.logFile ?? logFile;
  }

  // 7. sshd: the drop-in, validated and proved before sshd is reloaded.
  const s = facts.sshd;
  const settings = matchSettings(a, grant);
  const dropInText = renderDropIn(user.name, settings, a.allowFrom ? deniedAddressPattern(a.allowFrom) : undefined);
  const sshdActions: Action[] = [];
  if (s.needsInclude) {
    if (!s.dropInDirExists) sshdActions.push(...sharedDir(ensureDir(s.dropInDir, undefined, 0o755, 0, 0)));
    const newMain = `${s.includeLine}\n${s.mainText}`;
    sshdActions.push({
      effect: { kind: 'write', path: s.mainConfig, content: newMain, mode: 0o644, ...ROOT, summary: `adds one line at the top: ${s.includeLine}` },
      undo: [{ kind: 'restore', path: s.mainConfig }],
      pre: { kind: 'sha256', path: s.mainConfig, sha256: s.mainSha256 },
    });
    notes.push(`${s.mainConfig} has no Include for drop-ins: jailwizard adds \`${s.includeLine}\` at the top (backed up; undone by remove).`);
  }
  const dropInHave = s.dropIn && s.dropIn.text !== undefined ? { ...s.dropIn, sha256: opts.sha256(s.dropIn.text) } : s.dropIn;
  sshdActions.push(...ensureFile(s.dropInPath, dropInHave, { kind: 'write', path: s.dropInPath, content: dropInText, mode: 0o644, ...ROOT }, opts.sha256(dropInText)));
  if (sshdActions.length > 0) {
    const addr = a.allowFrom ? allowedSample(a.allowFrom) : (s.listen[0]?.host ?? '127.0.0.1');
    const expect: Record<string, string> = { chrootdirectory: jail, disableforwarding: 'yes', authorizedkeysfile: '/etc/ssh/authorized_keys/%u' };
    if (settings.ForceCommand) expect.forcecommand = settings.ForceCommand;
    sshdActions.push({ effect: { kind: 'sshd-validate', config: s.mainConfig }, undo: [], pre: { kind: 'none' } });
    sshdActions.push({ effect: { kind: 'sshd-expect', config: s.mainConfig, user: user.name, addr, expect }, undo: [], pre: { kind: 'none' } });
    const denied = a.allowFrom && deniedSample(a.allowFrom);
    if (denied) {
      // And from anywhere else, sshd refuses the user outright.
      sshdActions.push({ effect: { kind: 'sshd-expect', config: s.mainConfig, user: user.name, addr: denied, expect: { denyusers: user.name } }, undo: [], pre: { kind: 'none' } });
    }
    const problem = reloadProblem(s.mode);
    if (problem) throw new UserError(problem.message, problem.hint);
    const note = modeNote(s.mode);
    if (note) notes.push(note);
    if (s.reload) {
      const reload = reloadEffect(s.reload, s.pidFile, s.listen);
      sshdActions.push({
        effect: reload,
        undo: [reload],
        pre: s.reload.pid && s.reload.argv[0] === 'kill' ? { kind: 'pid', pidFile: s.pidFile, pid: s.reload.pid } : { kind: 'none' },
        deferUndo: true,
      });
    }
    steps.push({
      id: 'sshd',
      title: `Add the sshd drop-in ${s.dropInPath}, check it, reload sshd`,
      why: [
        'A drop-in is one removable file: the Match block ends at the end of the file, and nothing else in sshd_config changes.',
        '`sshd -t` validates before any reload, and `sshd -T -C user=…` proves the jail applies to this user. Reload, never restart: open sessions stay.',
      ],
      actions: sshdActions,
    });
  }

  // 8. jailwizard's record of the jail, so test, update and remove know what was made.
  if (steps.length > 0) {
    const prev = facts.record;
    const actions = [...(prev?.actions ?? []), ...steps.flatMap((st) => st.actions)];
    const record: JailRecord = {
      version: 1,
      user: user.name,
      jail,
      tools: a.tools,
      answers: a,
      createdUser: prev ? prev.createdUser : !user.exists,
      uid: user.uid,
      gid: user.gid,
      sshdConfig: s.mainConfig,
      dropIn: s.dropInPath,
      addedInclude: prev?.addedInclude ?? (s.needsInclude ? s.includeLine : undefined),
      actions,
      manifest,
      ...(logFile ? { logFile } : {}),
      ...(syslogConfig ? { syslogConfig } : {}),
      ...(grant ? { gate: grant } : {}),
      appliedAt: opts.now,
    };
    const rp = recordPath(facts.stateDir, user.name);
    const content = `${JSON.stringify(record, null, 2)}\n`;
    steps.push({
      id: 'record',
      title: `Record the jail in ${rp}`,
      why: ['jailwizard remembers every change it made, so `jailwizard remove` can undo exactly those.'],
      actions: [
        {
          effect: { kind: 'write', path: rp, content, mode: 0o600, ...ROOT, summary: `jailwizard's record: ${actions.length} changes, ${manifest.length} files` },
          undo: [{ kind: 'restore', path: rp }],
          pre: { kind: 'none' },
        },
      ],
    });
  }
  return { command: 'apply', user: a.user, steps, notes };
}

/** A bind mount made now and again at every boot: a systemd mount unit where systemd runs, an fstab line otherwise; only what is missing. */
function persistedBind(b: BindMount, where: string, jail: string, facts: HostFacts, opts: PlanOptions): Action[] {
  const out: Action[] = [];
  if (!facts.mounts.includes(where)) {
    out.push({ effect: { kind: 'mount', source: b.source, target: where, options: bindOptions(b) }, undo: [{ kind: 'umount', target: where }], pre: { kind: 'dir', path: where } });
  }
  if (facts.systemd) {
    const unit = path.join('/etc/systemd/system', systemdUnitForPath(where));
    const text = mountUnitText(b, where, jail);
    const have = facts.mountUnits[unit];
    const write = ensureFile(unit, have, { kind: 'write', path: unit, content: text, mode: 0o644, ...ROOT }, opts.sha256(text));
    if (write.length > 0) {
      // The unit's undo reloads systemd after the file is gone, so systemd forgets it.
      write[0]!.undo.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
      out.push(...write, runAction(['systemctl', 'daemon-reload'], []), runAction(['systemctl', 'enable', path.basename(unit)], [['systemctl', 'disable', path.basename(unit)]]));
    }
  } else {
    const line = fstabLine(b, where);
    if (!facts.fstab.text.split('\n').includes(line)) {
      out.push({ effect: { kind: 'line-add', path: facts.fstab.path, line }, undo: [{ kind: 'line-remove', path: facts.fstab.path, line }], pre: { kind: 'none' } });
    }
  }
  return out;
}

/**
 * Actions that make host entries (dirs, symlinks, files with their sha256) exist at the same
 * paths inside the jail; only what is missing or different. `planned` is shared between
 * calls so an entry needed by several tools is copied once.
 */
export function copyIntoJail(
  entries: (HostEntry & { sha256?: string; mtimeMs?: number })[],
  jail: string,
  have: Record<string, FileState>,
  planned: Set<string>,
  keepSetid: ReadonlySet<string> = new Set(),
  ours: ReadonlySet<string> = new Set(),
): { actions: Action[]; files: number; bytes: number; manifest: JailRecord['manifest'] } {
  const actions: Action[] = [];
  const manifest: JailRecord['manifest'] = [];
  let files = 0;
  let bytes = 0;
  for (const e of entries) {
    if (e.path === '/') continue;
    const p = path.join(jail, e.path);
    if (e.kind === 'file') manifest.push({ path: p, from: e.path, sha256: e.sha256!, size: e.size, mtimeMs: e.mtimeMs });
    if (planned.has(p)) continue;
    planned.add(p);
    let cur: FileState | undefined = have[p];
    const wanted = e.kind === 'symlink' ? cur?.kind === 'symlink' && cur.target === e.target : cur?.kind === e.kind;
    if (cur && !wanted && ours.has(p) && cur.kind !== 'dir') {
      // The host's layout changed since jailwizard made this (a major upgrade moved the
      // loader or a library to a new name): the old link or file goes first, journaled.
      actions.push({ effect: { kind: 'unlink', path: p }, undo: [{ kind: 'restore', path: p }], pre: { kind: 'none' } });
      cur = undefined;
    }
    if (e.kind === 'dir') actions.push(...ensureDir(p, cur, e.mode & 0o755, 0, 0));
    else if (e.kind === 'symlink') {
      if (cur?.kind === 'symlink' && cur.target === e.target) continue;
      if (cur) throw new UserError(`${p} exists and is not the symlink to ${e.target} the jail needs`, 'remove it; jailwizard then makes it');
      actions.push({ effect: { kind: 'symlink', path: p, target: e.target! }, undo: [{ kind: 'unlink', path: p }], pre: { kind: 'absent', path: p } });
    } else {
      // Keep the host's mode, drop setuid/setgid (unless allowed for this file) and group/other write.
      const mode = e.mode & (keepSetid.has(e.path) ? 0o7755 : 0o1755);
      const copy = ensureFile(p, cur, { kind: 'copy', from: e.path, path: p, mode, ...ROOT, size: e.size, sha256: e.sha256! }, e.sha256!);
      if (copy.length > 0) {
        files++;
        bytes += e.size;
      }
      actions.push(...copy);
    }
  }
  return { actions, files, bytes, manifest };
}

export function installArgv(mgr: string | undefined, pkgs: string[]): string[] {
  switch (mgr) {
    case 'dnf':
      return ['dnf', 'install', '-y', ...pkgs];
    case 'pacman':
      return ['pacman', '-S', '--noconfirm', '--needed', ...pkgs];
    case 'apk':
      return ['apk', 'add', ...pkgs];
    default:
      return ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', ...pkgs];
  }
}

export function removeArgv(mgr: string | undefined, pkgs: string[]): string[] {
  switch (mgr) {
    case 'dnf':
      return ['dnf', 'remove', '-y', ...pkgs];
    case 'pacman':
      return ['pacman', '-R', '--noconfirm', ...pkgs];
    case 'apk':
      return ['apk', 'del', ...pkgs];
    default:
      return ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'remove', '-y', ...pkgs];
  }
}
