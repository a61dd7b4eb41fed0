// Refusals that need host facts, made before anything is planned.
import path from 'node:path';
import { octal } from '../../model/mode.ts';
import { UserError } from '../../model/errors.ts';
import type { HostFacts } from '../../host/facts.ts';
import { checkBind, type JailWide } from '../options.ts';
import { isSyslogProblem } from '../../host/syslog.ts';
import { checkPlatform } from '../../host/platform.ts';
import type { Answers } from '../../model/types.ts';
import type { PasswdEntry } from '../../host/accounts.ts';
import { privilegedGroupsOf } from './account.ts';
import { needsShell } from './tools.ts';

/** Top-level dirs of a jail that hold its own files and stay root's. */
const JAIL_SYSTEM_DIRS = new Set(['etc', 'dev', 'usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'proc']);

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
export function checkHost(a: Answers, facts: HostFacts, wide: JailWide): void {
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

