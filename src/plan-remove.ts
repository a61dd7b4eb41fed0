// The removal planner: jailwizard's record of a jail plus read-only facts in, a Plan that
// undoes exactly what apply made. Pure, like the apply planner.
import path from 'node:path';
import type { Action, Effect, Plan, Step } from './effects.ts';
import type { JailRecord } from './state.ts';
import { recordPath } from './state.ts';
import { AUTHORIZED_KEYS_DIR } from './plan.ts';

export interface RemoveFacts {
  stateDir: string;
  /** Paths that exist now (lstat), among those the record names. */
  existing: Set<string>;
  /** The user's home inside the jail holds files. */
  homeHasFiles: boolean;
  jailHome: string;
  /** Names in /etc/ssh/authorized_keys now. */
  keysDirEntries: string[];
  /** Other jailwizard drop-ins in the same dir (other users' jails). */
  otherDropIns: string[];
  mainText: string;
  mainSha256: string;
  userExists: boolean;
  /** The apt hook of `update --install-hook`, removed with the last jail. */
  aptHook?: string;
  otherJails: number;
  reload?: { argv: string[]; pid?: number };
  pidFile: string;
  listen: { host: string; port: number }[];
}

export interface RemoveOptions {
  keepUser: boolean;
  keepHome: boolean;
  now: string;
}

function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
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
  const jail: Action[] = [];
  const user: Action[] = [];

  const jailRoot = rec.jail;
  const keepHomePaths = (p: string): boolean => opts.keepHome && (inside(f.jailHome, p) || inside(p, f.jailHome));

  for (const a of [...rec.actions].reverse()) {
    const e = a.effect;
    const p = 'path' in e ? e.path : undefined;
    if (e.kind === 'sshd-validate' || e.kind === 'sshd-expect' || e.kind === 'sshd-reload') continue;
    if (p !== undefined) {
      if (seen.has(p)) continue;
      seen.add(p);
    }
    if (p === rec.sshdConfig) continue; // the Include line is handled below, by content
    if (e.kind === 'run') {
      if (e.argv[0] === 'chown' || e.argv[0] === 'chmod') {
        const target = e.argv[e.argv.length - 1]!;
        if (inside(target, jailRoot) && !keepHomePaths(target)) continue; // removed with the jail
        jail.push(...inverse(a, f));
      } else if (e.argv[0] === 'useradd') {
        if (!opts.keepUser && f.userExists) user.push({ ...inverse(a, f)[0]!, pre: { kind: 'user-present', user: rec.user } });
      } else {
        user.push(...inverse(a, f));
      }
      continue;
    }
    if (p === undefined) continue;
    if (p === rec.dropIn || (rec.addedInclude && p === path.dirname(rec.dropIn))) {
      if (p === path.dirname(rec.dropIn) && f.otherDropIns.length > 0) continue;
      sshd.push(...inverse(a, f));
    } else if (inside(p, AUTHORIZED_KEYS_DIR)) {
      if (p === AUTHORIZED_KEYS_DIR && f.keysDirEntries.some((n) => n !== rec.user)) continue;
      keys.push(...inverse(a, f));
    } else {
      if (keepHomePaths(p)) continue;
      if (p === f.jailHome && f.homeHasFiles) continue; // moved out below, not rmdir'ed
      jail.push(...inverse(a, f));
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
    if (f.reload) {
      const reload: Effect = { kind: 'sshd-reload', argv: f.reload.argv, pidFile: f.pidFile, listen: f.listen };
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

  if (f.homeHasFiles && !opts.keepHome) {
    const dest = path.join(f.stateDir, 'removed', `${rec.user}-${opts.now.replace(/[:.]/g, '-')}`);
    notes.push(`${rec.user}'s files are moved to ${dest}, not deleted. Delete them when no longer needed.`);
    steps.push({
      id: 'home',
      title: `Move ${rec.user}'s files out of the jail to ${dest}`,
      why: ['jailwizard never deletes a user\'s own files.'],
      actions: [
        { effect: { kind: 'move', from: f.jailHome, to: dest }, undo: [{ kind: 'move', from: dest, to: f.jailHome }], pre: { kind: 'dir', path: f.jailHome } },
      ],
    });
  }
  if (jail.length > 0) {
    steps.push({
      id: 'jail',
      title: opts.keepHome ? `Remove the jail ${jailRoot}, keeping ${f.jailHome}` : `Remove the jail ${jailRoot}`,
      why: ['Only what jailwizard made is removed, deepest first.'],
      actions: jail,
    });
  }
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
  const rp = recordPath(f.stateDir, rec.user);
  steps.push({
    id: 'record',
    title: `Forget the jail (${rp})`,
    why: [],
    actions: [{ effect: { kind: 'unlink', path: rp }, undo: [{ kind: 'restore', path: rp }], pre: { kind: 'none' } }],
  });
  return { command: 'remove', user: rec.user, steps, notes };
}
