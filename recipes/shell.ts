import type { Recipe } from './types.ts';

/** The shell used when rsync or scp needs one and bash was not chosen: small, libc only. */
export const MINIMAL_SHELL = '/bin/sh';

/**
 * Not a tool the admin picks: the login shell rsync and scp run through when bash is not
 * chosen. /bin/sh is dash on Debian and Ubuntu, bash on Fedora and Arch, busybox on Alpine.
 */
export const shell: Recipe = {
  name: 'shell',
  summary: `${MINIMAL_SHELL} as the login shell`,
  why: ['Without bash, the small POSIX shell /bin/sh (dash) is the login shell and no terminal is allowed (PermitTTY no).'],
  binaries: [MINIMAL_SHELL],
  needsShell: false,
  match: { PermitTTY: 'no' },
  packages: { 'apt-get': 'dash', dnf: 'bash', pacman: 'bash', apk: 'busybox' },
};
