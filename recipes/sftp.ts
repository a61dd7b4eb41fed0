import { SFTP_SUBSYSTEM, type ConnectHint, type Recipe } from './types.ts';

export const SFTP_CONNECT: ConnectHint = { order: 10, template: 'sftp{ -P %port} %dest' };

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
  probes: [
    // A read-only jail refuses the upload: verify's option table proves that instead.
    { name: 'sftp: put/get round trip', order: 110, when: { readOnly: false }, client: 'sftp', expect: 'round-trip' },
    { name: 'escape: /etc/shadow unreadable (sftp)', order: 300, client: 'sftp', path: '/etc/shadow', expect: 'read-refused' },
    { name: 'escape: cd /.. stays in the jail (sftp)', order: 310, client: 'sftp', path: '/..', expect: 'jail-listing' },
    { name: 'escape: no shell for an sftp-only user', order: 320, when: { onlyTool: true }, client: 'ssh', expect: 'no-shell' },
    { name: 'escape: cannot write {path} (sftp)', order: 400, client: 'sftp', expect: 'write-refused' },
  ],
  connect: [SFTP_CONNECT],
  detect: { sftpSubsystem: true, forceCommand: 'internal-sftp' },
};
