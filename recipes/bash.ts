import type { Recipe } from './types.ts';

/** Small on purpose: each extra binary is more to keep patched inside the jail. */
export const BASIC_COMMANDS = [
  'ls', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'touch', 'ln', 'chmod',
  'head', 'tail', 'wc', 'grep',
].map((c) => `/usr/bin/${c}`);

export const bash: Recipe = {
  name: 'bash',
  summary: 'a login shell with basic commands (ls, cat, cp, mv, rm, mkdir, ...)',
  why: [
    'bash is the user\'s login shell inside the jail; sshd runs the passwd shell after the chroot.',
    `Basic commands only: ${BASIC_COMMANDS.map((p) => p.split('/').pop()).join(', ')}. Add more later with care.`,
  ],
  binaries: ['/bin/bash', ...BASIC_COMMANDS],
  needsShell: true,
  packages: { 'apt-get': 'bash', dnf: 'bash', pacman: 'bash', apk: 'bash' },
};
