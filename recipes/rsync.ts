import { shell } from './shell.ts';
import type { Recipe } from './types.ts';

const RUNS_THROUGH_SHELL = 'rsync over ssh runs `rsync --server` on this host through the user\'s login shell, so the jail needs rsync and a shell.';

export const rsync: Recipe = {
  name: 'rsync',
  summary: 'rsync needs a shell inside the jail',
  why: [RUNS_THROUGH_SHELL, ...shell.why],
  whyWithBash: [RUNS_THROUGH_SHELL, 'bash is the login shell, so bash runs `rsync --server` too.'],
  binaries: ['/usr/bin/rsync'],
  needsShell: true,
  packages: { 'apt-get': 'rsync', dnf: 'rsync', pacman: 'rsync', apk: 'rsync' },
  probes: [{ name: 'rsync: upload/download round trip', order: 130, client: 'rsync', expect: 'round-trip' }],
  connect: [{ order: 40, template: "rsync -av{ -e 'ssh -p %port'} FILES %dest:" }],
  detect: { inJail: '/usr/bin/rsync' },
};
