// The base layout inside the jail: etc (its own passwd and group), dev, the home and the dirs
// the options ask for, and the gate. Several small stages gather the actions; one step shows them.
import path from 'node:path';
import { DEVICE_NODES, base } from '../../../recipes/index.ts';
import { UserError } from '../../model/errors.ts';
import type { HostFacts } from '../../host/facts.ts';
import { EXTRA_WHY, NSSWITCH_TEXT, PROFILE_TEXT } from '../options.ts';
import type { Answers } from '../../model/types.ts';
import type { PasswdEntry } from '../../host/accounts.ts';
import { GATE_PATH, gateScript, describeGrant } from '../gate.ts';
import { ensureDir, ensureFile, sameState } from './actions.ts';
import type { PlannedUser } from './context.ts';
import { ROOT, type ApplyContext } from './context.ts';
import { inside } from '../../model/paths.ts';

type LayoutContext = Pick<ApplyContext, 'facts' | 'opts' | 'jail' | 'planned' | 'layout'>;

/** A dir of the jail (relative to its root) with this owner and mode, planned once. */
function dir(ctx: LayoutContext, rel: string, mode = 0o755, uid = 0, gid = 0): void {
  const p = path.join(ctx.jail, rel);
  if (ctx.planned.has(p)) return;
  ctx.planned.add(p);
  ctx.layout.push(...ensureDir(p, ctx.facts.jail[p], mode, uid, gid));
}

/** A root-owned file of the jail with exact content. */
function file(ctx: LayoutContext, rel: string, content: string, mode = 0o644): void {
  const p = path.join(ctx.jail, rel);
  ctx.planned.add(p);
  ctx.layout.push(...ensureFile(p, ctx.facts.jail[p], { kind: 'write', path: p, content, mode, ...ROOT }, ctx.opts.sha256(content)));
}

/** Every dir of a jail path, root's. */
function dirsOf(ctx: LayoutContext, p: string): void {
  const parts = p.split('/').filter(Boolean);
  parts.forEach((_, i) => dir(ctx, parts.slice(0, i + 1).join('/')));
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


export function etcStage(ctx: LayoutContext & Pick<ApplyContext, 'a' | 'user'>): void {
  dir(ctx, 'etc');
  const { passwdText, groupText } = jailNames(ctx.a, ctx.user, ctx.facts);
  file(ctx, 'etc/passwd', passwdText);
  file(ctx, 'etc/group', groupText);
}

export function devicesStage(ctx: LayoutContext): void {
  dir(ctx, 'dev');
  for (const d of DEVICE_NODES) {
    const p = path.join(ctx.jail, 'dev', d.name);
    ctx.planned.add(p);
    const have = ctx.facts.jail[p];
    if (sameState(have, { kind: 'char', major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0 })) continue;
    if (have) throw new UserError(`${p} exists but is not the ${d.name} device (${d.major}:${d.minor})`, `remove it; jailwizard then makes it`);
    ctx.layout.push({ effect: { kind: 'mknod', path: p, major: d.major, minor: d.minor, mode: 0o666 }, undo: [{ kind: 'unlink', path: p }], pre: { kind: 'absent', path: p } });
  }
}

/** The home, the writable dir, the group dir, the start dir and /tmp. */
export function userDirsStage(ctx: LayoutContext & Pick<ApplyContext, 'a' | 'user' | 'wide' | 'notes'>): void {
  const { a, user } = ctx;
  // Parents are root-owned like the rest; only the user's own dir (the home, or `writable`) is theirs.
  const owned = a.writable ?? user.home;
  // The dir the user owned under the earlier answers stays as it is: root never reads or moves a user's files.
  const earlier = ctx.facts.record ? (ctx.facts.record.answers.writable ?? user.home) : undefined;
  if (earlier && !inside(owned, earlier) && !inside(earlier, owned)) {
    ctx.notes.push(`${earlier}, ${user.name}'s own dir until now, stays in the jail with what is in it: jailwizard never reads or moves a user's files. Once what is needed is copied out, remove it (check reports it until then).`);
  }
  const ownDirs = (p: string): void => {
    const parts = p.split('/').filter(Boolean);
    parts.forEach((_, i) => {
      const rel = parts.slice(0, i + 1).join('/');
      if (i < parts.length - 1) dir(ctx, rel);
      else if (`/${rel}` === owned) dir(ctx, rel, 0o750, user.uid, user.gid);
      else dir(ctx, rel);
    });
  };
  ownDirs(user.home);
  if (a.writable) ownDirs(a.writable);
  if (a.groupDir) {
    const g = ctx.facts.groups.find((x) => x.name === a.group)!;
    const parts = a.groupDir.split('/').filter(Boolean);
    parts.slice(0, -1).forEach((_, i) => dir(ctx, parts.slice(0, i + 1).join('/')));
    // setgid: files made inside belong to the group; 2770: members write, others see nothing.
    dir(ctx, parts.join('/'), 0o2770, 0, g.gid);
  }
  // A start dir nothing else makes: root's and readable, unless it is inside host data.
  if (a.startDir && !ctx.wide.binds.some((b) => a.startDir === b.target || a.startDir!.startsWith(`${b.target}/`))) dirsOf(ctx, a.startDir);
  if (ctx.wide.extras.includes('tmp')) dir(ctx, 'tmp', 0o1777);
}

/** The gate sshd runs for a user without bash (ForceCommand). */
export function gateStage(ctx: LayoutContext & Pick<ApplyContext, 'grant'>): void {
  if (!ctx.grant) return;
  ['usr', 'usr/lib', path.dirname(GATE_PATH).slice(1)].forEach((d) => dir(ctx, d));
  file(ctx, GATE_PATH.slice(1), gateScript(), 0o755);
}

/** etc/profile and etc/nsswitch.conf when asked for, and the dirs bind mounts land on. */
export function optionFilesStage(ctx: LayoutContext & Pick<ApplyContext, 'wide'>): void {
  if (ctx.wide.extras.includes('profile')) file(ctx, 'etc/profile', PROFILE_TEXT);
  if (ctx.wide.extras.includes('nss')) file(ctx, 'etc/nsswitch.conf', NSSWITCH_TEXT);
  for (const b of ctx.wide.binds) dirsOf(ctx, b.target);
}

/** The layout stages' actions as one step. */
export function layoutStep({ a, facts, user, grant, wide, layout, steps }: Pick<ApplyContext, 'a' | 'facts' | 'user' | 'grant' | 'wide' | 'layout' | 'steps'>): void {
  if (layout.length === 0) return;
  const why = base.why.slice(1, 4);
  if (a.writable) why.push(`${a.writable} is the one dir ${user.name} owns (0750); the home stays root's.`);
  if (a.groupDir) why.push(`${a.groupDir} is shared by group ${a.group}: setgid and group-writable (2770), so every file made there belongs to the group.`);
  if (facts.sharers.length > 0) why.push(`A shared jail: etc/passwd lists root and its ${facts.sharers.length + 1} users, each with /home/<user>.`);
  if (grant) why.push(`${GATE_PATH}: the gate sshd runs for ${user.name} (ForceCommand). It runs only ${describeGrant(grant)}, and refuses everything else: another user's shell, an uploaded program, the jail's ld.so.`);
  for (const e of wide.extras) if (e === 'tmp' || e === 'profile' || e === 'nss') why.push(EXTRA_WHY[e]);
  steps.push({ id: 'base', title: 'Lay out etc, dev and the home dir inside the jail', why, actions: layout });
}
