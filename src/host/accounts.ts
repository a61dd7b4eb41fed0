// The host's local accounts, read from /etc/passwd, /etc/group and /etc/shadow (not LDAP or
// NIS): what jailwizard creates, adopts and edits with the shadow tools.
import { readFileSync } from 'node:fs';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A user's password field ('*', '!', a hash…) and the day of its last change, as shadow(5) has them. */
export interface ShadowEntry {
  field: string;
  lastChange: string;
}

export function readPasswd(path = '/etc/passwd'): PasswdEntry[] {
  return parsePasswd(readFileSync(path, 'utf8'));
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    // Skip blanks, comments and NIS "+"/"-" lines: they are not real accounts.
    if (f.length < 7 || /^[#+-]/.test(line)) continue;
    const [name, , uid, gid, gecos, home, shell] = f as [string, string, string, string, string, string, string];
    out.push({ name, uid: Number(uid), gid: Number(gid), gecos, home, shell });
  }
  return out;
}

export function readGroups(path = '/etc/group'): GroupEntry[] {
  return parseGroups(readFileSync(path, 'utf8'));
}

export function parseGroups(text: string): GroupEntry[] {
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [name = '', , gid = '', members = ''] = l.split(':');
      return { name, gid: Number(gid), members: members ? members.split(',') : [] };
    });
}

/** `user`'s shadow entry, or undefined when shadow has none. */
export function readShadow(user: string, path = '/etc/shadow'): ShadowEntry | undefined {
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 2) return { field: f[1] ?? '', lastChange: f[2] ?? '' };
  }
  return undefined;
}

/**
 * Password fields that lock an account without holding a password: what useradd leaves
 * ('!' on Debian, '!!' on RHEL) and `usermod -L` makes of '*' ('!*'). sshd built for Linux
 * refuses every login, keys included, to a field starting with '!' when UsePAM is no
 * (LOCKED_PASSWD_PREFIX in OpenSSH's platform_locked_account); setting such a field to '*'
 * lets keys in and still lets no password in. An empty field is not locked (shadow(5): no
 * password is needed; sshd checks only a non-empty field), and '!' before a hash locks a
 * real password that only the admin may unlock.
 */
export const LOCKED_WITHOUT_PASSWORD: ReadonlySet<string> = new Set(['!', '!!', '!*']);
