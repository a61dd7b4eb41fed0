import { SFTP_SUBSYSTEM, type Recipe } from './types.ts';
import { SFTP_CONNECT } from './sftp.ts';

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
  probes: [
    { name: 'scp: round trip (SFTP protocol)', order: 120, client: 'scp', expect: 'round-trip' },
    { name: 'scp -O: round trip (legacy protocol)', order: 121, client: 'scp', args: ['-O'], expect: 'round-trip' },
  ],
  // scp speaks SFTP, so an sftp session works too.
  connect: [SFTP_CONNECT, { order: 20, template: 'scp{ -P %port} FILE %dest:' }],
  detect: { inJail: '/usr/bin/scp' },
};
