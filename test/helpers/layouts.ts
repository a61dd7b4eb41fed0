// Fake roots of systems that cannot be downloaded here (Rocky/RHEL 9, Alpine 3.20): the
// files jailwizard reads to learn what a system is, with their real paths and contents,
// and synthetic ELF files with the real loaders and DT_NEEDED names (the resolver reads
// only headers). Each layout note says where a fact comes from.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASIC_COMMANDS } from '../../recipes/index.ts';
import { writeTree, x64 } from './elf-fixture.ts';

const text = (s: string): Buffer => Buffer.from(s);

// Rocky Linux 9.4's /etc/os-release (RHEL 9's differs in NAME/ID; ID_LIKE has "rhel").
const ROCKY9_OS_RELEASE = `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
`;

// The lines of RHEL 9's stock sshd_config that are not comments; its drop-in
// 50-redhat.conf holds the rest (SyslogFacility AUTHPRIV, UsePAM yes …).
export const RHEL9_SSHD_CONFIG = `Include /etc/ssh/sshd_config.d/*.conf
AuthorizedKeysFile	.ssh/authorized_keys
Subsystem	sftp	/usr/libexec/openssh/sftp-server
`;

// rsyslog's /var/log/secure on RHEL 9 (AUTHPRIV), OpenSSH 8.7: a login whose chroot
// parent is group-writable.
const RHEL9_SECURE = `Nov 30 10:01:02 rocky9 sshd[2345]: Accepted publickey for alice from 203.0.113.7 port 50112 ssh2: ED25519 SHA256:q0KxJ7vYQ2p3cMa8d6T0lJw1xkqP4u2H3wnZs1mX9bU
Nov 30 10:01:02 rocky9 sshd[2345]: pam_unix(sshd:session): session opened for user alice(uid=1001) by (uid=0)
Nov 30 10:01:02 rocky9 sshd[2348]: fatal: bad ownership or modes for chroot directory component "/srv/"
Nov 30 10:01:02 rocky9 sshd[2345]: pam_unix(sshd:session): session closed for user alice
`;

export type SelinuxSetting = 'enforcing' | 'permissive' | 'disabled';

/**
 * Rocky/RHEL 9, x86_64: merged /usr with /lib64 -> usr/lib64 (no multiarch dirs), the
 * loader and libc in /usr/lib64, sftp-server in /usr/libexec/openssh, dnf, systemd,
 * /var/log/secure, and SELinux (`now`: /sys/fs/selinux/enforce; `atBoot`: /etc/selinux/config).
 */
export function rhel9Root(root: string, selinux: { now: SelinuxSetting; atBoot?: SelinuxSetting }): string {
  const loader = '/lib64/ld-linux-x86-64.so.2';
  const prog = (needed: string[]) => x64({ interp: loader, needed: [...needed, 'libc.so.6'] });
  const lib = (soname: string, needed: string[] = []) => x64({ soname, needed: [...needed, 'libc.so.6'] });
  writeTree(root, {
    '/bin': 'usr/bin',
    '/sbin': 'usr/sbin',
    '/lib': 'usr/lib',
    '/lib64': 'usr/lib64',
    '/usr/lib64/ld-linux-x86-64.so.2': x64({ soname: 'ld-linux-x86-64.so.2' }),
    '/usr/lib64/libc.so.6': x64({ soname: 'libc.so.6', needed: ['ld-linux-x86-64.so.2'] }),
    '/usr/lib64/libtinfo.so.6': 'libtinfo.so.6.2',
    '/usr/lib64/libtinfo.so.6.2': lib('libtinfo.so.6'),
    '/usr/lib64/libselinux.so.1': lib('libselinux.so.1', ['libpcre2-8.so.0']),
    '/usr/lib64/libpcre2-8.so.0': lib('libpcre2-8.so.0'),
    '/usr/lib64/libcrypto.so.3': lib('libcrypto.so.3', ['libz.so.1']),
    '/usr/lib64/libz.so.1': lib('libz.so.1'),
    '/usr/lib64/libacl.so.1': lib('libacl.so.1', ['libattr.so.1']),
    '/usr/lib64/libattr.so.1': lib('libattr.so.1'),
    '/usr/lib64/libpopt.so.0': lib('libpopt.so.0'),
    '/usr/lib64/liblz4.so.1': lib('liblz4.so.1'),
    '/usr/lib64/libzstd.so.1': lib('libzstd.so.1'),
    '/usr/lib64/libxxhash.so.0': lib('libxxhash.so.0'),
    '/usr/bin/bash': prog(['libtinfo.so.6']),
    '/usr/bin/sh': 'bash',
    '/usr/bin/rsync': prog(['libacl.so.1', 'libz.so.1', 'libpopt.so.0', 'liblz4.so.1', 'libzstd.so.1', 'libxxhash.so.0', 'libcrypto.so.3']),
    '/usr/bin/scp': prog([]),
    '/usr/libexec/openssh/sftp-server': prog(['libcrypto.so.3']),
    '/usr/bin/dnf': 'dnf-3',
    '/usr/bin/dnf-3': text('#!/usr/bin/python3\n'),
    '/etc/os-release': text(ROCKY9_OS_RELEASE),
    '/etc/redhat-release': text('Rocky Linux release 9.4 (Blue Onyx)\n'),
    '/etc/ld.so.conf': text('include ld.so.conf.d/*.conf\n'),
    '/etc/ssh/sshd_config': text(RHEL9_SSHD_CONFIG),
    '/etc/selinux/config': text(`SELINUX=${selinux.atBoot ?? selinux.now}\nSELINUXTYPE=targeted\n`),
    '/var/log/secure': text(RHEL9_SECURE),
    ...Object.fromEntries(BASIC_COMMANDS.map((c) => [c, prog(['libselinux.so.1'])])),
    ...Object.fromEntries(['useradd', 'usermod', 'userdel', 'gpasswd', 'chage'].map((t) => [`/usr/sbin/${t}`, prog([])])),
  });
  mkdirSync(join(root, 'etc/ld.so.conf.d'), { recursive: true });
  mkdirSync(join(root, 'run/systemd/system'), { recursive: true });
  // selinuxfs exists only while SELinux is enabled in the kernel.
  if (selinux.now !== 'disabled') {
    mkdirSync(join(root, 'sys/fs/selinux'), { recursive: true });
    writeFileSync(join(root, 'sys/fs/selinux/enforce'), selinux.now === 'enforcing' ? '1' : '0');
  }
  return root;
}

// Alpine 3.20's /etc/os-release.
const ALPINE_OS_RELEASE = `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.20.3
PRETTY_NAME="Alpine Linux v3.20"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`;

// busybox syslogd's /var/log/messages (Alpine logs everything there, with facility.level).
const ALPINE_MESSAGES = `Nov 30 10:05:09 alpine auth.info sshd[3101]: Accepted publickey for alice from 203.0.113.7 port 50220 ssh2: ED25519 SHA256:q0KxJ7vYQ2p3cMa8d6T0lJw1xkqP4u2H3wnZs1mX9bU
Nov 30 10:05:09 alpine auth.crit sshd[3103]: fatal: bad ownership or modes for chroot directory "/srv/jails/alice"
`;

const MUSL = '/lib/ld-musl-x86_64.so.1';

/**
 * Alpine 3.20, x86_64: musl (the loader is libc), busybox as /bin/sh and as the basic
 * commands, no merged /usr, OpenRC (with sshd started by it), apk; bash, rsync and
 * openssh-sftp-server installed. `shadow`: the shadow tools (apk add shadow), absent by default.
 */
export function alpineRoot(root: string, o: { shadow: boolean }): string {
  const prog = (needed: string[]) => x64({ interp: MUSL, needed: [...needed, 'libc.musl-x86_64.so.1'] });
  const lib = (soname: string, needed: string[] = []) => x64({ soname, needed: [...needed, 'libc.musl-x86_64.so.1'] });
  writeTree(root, {
    [MUSL]: x64({ soname: 'libc.musl-x86_64.so.1' }),
    '/lib/libc.musl-x86_64.so.1': 'ld-musl-x86_64.so.1',
    '/lib/libz.so.1': 'libz.so.1.3.1',
    '/lib/libz.so.1.3.1': lib('libz.so.1'),
    '/lib/libcrypto.so.3': lib('libcrypto.so.3'),
    '/usr/lib/libacl.so.1': lib('libacl.so.1'),
    '/usr/lib/libpopt.so.0': lib('libpopt.so.0'),
    '/usr/lib/liblz4.so.1': lib('liblz4.so.1'),
    '/usr/lib/libzstd.so.1': lib('libzstd.so.1'),
    '/usr/lib/libxxhash.so.0': lib('libxxhash.so.0'),
    '/usr/lib/libreadline.so.8': lib('libreadline.so.8', ['libncursesw.so.6']),
    '/usr/lib/libncursesw.so.6': lib('libncursesw.so.6'),
    '/bin/busybox': prog([]),
    '/bin/sh': '/bin/busybox',
    '/bin/ls': '/bin/busybox',
    '/bin/cat': '/bin/busybox',
    '/usr/bin/head': '/bin/busybox',
    '/bin/bash': prog(['libreadline.so.8']),
    '/usr/bin/rsync': prog(['libacl.so.1', 'libpopt.so.0', 'liblz4.so.1', 'libzstd.so.1', 'libxxhash.so.0', 'libcrypto.so.3', 'libz.so.1']),
    '/usr/bin/scp': prog([]),
    '/usr/lib/ssh/sftp-server': prog([]),
    '/sbin/apk': prog([]),
    '/sbin/openrc-run': prog([]),
    '/sbin/rc-service': prog([]),
    '/etc/init.d/sshd': text('#!/sbin/openrc-run\n'),
    '/run/openrc/softlevel': text('default'),
    '/run/openrc/started/sshd': '/etc/init.d/sshd',
    '/etc/os-release': text(ALPINE_OS_RELEASE),
    '/etc/alpine-release': text('3.20.3\n'),
    '/var/log/messages': text(ALPINE_MESSAGES),
    // busybox's adduser/deluser are applets; the shadow tools come only with `apk add shadow`.
    ...(o.shadow ? Object.fromEntries(['useradd', 'usermod', 'userdel', 'gpasswd', 'chage'].map((t) => [`/usr/sbin/${t}`, prog([])])) : {}),
  });
  return root;
}
