// Stage "account": the jailed user's account, created or adopted (shell, locked password, group).
import { UserError } from '../../model/errors.ts';
import type { HostFacts } from '../../host/facts.ts';
import type { Answers } from '../../model/types.ts';
import { LOCKED_WITHOUT_PASSWORD, type PasswdEntry } from '../../host/accounts.ts';
import type { Action } from '../../model/effects.ts';
import { runAction } from './actions.ts';
import { loginShell } from './tools.ts';
import type { ApplyContext, PlannedUser } from './context.ts';

/**
 * The first uid ≥ UID_MIN that is free both as a uid and as a gid, so the user group matches,
 * and that no removed jail user had (their files may remain).
 */
export function pickUid(facts: Pick<HostFacts, 'passwd' | 'groups' | 'loginDefs' | 'retiredUids'>): number {
  const used = new Set([...facts.passwd.map((p) => p.uid), ...facts.groups.map((g) => g.gid), ...(facts.retiredUids ?? [])]);
  for (let n = facts.loginDefs.UID_MIN; n <= facts.loginDefs.UID_MAX; n++) if (!used.has(n)) return n;
  throw new UserError('no free uid between UID_MIN and UID_MAX', 'see /etc/login.defs');
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


export function accountStage({ a, facts, user, steps }: Pick<ApplyContext, 'a' | 'facts' | 'user' | 'steps'>): void {
  const userActions: Action[] = [];
  if (!user.exists) {
    userActions.push({
      ...runAction(
        // No subordinate ids: a jailed user runs no containers, and /etc/subuid and /etc/subgid
        // stay untouched (userdel would rewrite them in its own order on a host with history).
        ['useradd', '--uid', String(user.uid), '--user-group', '--no-create-home', '--home-dir', user.home, '--shell', user.shell, '--password', '*', '--comment', user.gecos, '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', user.name],
        [['userdel', user.name]],
        { kind: 'user-absent', user: user.name },
        { kind: 'user-present', user: user.name },
      ),
      role: 'account',
    });
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
}
