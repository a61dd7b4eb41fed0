import type { Recipe } from './types.ts';

export const rsync: Recipe = {
  name: 'rsync',
  summary: 'rsync needs a shell inside the jail',
  why: [
    'rsync over ssh runs `rsync --server` on this host through the user\'s login shell, so the jail needs rsync and a shell.',
    'Without bash, the small POSIX shell /bin/sh (dash) is the login shell and no terminal is allowed (PermitTTY no).',
  ],
  binaries: ['/usr/bin/rsync'],
  needsShell: true,
  packages: { 'apt-get': 'rsync', dnf: 'rsync', pacman: 'rsync', apk: 'rsync' },
};
