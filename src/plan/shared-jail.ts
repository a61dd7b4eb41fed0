// A shared jail holds several users' dirs side by side. Each user's apply makes its own
// dirs (root-owned parents, an owned dir, a setgid group dir, bind mount points), so a path
// of one user that lands in or over another user's would change that user's dir: a bind
// target inside someone's writable dir makes it root's, and their uploads fail. Pure: the
// planner calls it with the answers and homes, before any change.
import { UserError } from '../model/errors.ts';
import { inside } from './options.ts';
import type { Answers, BindMount } from '../model/types.ts';

type ClaimKind = 'home' | 'writable' | 'groupDir' | 'bind target' | 'startDir';

/** A dir inside the jail that one user's apply makes or relies on. */
interface Claim {
  user: string;
  kind: ClaimKind;
  path: string;
  group?: string;
  bind?: BindMount;
}

export interface JailUser {
  answers: Answers;
  /** The home in the host's passwd: a path inside the jail. */
  home: string;
}

function claimsOf(u: JailUser): Claim[] {
  const a = u.answers;
  const user = a.user;
  return [
    { user, kind: 'home', path: u.home },
    ...(a.writable ? [{ user, kind: 'writable' as const, path: a.writable }] : []),
    ...(a.groupDir ? [{ user, kind: 'groupDir' as const, path: a.groupDir, group: a.group }] : []),
    ...(a.binds ?? []).map((b) => ({ user, kind: 'bind target' as const, path: b.target, bind: b })),
    ...(a.startDir ? [{ user, kind: 'startDir' as const, path: a.startDir }] : []),
  ];
}

/** The same group dir for the same group, or the same bind: one dir the users share on purpose. */
function sameArea(x: Claim, y: Claim): boolean {
  if (x.path !== y.path || x.kind !== y.kind) return false;
  if (x.kind === 'groupDir') return x.group === y.group;
  if (x.kind === 'bind target') return x.bind!.source === y.bind!.source && x.bind!.readOnly === y.bind!.readOnly;
  return false;
}

/**
 * A start dir is only a root-owned dir to start in: anything may lie below it, it may be
 * inside a bind (then nothing is made), or inside an area its own user shares too.
 */
function startDirFits(s: Claim, o: Claim, own: Claim[]): boolean {
  if (o.kind === 'startDir' || o.kind === 'bind target') return true;
  if (o.path !== s.path && inside(o.path, s.path)) return true;
  return own.some((c) => sameArea(c, o));
}

function fits(x: Claim, y: Claim, claims: Map<string, Claim[]>): boolean {
  if (!inside(x.path, y.path) && !inside(y.path, x.path)) return true;
  if (sameArea(x, y)) return true;
  if (x.kind === 'startDir') return startDirFits(x, y, claims.get(x.user)!);
  if (y.kind === 'startDir') return startDirFits(y, x, claims.get(y.user)!);
  return false;
}

/**
 * Refuses (exit 2) a user whose paths (home, writable, groupDir, bind targets, startDir) land
 * in, on or over another user's of the same shared jail.
 */
export function checkSharedJailPaths(me: JailUser, sharers: JailUser[]): void {
  const claims = new Map([me, ...sharers].map((u) => [u.answers.user, claimsOf(u)]));
  const mine = claims.get(me.answers.user)!;
  for (const s of sharers) {
    for (const y of claims.get(s.answers.user)!) {
      const x = mine.find((c) => !fits(c, y, claims));
      if (!x) continue;
      const where = x.path === y.path ? `is ${y.user}'s ${y.kind} too` : inside(x.path, y.path) ? `lies inside ${y.user}'s ${y.kind} ${y.path}` : `holds ${y.user}'s ${y.kind} ${y.path}`;
      throw new UserError(
        `${x.kind} ${x.path} of ${x.user} ${where}, in the shared jail ${me.answers.jail}`,
        `in a shared jail each user's dirs (home, writable, groupDir, bind targets, startDir) stay apart: choose another ${x.kind === 'home' ? 'dir' : x.kind} for ${x.user}`,
      );
    }
  }
}
