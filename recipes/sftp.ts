import { SFTP_SUBSYSTEM, type Recipe } from './types.ts';

export const sftp: Recipe = {
  name: 'sftp',
  summary: 'sftp alone: no binaries in the jail, no shell',
  why: [
    'sftp alone uses sshd\'s built-in internal-sftp (ForceCommand), so the jail holds no binaries at all and the user gets no shell.',
    'With a shell as well, sshd runs the global external Subsystem (Debian: /usr/lib/openssh/sftp-server) inside the jail, so that binary is copied to the same path.',
  ],
  binaries: [SFTP_SUBSYSTEM],
  needsShell: false,
  matchWithoutShell: { ForceCommand: 'internal-sftp', PermitTTY: 'no' },
  packages: { 'apt-get': 'openssh-sftp-server', dnf: 'openssh-server', pacman: 'openssh', apk: 'openssh-sftp-server' },
};
