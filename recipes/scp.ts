import { SFTP_SUBSYSTEM, type Recipe } from './types.ts';

export const scp: Recipe = {
  name: 'scp',
  summary: 'scp uses sftp unless the client passes -O',
  why: [
    'scp from OpenSSH 9 speaks the SFTP protocol, so the jail needs the sftp subsystem.',
    'Legacy `scp -O` runs `scp -t` through the user\'s login shell, so the jail also needs scp and a shell.',
  ],
  binaries: ['/usr/bin/scp', SFTP_SUBSYSTEM],
  needsShell: true,
  packages: { 'apt-get': 'openssh-client', dnf: 'openssh-clients', pacman: 'openssh', apk: 'openssh-client' },
};
