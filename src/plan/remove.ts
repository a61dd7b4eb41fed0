// The removal planner: jailwizard's record of a jail plus read-only facts in, a Plan that
// undoes exactly what apply made. Pure, like the apply planner.
import path from 'node:path';
import type { Action, Effect, Plan, Step } from '../model/effects.ts';
import type { JailRecord, RetiredUid } from '../host/state.ts';
import { quarantineDir, recordPath, retiredUidsPath } from '../host/state.ts';
import { AUTHORIZED_KEYS_DIR, withRoles } from '../model/action-role.ts';
import { inside, systemdUnitForPath } from './options.ts';
import { UserError } from '../model/errors.ts';
import { reloadEffect, type SshdReload } from '../host/sshd-service.ts';

export interface RemoveFacts {
  stateDir: string;
  /** Paths that exist now (lstat), among those the record names. */
  existing: Set<string>;
  /** The user's home inside the jail holds files. */
  homeHasFiles: boolean;
  jailHome: string;
  /**
   * The names in each dir outside the jail that this jail's record made (its parents, the
   * keys dir, the drop-in dir), now: such a dir goes only when nothing else is in it.
   */
  dirEntries: Record<string, string[]>;
  /** Other jailwizard drop-ins in the same dir (other users' jails). */
  otherDropIns: string[];
  mainText: string;
  mainSha256: string;
  userExists: boolean;
  /** The apt hook of `update --install-hook`, removed with the last jail. */
  aptHook?: string;
  otherJails: number;
  reload?: SshdReload;
  /** Why a change cannot reach sshd without dropping sessions (socket activation without KillMode=process). */
  reloadProblem?: { message: string; hint: string };
  pidFile: string;
  listen: { host: string; port: number }[];
  /** The user's own dirs besides the home (answers.writable), and whether they hold files. */
  ownedDirs: { path: string; hasFiles: boolean }[];
  /**
   * Dirs of the jail that users write into: the group dir and /tmp (moved out with the last
   * user when they hold files, never deleted). userEntries: how many of the top-level entries
   * are this user's (while others stay, those go to the quarantine beside the jail).
   */
  sharedDirs: { path: string; hasFiles: boolean; userEntries?: number }[];
  /** Where the user's own dirs are moved: the state dir's removed/, or beside the jail when that is another filesystem. */
  removedDir?: string;
  /** The state dir's list of retired uids now (remove adds this user's when it deletes the account). */
  retiredUids?: { list: RetiredUid[]; sha256?: string };
  /**
   * Other users of a shared jail. When there are any, what the jail shares (binaries, dirs,
   * mounts, logging) stays and is handed over to the first one's record; etc/passwd and
   * etc/group are rewritten without this user.
   */
  sharers: { record: JailRecord; sha256: string }[];
  /**
   * Every other jail jailwizard manages (sharers included), with its record's sha256: the one
   * that still needs a dir this jail made takes it over, so the last one out removes it.
   */
  others: Heir[];
  /** The last `check` report of this user (`<state-dir>/checks/<user>.json`), when there is one. */
  checkFile?: string;
  /** etc/passwd and etc/group of the jail without this user, with their current sha256. */
  jailNames?: { passwd: { text: string; sha256?: string }; group: { text: string; sha256?: string } };
}

/** Another jail's record, which can take over what this one made. */
export interface Heir {
  record: JailRecord;
  sha256: string;
}

export interface RemoveOptions {
  keepUser: boolean;
  keepHome: boolean;
  now: string;
}


/** The inverse of one applied action, or nothing when there is nothing left to undo. */
function inverse(a: Action, f: RemoveFacts): Action[] {
  const e = a.effect;
  switch (e.kind) {
    case 'mkdir':
      return f.existing.has(e.path) ? [{ effect: { kind: 'rmdir', path: e.path }, undo: [e], pre: { kind: 'dir', path: e.path } }] : [];
    case 'copy':
    case 'write':
    case 'symlink':
    case 'mknod':
      return f.existing.has(e.path) ? [{ effect: { kind: 'unlink', path: e.path }, undo: [{ kind: 'restore', path: e.path }], pre: { kind: 'none' } }] : [];
    case 'run':
      // useradd → userdel, usermod → usermod back: the recorded undo, with the original as its undo.
      return a.undo.map((u) => ({ effect: u, undo: [e], pre: { kind: 'none' } }) as Action);
    default:
      return [];
  }
}

export function planRemove(rec: JailRecord, f: RemoveFacts, opts: RemoveOptions): Plan {
  const steps: Step[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const sshd: Action[] = [];
  const keys: Action[] = [];
  const logging: Action[] = [];
  const mounts: Action[] = [];
  const jail: Action[] = [];
  const user: Action[] = [];
  /** What other jails still use, by the user whose record takes it over. */
  const handedOver = new Map<string, { heir: Heir; actions: Action[] }>();
  const handOver = (heir: Heir, a: Action): void => {
    const h = handedOver.get(heir.record.user) ?? { heir, actions: [] };
    h.actions.push(a);
    handedOver.set(heir.record.user, h);
  };
  const shared = f.sharers.length > 0;

  const jailRoot = rec.jail;
  const socket = path.join(jailRoot, 'dev/log');
  const ownDirs = [{ path: f.jailHome, hasFiles: f.homeHasFiles }, ...f.ownedDirs];
  const isOwn = (p: string): boolean => ownDirs.some((d) => inside(p, d.path));
  /** Mount units of the user's own dirs (their noexec bind). */
  const ownUnits = new Set(ownDirs.map((d) => systemdUnitForPath(d.path)));
  const keepHomePaths = (p: string): boolean => opts.keepHome && ownDirs.some((d) => inside(d.path, p) || inside(p, d.path));
  const movedOut = (p: string): boolean => ownDirs.some((d) => d.path === p && d.hasFiles) || (!shared && f.sharedDirs.some((d) => d.path === p && d.hasFiles));
  const jailNamesFile = (p: string): boolean => p === path.join(jailRoot, 'etc/passwd') || p === path.join(jailRoot, 'etc/group');

  // Records are read with roles (src/host/state.ts); one made some other way gets them here.
  for (const a of [...withRoles(rec).actions].reverse()) {
    const e = a.effect;
    const role = a.role;
    const p = 'path' in e ? e.path : e.kind === 'mount' || e.kind === 'umount' ? e.target : undefined;
    // Checks and reloads leave nothing to undo.
    if (e.kind === 'sshd-validate' || e.kind === 'sshd-expect' || e.kind === 'sshd-reload' || e.kind === 'daemon-restart') continue;
    // One inverse per path, from its latest action; a mount point is a dir as well, so mounts count apart.
    const key = e.kind === 'mount' ? `mount:${p}` : e.kind === 'line-add' ? `line:${e.path}:${e.line}` : p;
    if (key !== undefined) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    if (p === rec.sshdConfig) continue; // the Include line is handled below, by content
    // Jail-wide things (mounts, logging, the jail's dirs and files) stay while other users share the jail.
    const jailWide = (): boolean => {
      if (shared) handOver(f.sharers[0]!, a);
      return shared;
    };
    if (e.kind === 'mkdir' && !inside(e.path, jailRoot)) {
      // A dir outside the jail that others may use too: the jail's parents, the keys dir, the drop-in dir.
      if (keepHomePaths(e.path) || !f.existing.has(e.path)) continue;
      const fate = outsideDirFate(e.path, rec, f, [...sshd, ...keys, ...jail]);
      if (fate.heir) handOver(fate.heir, a);
      else if (fate.stays.length > 0) notes.push(`${e.path} stays: it holds ${namesList(fate.stays)}, which jailwizard did not put there.`);
      else (role === 'sshd' ? sshd : role === 'keys' ? keys : jail).push({ effect: { kind: 'rmdir', path: e.path, ifEmpty: true }, undo: [e], pre: { kind: 'dir', path: e.path } });
      continue;
    }
    switch (role) {
      case 'account':
        if (!opts.keepUser && f.userExists) user.push(...inverse(a, f).map((x): Action => ({ ...x, pre: { kind: 'user-present', user: rec.user } })));
        break;
      case 'user':
        user.push(...inverse(a, f));
        break;
      case 'package':
        // A package install is the jail's, not the user's: it stays while others share the jail.
        if (a.undo.length > 0 && !jailWide()) user.push(...inverse(a, f));
        break;
      case 'sshd':
        if (p === rec.dropIn) sshd.push(...inverse(a, f));
        break;
      case 'logging':
        // The syslog drop-in: it goes, the daemon lets go of the socket, the socket goes.
        // Its check and restart (runs without an undo) leave nothing to undo.
        if (e.kind === 'run' || p === undefined || jailWide() || !f.existing.has(p)) break;
        logging.push(
          { effect: { kind: 'unlink', path: p }, undo: [{ kind: 'restore', path: p }, a.undo.find((u) => u.kind === 'run' || u.kind === 'daemon-restart')!], pre: { kind: 'none' } },
          { effect: a.undo.find((u) => u.kind === 'run' || u.kind === 'daemon-restart')!, undo: [], pre: { kind: 'none' } },
          { effect: { kind: 'unlink', path: socket }, undo: [], pre: { kind: 'none' } },
        );
        break;
      case 'mount': {
        // The noexec bind of the user's own dirs is the user's, shared jail or not: it goes before the dirs move out.
        const own = e.kind === 'mount' ? isOwn(e.target) : e.kind === 'line-add' ? isOwn(e.line.split(' ')[1] ?? '') : ownUnits.has(e.kind === 'run' ? (e.argv[2] ?? '') : path.basename(p ?? ''));
        if (own || !jailWide()) {
          if (e.kind === 'mount') mounts.push({ effect: { kind: 'umount', target: e.target }, undo: [e], pre: { kind: 'none' } });
          else if (e.kind === 'line-add') mounts.push({ effect: { kind: 'line-remove', path: e.path, line: e.line }, undo: [e], pre: { kind: 'none' } });
          else mounts.push(...inverse(a, f));
        }
        break;
      }
      case 'keys':
      case 'jail':
      case 'copy':
      case 'record':
        if (e.kind === 'run') {
          // An owner or mode change of a dir (its path is the precondition's): inside the jail it goes with the jail.
          const target = a.pre.kind === 'dir' ? a.pre.path : '';
          if (inside(target, jailRoot) && !keepHomePaths(target)) break;
          jail.push(...inverse(a, f));
        } else if (p === undefined) break;
        else if (role === 'keys') keys.push(...inverse(a, f));
        else if (shared && jailNamesFile(p)) handOver(f.sharers[0]!, a);
        else {
          if (keepHomePaths(p) || movedOut(p)) break; // kept, or moved out below rather than rmdir'ed
          if (shared && !isOwn(p)) {
            handOver(f.sharers[0]!, a);
            break;
          }
          jail.push(...inverse(a, f));
        }
        break;
    }
  }
  // Several users: etc/passwd and etc/group of the jail lose exactly this user.
  if (shared && f.jailNames) {
    for (const [rel, x] of [['etc/passwd', f.jailNames.passwd], ['etc/group', f.jailNames.group]] as const) {
      const p = path.join(jailRoot, rel);
      jail.push({
        effect: { kind: 'write', path: p, content: x.text, mode: 0o644, uid: 0, gid: 0 },
        undo: [{ kind: 'restore', path: p }],
        pre: x.sha256 ? { kind: 'sha256', path: p, sha256: x.sha256 } : { kind: 'none' },
      });
    }
  }

  // The Include line jailwizard added, removed by content once no jailwizard drop-in needs it.
  if (rec.addedInclude && f.otherDropIns.length === 0) {
    const lines = f.mainText.split('\n');
    const i = lines.indexOf(rec.addedInclude);
    if (i >= 0) {
      lines.splice(i, 1);
      sshd.push({
        effect: { kind: 'write', path: rec.sshdConfig, content: lines.join('\n'), mode: 0o644, uid: 0, gid: 0, summary: `removes the line jailwizard added: ${rec.addedInclude}` },
        undo: [{ kind: 'restore', path: rec.sshdConfig }],
        pre: { kind: 'sha256', path: rec.sshdConfig, sha256: f.mainSha256 },
      });
    }
  }
  if (sshd.length > 0) {
    sshd.push({ effect: { kind: 'sshd-validate', config: rec.sshdConfig }, undo: [], pre: { kind: 'none' } });
    if (f.reloadProblem) throw new UserError(f.reloadProblem.message, f.reloadProblem.hint);
    if (f.reload) {
      const reload: Effect = reloadEffect(f.reload, f.pidFile, f.listen);
      sshd.push({ effect: reload, undo: [reload], pre: { kind: 'none' }, deferUndo: true });
    }
    steps.push({
      id: 'sshd',
      title: `Remove the sshd drop-in ${rec.dropIn} and reload sshd`,
      why: ['First, so that sshd stops sending the user into a jail that is about to go.'],
      actions: sshd,
    });
  }
  if (keys.length > 0) steps.push({ id: 'keys', title: `Remove ${rec.user}'s authorized keys`, why: [], actions: keys });

  if (mounts.length > 0) {
    steps.push({
      id: 'mounts',
      title: 'Unmount the bind mounts and forget them at boot',
      why: ['Before the jail goes: an unmounted dir is empty again, and the host data itself is never touched.'],
      actions: mounts,
    });
  }
  if (logging.length > 0) {
    steps.push({ id: 'logging', title: `Remove the /dev/log socket of ${jailRoot}`, why: ['The syslog daemon stops listening inside the jail before the jail goes.'], actions: logging });
  }
  const stamp = opts.now.replace(/[:.]/g, '-');
  const removedDir = f.removedDir ?? path.join(f.stateDir, 'removed');
  const quarantine = quarantineStep(rec, f, stamp);
  if (quarantine) {
    steps.push(quarantine.step);
    notes.push(quarantine.note);
  }
  const moves: Action[] = [];
  const moved: string[] = [];
  const moveOut = (from: string, dest: string): void => {
    moves.push({ effect: { kind: 'move', from, to: dest }, undo: [{ kind: 'move', from: dest, to: from }], pre: { kind: 'dir', path: from } });
    moved.push(dest);
  };
  if (!opts.keepHome) {
    ownDirs.forEach((d, i) => {
      // A writable dir inside the home moves with the home.
      if (!d.hasFiles || (i > 0 && inside(d.path, f.jailHome) && f.homeHasFiles)) return;
      moveOut(d.path, path.join(removedDir, i === 0 ? `${rec.user}-${stamp}` : `${rec.user}-${stamp}${d.path.slice(jailRoot.length).replace(/\//g, '-')}`));
    });
  }
  if (!shared) for (const d of f.sharedDirs) if (d.hasFiles) moveOut(d.path, path.join(removedDir, `${path.basename(jailRoot)}-${stamp}${d.path.slice(jailRoot.length).replace(/\//g, '-')}`));
  if (moves.length > 0) {
    notes.push(`${rec.user}'s files are moved to ${moved.join(' and ')}, not deleted. Delete them when no longer needed.`);
    steps.push({
      id: 'home',
      title: `Move ${rec.user}'s files out of the jail to ${moved.join(', ')}`,
      why: ['jailwizard never deletes a user\'s own files.'],
      actions: moves,
    });
  }
  if (jail.length > 0) {
    deepestFirst(jail);
    steps.push({
      id: 'jail',
      title: shared ? `Remove ${rec.user} from the shared jail ${jailRoot}` : opts.keepHome ? `Remove the jail ${jailRoot}, keeping ${f.jailHome}` : `Remove the jail ${jailRoot}`,
      why: ['Only what jailwizard made is removed, deepest first.'],
      actions: jail,
    });
  }
  // The deleted user's uid stays out of use, in the same step as the userdel.
  user.push(...retireUidActions(rec, f, opts));
  if (user.length > 0) {
    steps.push({
      id: 'user',
      title: rec.createdUser && !opts.keepUser ? `Delete user ${rec.user}` : `Give ${rec.user} back their old settings`,
      why: [],
      actions: user,
    });
  }
  if (opts.keepUser && rec.createdUser) notes.push(`User ${rec.user} is kept (--keep-user); its login shell and home still name paths inside the removed jail.`);
  if (f.aptHook && f.otherJails === 0) {
    steps.push({
      id: 'apt-hook',
      title: `Remove the apt hook ${f.aptHook} (this was the last jail)`,
      why: [],
      actions: [{ effect: { kind: 'unlink', path: f.aptHook }, undo: [{ kind: 'restore', path: f.aptHook }], pre: { kind: 'none' } }],
    });
  }
  // What others still use goes to another record, so the last one out removes it.
  const handover = handoverActions(rec, f, handedOver);
  if (handover.length > 0) {
    const jailHeir = f.sharers[0]?.record.user;
    const others = handover.map((h) => h.user).filter((u) => u !== jailHeir);
    const why: string[] = [];
    if (jailHeir && handover.some((h) => h.user === jailHeir)) {
      why.push(`${f.sharers.map((x) => x.record.user).join(', ')} still use${f.sharers.length === 1 ? 's' : ''} ${jailRoot}: its binaries, dirs, mounts and logging stay, and are removed with the last user.`);
    }
    if (others.length > 0) why.push('The dirs other jails still use (a parent of their jails, the authorized_keys dir, the drop-in dir) and the Include line jailwizard added stay for them, and go with the last one.');
    const records = (users: string[]): string => `${users.map((u) => `${u}'s`).join(' and ')} record${users.length === 1 ? '' : 's'}`;
    steps.push({
      id: 'handover',
      title: jailHeir ? `Hand the shared jail over to ${records([jailHeir])}${others.length > 0 ? `, and what other jails still use to ${records(others)}` : ''}` : `Hand what other jails still use over to ${records(others)}`,
      why,
      actions: handover.map((h) => h.action),
    });
  }
  const rp = recordPath(f.stateDir, rec.user);
  const forget = [rp, ...(f.checkFile ? [f.checkFile] : [])];
  steps.push({
    id: 'record',
    title: `Forget the jail (${forget.join(', ')})`,
    why: [],
    actions: forget.map((p): Action => ({ effect: { kind: 'unlink', path: p }, undo: [{ kind: 'restore', path: p }], pre: { kind: 'none' } })),
  });
  return { command: 'remove', user: rec.user, steps, notes };
}

// ---------------------------------------------------------------- dirs other jails share

/** The paths of a jail that live outside it: a dir that holds one of them is still needed. */
function outsidePaths(r: JailRecord): string[] {
  return [r.jail, r.dropIn, path.join(AUTHORIZED_KEYS_DIR, r.user)];
}

/**
 * What becomes of a dir outside the jail that this jail's apply made: another jail that
 * needs it takes it over (the first sharer when it does); else it goes if this plan empties
 * it; else it stays, for what else is in it (another jail jailwizard did not make, a file of
 * the admin's), and jailwizard forgets it.
 */
function outsideDirFate(p: string, rec: JailRecord, f: RemoveFacts, planned: Action[]): { heir?: Heir; stays: string[] } {
  const needs = (h: Heir): boolean => h.record.user !== rec.user && outsidePaths(h.record).some((x) => inside(x, p));
  const heir = f.sharers.find(needs) ?? f.others.find(needs);
  if (heir) return { heir, stays: [] };
  const removed = new Set(planned.flatMap((a) => (a.effect.kind === 'rmdir' || a.effect.kind === 'unlink' ? [a.effect.path] : [])));
  return { stays: (f.dirEntries[p] ?? []).filter((n) => !removed.has(path.join(p, n))) };
}

function namesList(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** The path an action works on (a run's last word), for ordering. */
function actionPath(a: Action): string {
  const e = a.effect;
  return 'path' in e ? e.path : e.kind === 'run' ? (e.argv[e.argv.length - 1] ?? '') : '';
}

/**
 * Deepest paths first, in place and otherwise in order: a file always goes before the dir
 * it is in, whatever order the record lists them in (a shared jail's record lists what it
 * took over from other users first, though their files live in its dirs and its in theirs).
 */
function deepestFirst(actions: Action[]): void {
  const depth = (a: Action): number => actionPath(a).split('/').length;
  actions.sort((x, y) => depth(y) - depth(x));
}

/**
 * The heirs' records rewritten with what they take over: a shared jail's parts and manifest
 * for the first sharer, the dirs each other jail needs, and the Include line for another
 * jail on the same sshd.
 */
function handoverActions(rec: JailRecord, f: RemoveFacts, handedOver: Map<string, { heir: Heir; actions: Action[] }>): { user: string; action: Action }[] {
  const includeHeir =
    rec.addedInclude !== undefined && f.otherDropIns.length > 0 && !f.others.some((o) => o.record.sshdConfig === rec.sshdConfig && o.record.addedInclude)
      ? f.others.find((o) => o.record.sshdConfig === rec.sshdConfig)
      : undefined;
  const byUser = new Map(handedOver);
  if (includeHeir && !byUser.has(includeHeir.record.user)) byUser.set(includeHeir.record.user, { heir: includeHeir, actions: [] });
  const jailHeir = f.sharers[0]?.record.user;
  return [...byUser.values()].map(({ heir, actions }) => {
    const hp = recordPath(f.stateDir, heir.record.user);
    const known = new Set(heir.record.manifest.map((m) => m.path));
    const passInclude = includeHeir?.record.user === heir.record.user;
    const merged: JailRecord = {
      ...heir.record,
      actions: [...[...actions].reverse(), ...heir.record.actions],
      manifest: heir.record.user === jailHeir ? [...heir.record.manifest, ...rec.manifest.filter((m) => !known.has(m.path))] : heir.record.manifest,
      ...(passInclude ? { addedInclude: rec.addedInclude } : {}),
    };
    return {
      user: heir.record.user,
      action: {
        effect: { kind: 'write', path: hp, content: `${JSON.stringify(merged, null, 2)}\n`, mode: 0o600, uid: 0, gid: 0, summary: `${heir.record.user}'s record takes over ${actions.length + (passInclude ? 1 : 0)} changes` },
        undo: [{ kind: 'restore', path: hp }],
        pre: { kind: 'sha256', path: hp, sha256: heir.sha256 },
      },
    };
  });
}

// ---------------------------------------------------------------- a removed user's files and uid

/**
 * The user's top-level entries in the dirs users share (a /tmp, the group dir) go to a
 * root-only quarantine beside the jail, by rename on the same filesystem: nothing is read,
 * copied or walked into, and the next user (even with this uid) cannot reach them.
 */
function quarantineStep(rec: JailRecord, f: RemoveFacts, stamp: string): { step: Step; note: string } | undefined {
  // Without other users the shared dirs go whole (moved out below), this user's entries with them.
  if (f.sharers.length === 0) return undefined;
  const dirs = f.sharedDirs.filter((d) => (d.userEntries ?? 0) > 0);
  if (dirs.length === 0) return undefined;
  const base = path.join(quarantineDir(rec.jail), `${rec.user}-${stamp}`);
  const actions: Action[] = dirs.map((d) => {
    const to = `${base}${d.path.slice(rec.jail.length).replace(/\//g, '-')}`;
    return { effect: { kind: 'quarantine', dir: d.path, uid: rec.uid, to }, undo: [{ kind: 'unquarantine', from: to, dir: d.path }], pre: { kind: 'dir', path: d.path } };
  });
  return {
    step: {
      id: 'quarantine',
      title: `Move ${rec.user}'s entries out of ${dirs.map((d) => d.path.slice(rec.jail.length)).join(' and ')}`,
      why: [
        `Files of ${rec.user} left where other users write would be theirs to read if a later user got uid ${rec.uid}.`,
        `Renamed, top level only, into ${quarantineDir(rec.jail)} (root's alone): nothing is read or copied.`,
      ],
      actions,
    },
    note: `${rec.user}'s entries in the jail's shared dirs are in ${base}-…, readable by root only. Delete them when no longer needed.`,
  };
}

/**
 * A deleted jail user's uid is never given to a new one while files of theirs may remain
 * (moved out, quarantined, in a bind-mounted host dir): it goes on the state dir's list.
 */
function retireUidActions(rec: JailRecord, f: RemoveFacts, opts: RemoveOptions): Action[] {
  if (!rec.createdUser || opts.keepUser) return [];
  const have = f.retiredUids?.list ?? [];
  if (have.some((x) => x.uid === rec.uid)) return [];
  const list: RetiredUid[] = [...have, { uid: rec.uid, user: rec.user, jail: rec.jail, removedAt: opts.now }];
  const p = retiredUidsPath(f.stateDir);
  return [
    {
      effect: { kind: 'write', path: p, content: `${JSON.stringify(list, null, 2)}\n`, mode: 0o600, uid: 0, gid: 0, summary: `uid ${rec.uid} (${rec.user}) is never given to a new jail user` },
      undo: [{ kind: 'restore', path: p }],
      pre: f.retiredUids?.sha256 ? { kind: 'sha256', path: p, sha256: f.retiredUids.sha256 } : { kind: 'absent', path: p },
    },
  ];
}
