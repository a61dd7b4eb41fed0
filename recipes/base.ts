// What every jail gets, whatever the tools.
import { MINIMAL_SHELL, shell } from './shell.ts';
import type { Recipe } from './types.ts';

export const base: Recipe = {
  name: 'base',
  summary: 'the jail itself: root-owned dirs, etc/passwd and etc/group, /dev, the home dir',
  why: [
    'sshd refuses a chroot unless every path component is owned by root and not writable by group or others.',
    'etc/passwd and etc/group hold only root and the jailed user, so names resolve without leaking the host\'s accounts.',
    '/dev holds null, zero, tty, random and urandom, because programs fail without them (`>/dev/null`).',
    'The home dir inside the jail is the one place the user may write.',
    'Keys live in /etc/ssh/authorized_keys/<user>, root-owned and outside the jail, so the user cannot change them.',
  ],
  binaries: [],
  needsShell: false,
};

/** The only device nodes a jail needs, 0666 root:root. */
export const DEVICE_NODES = [
  { name: 'null', major: 1, minor: 3 },
  { name: 'zero', major: 1, minor: 5 },
  { name: 'random', major: 1, minor: 8 },
  { name: 'urandom', major: 1, minor: 9 },
  { name: 'tty', major: 5, minor: 0 },
] as const;

/** A shell that is only there to run `rsync --server` or `scp -t` needs no terminal. */
export const MATCH_SHELL_WITHOUT_BASH: Record<string, string> = shell.match!;

export { MINIMAL_SHELL };

/** sshd Match lines every jail gets. */
export function baseMatch(jail: string): Record<string, string> {
  return {
    ChrootDirectory: jail,
    DisableForwarding: 'yes',
    AuthorizedKeysFile: '/etc/ssh/authorized_keys/%u',
  };
}
