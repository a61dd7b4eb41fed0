import type { Recipe } from './types.ts';

/** Small on purpose: each extra binary is more to keep patched inside the jail. */
export const BASIC_COMMANDS = [
  'ls', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'touch', 'ln', 'chmod',
  'head', 'tail', 'wc', 'grep',
  // rclone's sftp backend asks the shell for these to compare hashes, and silently skips
  // them when they are missing; coreutils, libc only, and they run nothing else.
  'md5sum', 'sha1sum',
].map((c) => `/usr/bin/${c}`);

export const bash: Recipe = {
  name: 'bash',
  summary: 'a login shell with basic commands (ls, cat, cp, mv, rm, mkdir, ...)',
  why: [
    'bash is the user\'s login shell inside the jail; sshd runs the passwd shell after the chroot.',
    `Basic commands only: ${BASIC_COMMANDS.map((p) => p.split('/').pop()).join(', ')}. Add more later with care.`,
    'md5sum and sha1sum are there for rclone, whose sftp backend asks the shell for them and otherwise skips hash checks without a word.',
  ],
  binaries: ['/bin/bash', ...BASIC_COMMANDS],
  needsShell: true,
  packages: { 'apt-get': 'bash', dnf: 'bash', pacman: 'bash', apk: 'bash' },
  probes: [
    { name: 'ssh: shell sees the jail as /', order: 100, client: 'ssh', path: '/', expect: 'jail-listing' },
    { name: 'escape: /etc/shadow unreadable (ssh)', order: 300, client: 'ssh', path: '/etc/shadow', expect: 'read-refused' },
    { name: 'escape: cd /.. stays in the jail (ssh)', order: 310, client: 'ssh', path: '/..', expect: 'jail-listing' },
    { name: 'escape: cannot write {path} (ssh)', order: 400, client: 'ssh', expect: 'write-refused' },
  ],
  connect: [{ order: 30, template: 'ssh{ -p %port} %sshdest' }],
  detect: { loginShell: 'bash' },
};
