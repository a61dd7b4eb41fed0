// The building blocks of apply's actions: each makes the host match one want, and plans
// nothing where it already does (apply twice changes nothing).
import path from 'node:path';
import { octal } from '../../model/mode.ts';
import type { Action, Effect, Precondition } from '../../model/effects.ts';
import { UserError } from '../../model/errors.ts';
import type { FileState } from '../../host/facts.ts';
import type { HostEntry } from '../../host/ld-resolve.ts';
import type { JailRecord } from '../../host/state.ts';

export function sameState(have: FileState | undefined, want: Partial<FileState>): boolean {
  if (!have) return false;
  return Object.entries(want).every(([k, v]) => (have as unknown as Record<string, unknown>)[k] === v);
}

function preFor(p: string, have: FileState | undefined): Precondition {
  if (!have) return { kind: 'absent', path: p };
  if (have.kind === 'file' && have.sha256) return { kind: 'sha256', path: p, sha256: have.sha256 };
  return { kind: 'none' };
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Actions that make `p` a dir with this owner and mode; changes only what differs. */
export function ensureDir(p: string, have: FileState | undefined, mode: number, uid: number, gid: number): Action[] {
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
export function sharedDir(actions: Action[]): Action[] {
  return actions.map((a) => ({ ...a, undo: a.undo.map((u) => (u.kind === 'rmdir' ? { ...u, ifEmpty: true } : u)) }));
}

export function runAction(argv: string[], undo: string[][], pre: Precondition = { kind: 'none' }, undoIf?: Precondition): Action {
  return { effect: { kind: 'run', argv }, undo: undo.map((u) => ({ kind: 'run', argv: u })), pre, undoIf };
}

/** A file with exact content: written only when absent or different. */
export function ensureFile(p: string, have: FileState | undefined, effect: Effect & { kind: 'write' | 'copy' }, wantSha: string): Action[] {
  if (have && have.kind !== 'file') throw new UserError(`${p} exists and is not a regular file`, 'move it away, or choose another jail path');
  if (have && have.sha256 === wantSha && have.mode === effect.mode && have.uid === effect.uid && have.gid === effect.gid) return [];
  return [{ effect, undo: [{ kind: 'restore', path: p }], pre: preFor(p, have) }];
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
      const copy = ensureFile(p, cur, { kind: 'copy', from: e.path, path: p, mode, uid: 0, gid: 0, size: e.size, sha256: e.sha256! }, e.sha256!);
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
