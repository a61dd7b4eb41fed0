// The planner: answers plus read-only host facts in, a Plan of Steps out. Pure: it reads
// nothing and runs nothing, so its output can be snapshot-tested and previewed exactly.
// Where the host already matches, it plans nothing (apply twice changes nothing).
import path from 'node:path';
import {
  RECIPES,
  SFTP_SUBSYSTEM,
  DEVICE_NODES,
  MATCH_SHELL_WITHOUT_BASH,
  MINIMAL_SHELL,
  base,
  baseMatch,
} from '../recipes/index.ts';
import type { Action, Effect, Plan, Precondition, Step } from './effects.ts';
import { UserError } from './errors.ts';
import type { FileState, HostFacts } from './host-facts.ts';
import type { HostEntry } from './ld-resolve.ts';
import { renderDropIn } from './sshd-config.ts';
import { recordPath, type JailRecord } from './state.ts';
import type { Answers, Tool } from './types.ts';
import type { PasswdEntry } from './validate.ts';
import { TOOLS } from './types.ts';

export const AUTHORIZED_KEYS_DIR = '/etc/ssh/authorized_keys';
const ROOT = { uid: 0, gid: 0 };

export interface BinaryGroup {
  name: Tool | 'shell';
  title: string;
  binaries: string[];
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

/** Which host binaries each chosen tool puts in the jail, in recipe order. */
export function toolBinaries(tools: readonly Tool[], sftpSubsystem: string | undefined): BinaryGroup[] {
  const shell = needsShell(tools);
  const groups: BinaryGroup[] = [];
  if (shell && !tools.includes('bash')) {
    groups.push({ name: 'shell', title: `${MINIMAL_SHELL} as the login shell`, binaries: [MINIMAL_SHELL] });
  }
  for (const t of TOOLS) {
    if (!tools.includes(t)) continue;
    // sftp without any shell is internal-sftp: no binaries at all.
    if (t === 'sftp' && !shell) continue;
    const bins = RECIPES[t].binaries.flatMap((b) => (b === SFTP_SUBSYSTEM ? (sftpSubsystem ? [sftpSubsystem] : []) : [b]));
    if (bins.length > 0) groups.push({ name: t, title: RECIPES[t].summary, binaries: bins });
  }
  return groups;
}

/** The settings of the user's Match block. */
export function matchSettings(tools: readonly Tool[], jail: string): Record<string, string> {
  const m = { ...baseMatch(jail) };
  if (!needsShell(tools)) Object.assign(m, RECIPES.sftp.matchWithoutShell);
  else if (!tools.includes('bash')) Object.assign(m, MATCH_SHELL_WITHOUT_BASH);
  return m;
}

const LOCKED_WITHOUT_PASSWORD = new Set(['!', '!!', '!*', '']);

/** The first uid ≥ UID_MIN that is free both as a uid and as a gid, so the user group matches. */
export function pickUid(facts: Pick<HostFacts, 'passwd' | 'groups' | 'loginDefs'>): number {
  const used = new Set([...facts.passwd.map((p) => p.uid), ...facts.groups.map((g) => g.gid)]);
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
    out.push(runAction(['chmod', mode.toString(8).padStart(4, '0'), p], [['chmod', have.mode.toString(8).padStart(4, '0'), p]], { kind: 'dir', path: p }));
  }
  return out;
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

/** Refusals that need host facts; each is bad input (exit 2) and nothing has changed. */
function checkHost(a: Answers, facts: HostFacts): void {
  for (const anc of facts.ancestors) {
    const s = anc.state;
    if (!s) continue;
    if (s.kind !== 'dir') throw new UserError(`chroot path component ${anc.path} is not a directory`, 'choose another jail path');
    if (s.uid !== 0 || (s.mode & 0o022) !== 0) {
      throw new UserError(
        `sshd would refuse the jail: ${anc.path} is owned by uid ${s.uid} with mode ${s.mode.toString(8).padStart(4, '0')}; every component must be root-owned and not group/other-writable`,
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
}

export function planApply(a: Answers, facts: HostFacts, opts: PlanOptions): Plan {
  checkHost(a, facts);
  const steps: Step[] = [];
  const notes: string[] = [];
  const user = plannedUser(a, facts);
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
        ['useradd', '--uid', String(user.uid), '--user-group', '--no-create-home', '--home-dir', user.home, '--shell', user.shell, '--password', '*', '--comment', user.gecos, user.name],
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
  const keysText = a.authorizedKeys.map((k) => `${k.trim()}\n`).join('');
  const keyActions = [
    ...ensureDir(AUTHORIZED_KEYS_DIR, facts.keysDir, 0o755, 0, 0),
    ...ensureFile(keysPath, facts.keysFile, { kind: 'write', path: keysPath, content: keysText, mode: 0o644, ...ROOT }, opts.sha256(keysText)),
  ];
  if (keyActions.length > 0) {
    steps.push({
      id: 'keys',
      title: `Authorize ${a.authorizedKeys.length} key${a.authorizedKeys.length === 1 ? '' : 's'} in ${keysPath}`,
      why: [
        'sshd reads AuthorizedKeysFile before the chroot, as a host path; root-owned, the user cannot add keys or loosen them.',
        ...(a.authorizedKeys.length === 0 ? ['No keys yet: nobody can log in until you add one to this file.'] : []),
      ],
      actions: keyActions,
    });
  }

  // 4. The jail root and any missing parents: root-owned, no group/other write.
  const chain: Action[] = [];
  for (const anc of facts.ancestors) if (!anc.state) chain.push(...ensureDir(anc.path, undefined, 0o755, 0, 0));
  chain.push(...ensureDir(jail, facts.jail[jail], 0o755, 0, 0));
  if (chain.length > 0) {
    steps.push({ id: 'jail', title: `Create the jail ${jail}`, why: [base.why[0]!], actions: chain });
  }

  // 5. Base layout: etc, dev, home.
  const planned = new Set<string>([jail]);
  const baseActions: Action[] = [];
  const dir = (rel: string, mode = 0o755, uid = 0, gid = 0): void => {
    const p = path.join(jail, rel);
    if (planned.has(p)) return;
    planned.add(p);
    baseActions.push(...ensureDir(p, facts.jail[p], mode, uid, gid));
  };
  dir('etc');
  const rootEntry = facts.passwd.find((p) => p.uid === 0);
  const passwdText = `root:x:0:0:${rootEntry?.gecos ?? 'root'}:/root:${rootEntry?.shell ?? '/bin/sh'}\n${user.name}:x:${user.uid}:${user.gid}:${user.gecos}:${user.home}:${user.shell}\n`;
  const userGroup = facts.groups.find((g) => g.gid === user.gid)?.name ?? user.name;
  const groupText = `root:x:0:\n${userGroup}:x:${user.gid}:\n`;
  for (const [rel, content] of [['etc/passwd', passwdText], ['etc/group', groupText]] as const) {
    const p = path.join(jail, rel);
    planned.add(p);
    baseActions.push(...ensureFile(p, facts.jail[p], { kind: 'write', path: p, content, mode: 0o644, ...ROOT }, opts.sha256(content)));
  }
  dir('dev');
  for (const d of DEVICE_NODES) {
    const p = path.join(jail, 'dev', d.name);
    planned.add(p);
    const have = facts.jail[p];
    if (sameState(have, { kind: 'char', major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0 })) continue;
    if (have) throw new UserError(`${p} exists but is not the ${d.name} device (${d.major}:${d.minor})`, `remove it; jailwizard then makes it`);
    baseActions.push({ effect: { kind: 'mknod', path: p, major: d.major, minor: d.minor, mode: 0o666 }, undo: [{ kind: 'unlink', path: p }], pre: { kind: 'absent', path: p } });
  }
  // The home's parents are root-owned like the rest; the home itself is the user's.
  const homeParts = user.home.split('/').filter(Boolean);
  homeParts.forEach((_, i) => {
    const rel = homeParts.slice(0, i + 1).join('/');
    if (i < homeParts.length - 1) dir(rel);
    else dir(rel, 0o750, user.uid, user.gid);
  });
  if (baseActions.length > 0) {
    steps.push({
      id: 'base',
      title: 'Lay out etc, dev and the home dir inside the jail',
      why: base.why.slice(1, 4),
      actions: baseActions,
    });
  }

  // 6. Tool binaries with their ELF closure and symlink chains.
  const manifest: JailRecord['manifest'] = [];
  for (const c of facts.closures) {
    const copied = copyIntoJail(c.entries, jail, facts.jail, planned);
    manifest.push(...copied.manifest);
    if (copied.actions.length === 0) continue;
    const recipe = c.name === 'shell' ? undefined : RECIPES[c.name];
    steps.push({
      id: `copy-${c.name}`,
      title: `Copy ${c.binaries.map((b) => path.basename(b)).join(', ')} and what they need: ${copied.files} file${copied.files === 1 ? '' : 's'}, ${mb(copied.bytes)}`,
      why: recipe ? recipe.why : RECIPES.rsync.why.slice(1),
      actions: copied.actions,
    });
  }

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

  // 7. sshd: the drop-in, validated and proved before sshd is reloaded.
  const s = facts.sshd;
  const settings = matchSettings(a.tools, jail);
  const dropInText = renderDropIn(user.name, settings);
  const sshdActions: Action[] = [];
  if (s.needsInclude) {
    if (!s.dropInDirExists) sshdActions.push(...ensureDir(s.dropInDir, undefined, 0o755, 0, 0));
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
    const addr = s.listen[0]?.host ?? '127.0.0.1';
    const expect: Record<string, string> = { chrootdirectory: jail, disableforwarding: 'yes', authorizedkeysfile: '/etc/ssh/authorized_keys/%u' };
    if (settings.ForceCommand) expect.forcecommand = settings.ForceCommand;
    sshdActions.push({ effect: { kind: 'sshd-validate', config: s.mainConfig }, undo: [], pre: { kind: 'none' } });
    sshdActions.push({ effect: { kind: 'sshd-expect', config: s.mainConfig, user: user.name, addr, expect }, undo: [], pre: { kind: 'none' } });
    if (s.reload) {
      sshdActions.push({
        effect: { kind: 'sshd-reload', argv: s.reload.argv, pidFile: s.pidFile, listen: s.listen },
        undo: [{ kind: 'sshd-reload', argv: s.reload.argv, pidFile: s.pidFile, listen: s.listen }],
        pre: s.reload.pid && s.reload.argv[0] === 'kill' ? { kind: 'pid', pidFile: s.pidFile, pid: s.reload.pid } : { kind: 'none' },
        deferUndo: true,
      });
    } else {
      notes.push('sshd is not running, so nothing is reloaded: the jail applies when sshd starts.');
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
    const cur = have[p];
    if (e.kind === 'dir') actions.push(...ensureDir(p, cur, e.mode & 0o755, 0, 0));
    else if (e.kind === 'symlink') {
      if (cur?.kind === 'symlink' && cur.target === e.target) continue;
      if (cur) throw new UserError(`${p} exists and is not the symlink to ${e.target} the jail needs`, 'remove it; jailwizard then makes it');
      actions.push({ effect: { kind: 'symlink', path: p, target: e.target! }, undo: [{ kind: 'unlink', path: p }], pre: { kind: 'absent', path: p } });
    } else {
      // Keep the host's mode, drop setuid/setgid and group/other write.
      const mode = e.mode & 0o1755;
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
