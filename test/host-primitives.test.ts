// The host primitives in src/host, one module each: hashing, modes, mountinfo, accounts,
// systemd, sshd's pidfile and allowFrom addresses. Fixtures live in a temp dir of this file's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256, sha256File } from '../src/host/hash.ts';
import { octal } from '../src/model/mode.ts';
import { mountOf, parseMountInfo } from '../src/host/mountinfo.ts';
import { LOCKED_WITHOUT_PASSWORD, parseGroups, parsePasswd, readGroups, readPasswd, readShadow } from '../src/host/accounts.ts';
import { systemdRunning } from '../src/host/systemd.ts';
import { SSHD_DEFAULT_PIDFILE, sshdPidFile } from '../src/host/pidfile.ts';
import { addressAllowed } from '../src/host/address.ts';
import { parseEffective } from '../src/host/sshd-config.ts';
import { UnsafePathError } from '../src/host/safe-fs.ts';
import { isRoot } from './helpers/root.ts';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'jw-primitives-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('hash', () => {
  it('sha256 of text and bytes is the standard digest', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.from('abc'))).toBe(sha256('abc'));
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('sha256File streams a file larger than its 1 MiB buffer and agrees with sha256 of its bytes', () => {
    const data = Buffer.alloc(3 * (1 << 20) + 17, 'jailwizard');
    const p = path.join(work, 'big');
    writeFileSync(p, data);
    expect(sha256File(p)).toBe(sha256(data));
  });

  it.skipIf(!isRoot)('sha256File never follows a link in a dir a user can change, and never opens a FIFO', () => {
    const userDir = path.join(work, 'user-owned');
    mkdirSync(userDir);
    chownSync(userDir, 65534, 65534);
    writeFileSync(path.join(work, 'secret'), 'root only');
    symlinkSync(path.join(work, 'secret'), path.join(userDir, 'link'));
    expect(() => sha256File(path.join(userDir, 'link'))).toThrow(UnsafePathError);
    const fifo = path.join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO for reading would block for ever; it is refused as not a regular file.
    expect(() => sha256File(fifo)).toThrow(/is a FIFO, not a regular file/);
  });
});

describe('mode', () => {
  it('four octal digits with the setuid, setgid and sticky bits; the file type is dropped', () => {
    expect(octal(0o755)).toBe('0755');
    expect(octal(0o644)).toBe('0644');
    expect(octal(0)).toBe('0000');
    expect(octal(0o2770)).toBe('2770');
    expect(octal(0o4755)).toBe('4755');
    expect(octal(0o1777)).toBe('1777');
    expect(octal(0o100644)).toBe('0644'); // st_mode of a regular file
    expect(octal(0o40755)).toBe('0755'); // st_mode of a dir
  });
});

describe('mountinfo', () => {
  const line = (target: string) => `30 22 8:1 / ${target} rw,nosuid shared:5 - ext4 /dev/sda1 rw`;

  it('decodes every escape the kernel writes: space, tab, newline and backslash', () => {
    const targets = parseMountInfo([line('/srv/a\\040b'), line('/srv/tab\\011x'), line('/srv/nl\\012x'), line('/srv/back\\134slash'), ''].join('\n')).map((m) => m.target);
    expect(targets).toEqual(['/srv/a b', '/srv/tab\tx', '/srv/nl\nx', '/srv/back\\slash']);
  });

  it('decodes in one pass: an escaped backslash before digits stays a backslash and the digits', () => {
    expect(parseMountInfo(line('/srv/\\134040'))[0]!.target).toBe('/srv/\\040');
    expect(parseMountInfo(line('/srv/\\134\\040'))[0]!.target).toBe('/srv/\\ ');
  });

  it('finds the mount of a path whose mount point has a space in it', () => {
    const m = parseMountInfo([line('/'), '31 30 0:40 / /srv/my\\040jail rw,nodev,noexec - tmpfs tmpfs rw', ''].join('\n'));
    expect(mountOf('/srv/my jail/home', m)?.fsType).toBe('tmpfs');
    expect(mountOf('/srv/my\\040jail/home', m)?.fsType).toBe('ext4');
  });
});

describe('accounts', () => {
  it('reads passwd, group and shadow files, a locked account included', () => {
    const passwd = path.join(work, 'passwd');
    const group = path.join(work, 'group');
    const shadow = path.join(work, 'shadow');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\n# a comment\n+nis::::::\nalice:x:1001:1001:Alice,,,:/home/alice:/bin/bash\nbroken:x:1\n');
    writeFileSync(group, 'root:x:0:\n# comment\nsftpusers:x:1500:alice,bob\nalice:x:1001:\n');
    writeFileSync(shadow, 'root:*:19000:0:99999:7:::\nalice:!:19500:0:99999:7:::\nbob:$6$salt$hash:19600::::::\nnopw::19000::::::\n');
    expect(readPasswd(passwd)).toEqual([
      { name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: '/bin/bash' },
      { name: 'alice', uid: 1001, gid: 1001, gecos: 'Alice,,,', home: '/home/alice', shell: '/bin/bash' },
    ]);
    expect(readGroups(group)).toEqual([
      { name: 'root', gid: 0, members: [] },
      { name: 'sftpusers', gid: 1500, members: ['alice', 'bob'] },
      { name: 'alice', gid: 1001, members: [] },
    ]);
    expect(readShadow('alice', shadow)).toEqual({ field: '!', lastChange: '19500' });
    expect(readShadow('bob', shadow)).toEqual({ field: '$6$salt$hash', lastChange: '19600' });
    expect(readShadow('nopw', shadow)).toEqual({ field: '', lastChange: '19000' });
    expect(readShadow('carol', shadow)).toBeUndefined();
    // A name that is a prefix of another is not that other.
    expect(readShadow('ali', shadow)).toBeUndefined();
  });

  it('parses getent output the same way (one line, no trailing newline needed)', () => {
    expect(parsePasswd('alice:x:1001:1001::/home/alice:/usr/sbin/nologin')[0]).toEqual({ name: 'alice', uid: 1001, gid: 1001, gecos: '', home: '/home/alice', shell: '/usr/sbin/nologin' });
    expect(parseGroups('sftpusers:x:1500:alice\n')[0]).toEqual({ name: 'sftpusers', gid: 1500, members: ['alice'] });
    expect(parsePasswd('')).toEqual([]);
    expect(parseGroups('')).toEqual([]);
  });

  it("LOCKED_WITHOUT_PASSWORD: what useradd and usermod -L leave, not an empty field, '*' or a locked hash", () => {
    for (const f of ['!', '!!', '!*']) expect(LOCKED_WITHOUT_PASSWORD.has(f), f).toBe(true);
    for (const f of ['', '*', '!$6$salt$hash', 'x']) expect(LOCKED_WITHOUT_PASSWORD.has(f), JSON.stringify(f)).toBe(false);
  });

  it('this host: root is uid 0 in passwd and has a shadow entry', () => {
    expect(parsePasswd('root:x:0:0:root:/root:/bin/bash\n')[0]!.uid).toBe(0);
    expect(readPasswd().find((p) => p.name === 'root')?.uid).toBe(0);
    expect(readGroups().find((g) => g.name === 'root')?.gid).toBe(0);
    if (isRoot) expect(readShadow('root')).toBeDefined();
  });
});

describe('systemd', () => {
  it('is running exactly when ROOT/run/systemd/system exists', () => {
    const booted = path.join(work, 'root-systemd');
    mkdirSync(path.join(booted, 'run/systemd/system'), { recursive: true });
    const openrc = path.join(work, 'root-openrc');
    mkdirSync(path.join(openrc, 'run/openrc'), { recursive: true });
    // systemd installed but not PID 1 (a container, a chroot): /run/systemd without system/.
    const installed = path.join(work, 'root-installed');
    mkdirSync(path.join(installed, 'run/systemd/journal'), { recursive: true });
    expect(systemdRunning(booted)).toBe(true);
    expect(systemdRunning(openrc)).toBe(false);
    expect(systemdRunning(installed)).toBe(false);
    expect(systemdRunning(path.join(work, 'nothing-here'))).toBe(false);
  });
});

describe('pidfile', () => {
  it("sshd -T's PidFile, else the default sshd is built with", () => {
    expect(SSHD_DEFAULT_PIDFILE).toBe('/run/sshd.pid');
    expect(sshdPidFile(new Map())).toBe('/run/sshd.pid');
    expect(sshdPidFile(parseEffective('port 22\npidfile /var/run/private-sshd.pid\n'))).toBe('/var/run/private-sshd.pid');
  });
});

describe('address (node:net BlockList)', () => {
  it('IPv4 addresses and CIDR networks', () => {
    expect(addressAllowed('203.0.113.7', ['203.0.113.7'])).toBe(true);
    expect(addressAllowed('203.0.113.8', ['203.0.113.7'])).toBe(false);
    expect(addressAllowed('10.200.3.4', ['10.0.0.0/8'])).toBe(true);
    expect(addressAllowed('11.0.0.0', ['10.0.0.0/8'])).toBe(false);
    expect(addressAllowed('192.0.2.191', ['192.0.2.128/26'])).toBe(true);
    expect(addressAllowed('192.0.2.192', ['192.0.2.128/26'])).toBe(false);
    expect(addressAllowed('198.51.100.1', ['0.0.0.0/0'])).toBe(true);
    // Host bits in a network are ignored, as sshd's mask does.
    expect(addressAllowed('10.9.9.9', ['10.1.2.3/8'])).toBe(true);
  });

  it('IPv6 addresses and networks, in any spelling', () => {
    expect(addressAllowed('2001:db8::1', ['2001:DB8:0:0:0:0:0:1'])).toBe(true);
    expect(addressAllowed('2001:db8:ffff::1', ['2001:db8::/32'])).toBe(true);
    expect(addressAllowed('2001:db9::1', ['2001:db8::/32'])).toBe(false);
    expect(addressAllowed('::1', ['::/0'])).toBe(true);
    expect(addressAllowed('::ffff:192.0.2.1', ['::ffff:192.0.2.0/120'])).toBe(true);
  });

  it('never across families, as sshd compares them', () => {
    expect(addressAllowed('127.0.0.1', ['::/0'])).toBe(false);
    expect(addressAllowed('127.0.0.1', ['::ffff:127.0.0.0/104'])).toBe(false);
    expect(addressAllowed('::1', ['0.0.0.0/0'])).toBe(false);
    expect(addressAllowed('::ffff:10.0.0.1', ['10.0.0.0/8'])).toBe(false);
  });

  it('bad input matches nothing and never throws', () => {
    for (const bad of ['not-an-address', '', '10.0.0.256', '1.2.3', '10.0.0.1/8', 'fe80::1::2']) expect(addressAllowed(bad, ['0.0.0.0/0', '::/0']), bad).toBe(false);
    for (const entry of ['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/-1', '10.0.0.0/x', '10.0.0.0/8/9', 'example.com', '', '10.0.0.0/']) {
      expect(addressAllowed('10.0.0.1', [entry]), entry).toBe(false);
    }
    // A bad entry does not spoil the good ones beside it.
    expect(addressAllowed('10.0.0.1', ['10.0.0.0/33', 'example.com', '10.0.0.0/8'])).toBe(true);
  });
});
