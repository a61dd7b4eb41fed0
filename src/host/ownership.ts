// sshd's rule for ChrootDirectory, component by component: each must be a directory owned
// by root with no group or other write (symlinks are followed: the target counts).
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { octal } from '../model/mode.ts';

export interface ChainLink {
  path: string;
  exists: boolean;
  /** "root 0755", or "new: root 0755" for what jailwizard will create. */
  owner: string;
  mode?: number;
  ok: boolean;
  reason?: string;
  symlinkTo?: string;
}

/** '/srv/jails/alice' → ['/', '/srv', '/srv/jails', '/srv/jails/alice']. */
export function components(p: string): string[] {
  const parts = p.split('/').filter(Boolean);
  return ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
}

function ownerName(uid: number, names: Map<number, string>): string {
  return names.get(uid) ?? String(uid);
}

/**
 * The chain as sshd will check it. Components that do not exist yet are shown as what
 * jailwizard creates (root, 0755), which passes.
 */
export function chrootChain(jail: string, userNames: Map<number, string> = new Map([[0, 'root']])): ChainLink[] {
  return components(jail).map((p) => {
    let l;
    try {
      l = lstatSync(p);
    } catch {
      return { path: p, exists: false, owner: 'new: root 0755', ok: true };
    }
    let st = l;
    let symlinkTo: string | undefined;
    if (l.isSymbolicLink()) {
      try {
        symlinkTo = realpathSync(p);
        st = statSync(p);
      } catch {
        return { path: p, exists: true, owner: '?', ok: false, reason: 'dangling symlink' };
      }
    }
    const mode = st.mode & 0o7777;
    const owner = `${ownerName(st.uid, userNames)} ${octal(mode)}`;
    let reason: string | undefined;
    if (!st.isDirectory()) reason = 'not a directory';
    else if (st.uid !== 0) reason = 'not owned by root';
    else if (mode & 0o022) reason = mode & 0o002 ? (mode & 0o020 ? 'group- and world-writable' : 'world-writable') : 'group-writable';
    return { path: p, exists: true, owner, mode, ok: !reason, reason, symlinkTo };
  });
}
