// The probes against a hand-made sftp-only jail on a private sshd: they pass when the
// jail is right, and the right ones fail when it is broken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runOk } from '../src/host/run.ts';
import { formatProbeTable, refusalSource, runProbes, type ProbeResult, type ProbeTarget } from '../src/workflows/verify.ts';
import { addressAllowed } from '../src/host/address.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { makeClientKey, sshdLog, startPrivateSshd, type PrivateSshd } from './helpers/sshd.ts';
import { startPrivateRsyslog, type PrivateRsyslog } from './helpers/rsyslog.ts';
import { cleanupTestUsers, removeTestJailRoot, TEST_PREFIX, testJailRoot, uniqueUser } from './helpers/names.ts';

const reason = rootOrSkipReason();
const KEYS_DIR = '/etc/ssh/authorized_keys';

const failed = (rs: ProbeResult[]) => rs.filter((r) => !r.ok).map((r) => r.name);

describe('allowFrom: which sources a list admits, and where the refusal probe comes from', () => {
  it('matches IPv4 addresses and networks', () => {
    expect(addressAllowed('127.0.0.1', ['127.0.0.1'])).toBe(true);
    expect(addressAllowed('127.0.0.2', ['127.0.0.1'])).toBe(false);
    expect(addressAllowed('10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(addressAllowed('11.0.0.1', ['10.0.0.0/8'])).toBe(false);
    expect(addressAllowed('192.0.2.130', ['192.0.2.128/25'])).toBe(true);
    expect(addressAllowed('192.0.2.127', ['192.0.2.128/25'])).toBe(false);
    expect(addressAllowed('203.0.113.7', ['0.0.0.0/0'])).toBe(true);
    expect(addressAllowed('127.0.0.1', ['203.0.113.7', '127.0.0.0/30'])).toBe(true);
  });

  it('matches IPv6 addresses and networks, never across families', () => {
    expect(addressAllowed('::1', ['::1'])).toBe(true);
    expect(addressAllowed('::1', ['0:0:0:0:0:0:0:1/128'])).toBe(true);
    expect(addressAllowed('2001:db8::5', ['2001:db8::/32'])).toBe(true);
    expect(addressAllowed('2001:db9::5', ['2001:db8::/32'])).toBe(false);
    expect(addressAllowed('::ffff:127.0.0.1', ['::ffff:127.0.0.0/104'])).toBe(true);
    expect(addressAllowed('127.0.0.1', ['::1', '::/0'])).toBe(false);
    expect(addressAllowed('::1', ['0.0.0.0/0'])).toBe(false);
    expect(addressAllowed('not-an-address', ['0.0.0.0/0'])).toBe(false);
  });

  it('picks the first of 127.0.0.2 … 127.0.0.9 outside the list', () => {
    expect(refusalSource(['127.0.0.1'])).toBe('127.0.0.2');
    expect(refusalSource(['127.0.0.2', '127.0.0.3'])).toBe('127.0.0.4');
    expect(refusalSource(['127.0.0.0/30'])).toBe('127.0.0.4');
    expect(refusalSource(['127.0.0.0/8'])).toBeUndefined();
    expect(refusalSource(['10.0.0.0/8'])).toBe('127.0.0.2');
  });
});

describe.skipIf(reason)('verification probes on an sftp-only jail', () => {
  let sshd: PrivateSshd;
  let keyDir = '';
  let createdKeysDir = false;
  const user = uniqueUser('sftp');
  let jail = '';
  let target: ProbeTarget;
  let group = '';

  const dropIn = () => join(sshd.dropInDir, `${user}.conf`);
  const writeDropIn = (lines: string[]) => writeFile(dropIn(), [`Match User ${user}`, ...lines.map((l) => `  ${l}`), ''].join('\n'));
  const goodConfig = (forceCommand = 'internal-sftp') => [
    `ChrootDirectory ${jail}`,
    `ForceCommand ${forceCommand}`,
    'DisableForwarding yes',
    'AuthorizedKeysFile /etc/ssh/authorized_keys/%u',
  ];
  /** Runs the probes; on an unexpected outcome the assertion message shows the table and the sshd log. */
  const probe = async (tools: ProbeTarget['tools'], options: Partial<ProbeTarget> = {}) => {
    const results = await runProbes({ ...target, tools, ...options });
    return { results, why: `${formatProbeTable(results)}\n--- sshd log ---\n${await sshdLog(sshd)}` };
  };

  beforeAll(async () => {
    sshd = await startPrivateSshd();
    keyDir = await mkdtemp(join(tmpdir(), 'jw-verify-'));
    const key = await makeClientKey(keyDir);

    // Key-only account: '*' (not '!') so it also works where UsePAM is off.
    await runOk(['useradd', '-M', '-d', `/home/${user}`, '-s', '/usr/sbin/nologin', user]);
    await runOk(['usermod', '-p', '*', user]);
    const uid = Number((await runOk(['id', '-u', user])).stdout);
    const gid = Number((await runOk(['id', '-g', user])).stdout);

    // Root-owned 0755 jail with a user-owned home inside: no binaries needed for internal-sftp.
    jail = join(testJailRoot(), user);
    await mkdir(join(jail, 'home', user), { recursive: true });
    await chmod(jail, 0o755);
    await chmod(join(jail, 'home'), 0o755);
    await chown(join(jail, 'home', user), uid, gid);

    if (!existsSync(KEYS_DIR)) {
      await mkdir(KEYS_DIR, { mode: 0o755 });
      await chmod(KEYS_DIR, 0o755);
      createdKeysDir = true;
    }
    await writeFile(join(KEYS_DIR, user), key.publicKey + '\n', { mode: 0o644 });

    await writeDropIn(goodConfig());
    await sshd.reload();
    target = { user, tools: ['sftp'], jail, host: '127.0.0.1', port: sshd.port, identityFile: key.privateKey };
  });

  afterAll(async () => {
    await sshd?.stop();
    await cleanupTestUsers(TEST_PREFIX);
    if (group) await run(['groupdel', group]);
    await rm(join(KEYS_DIR, user), { force: true });
    if (createdKeysDir && (await readdir(KEYS_DIR).catch(() => ['?'])).length === 0) await rmdir(KEYS_DIR);
    removeTestJailRoot();
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('passes every probe for tools [sftp]', async () => {
    const { results, why } = await probe(['sftp']);
    expect(results.map((r) => r.name)).toEqual([
      'sftp: put/get round trip',
      'escape: /etc/shadow unreadable (sftp)',
      'escape: cd /.. stays in the jail (sftp)',
      'escape: no shell for an sftp-only user',
      'escape: port forwarding refused',
      'escape: cannot write the jail root (sftp)',
      'escape: cannot write /etc/ (sftp)',
      'escape: cannot write /bin/ (sftp)',
      `escape: cannot write /etc/ssh/authorized_keys/${user} (sftp)`,
    ]);
    expect(failed(results), why).toEqual([]);
    // Nothing left behind in the home or the jail root.
    expect(await readdir(join(jail, 'home', user))).toEqual([]);
    expect((await readdir(jail)).sort()).toEqual(['home']);
    console.log(formatProbeTable(results));
  });

  it('reports scp -O as failing for tools [sftp, scp]: ForceCommand internal-sftp refuses it', async () => {
    const { results, why } = await probe(['sftp', 'scp']);
    expect(results.find((r) => r.name === 'scp: round trip (SFTP protocol)')?.ok, why).toBe(true);
    expect(failed(results), why).toEqual(['scp -O: round trip (legacy protocol)']);
  });

  it('fails every probe when the jail root is group-writable (sshd refuses the chroot)', async () => {
    await chmod(jail, 0o775);
    try {
      const { results, why } = await probe(['sftp']);
      expect(results.length).toBeGreaterThan(0);
      expect(failed(results), why).toEqual(results.map((r) => r.name));
      expect(results[0]!.detail).toMatch(/Connection closed|Broken pipe|exit 255/);
    } finally {
      await chmod(jail, 0o755);
    }
    expect(await sshdLog(sshd)).toMatch(/bad ownership or modes for chroot directory/);
  });

  it('catches a missing chroot and allowed forwarding', async () => {
    await writeDropIn(['ForceCommand internal-sftp', 'AuthorizedKeysFile /etc/ssh/authorized_keys/%u']);
    await sshd.reload();
    try {
      const { results, why } = await probe(['sftp']);
      expect(failed(results), why).toEqual([
        // Unjailed, the home /home/<user> does not exist on the host: sftp starts in the
        // host's / and cannot write there.
        'sftp: put/get round trip',
        'escape: cd /.. stays in the jail (sftp)',
        'escape: port forwarding refused',
      ]);
    } finally {
      await writeDropIn(goodConfig());
      await sshd.reload();
    }
  });

  // ---- the options (#5): each probe passes when sshd or the jail does it, and fails when not ----

  const home = () => join(jail, 'home', user);
  /** A drop-in with the jail's Match block, preceded by the Match … Address block allowFrom makes. */
  const writeAllowFromDropIn = async (pattern: string | undefined) => {
    const deny = pattern ? [`Match User ${user} Address ${pattern}`, `  DenyUsers ${user}`] : [];
    await writeFile(dropIn(), [...deny, `Match User ${user}`, ...goodConfig().map((l) => `  ${l}`), ''].join('\n'));
    await sshd.reload();
  };
  const restoreGood = async () => {
    await writeDropIn(goodConfig());
    await sshd.reload();
  };

  it('proves startDir and umask when internal-sftp has -d and -u, and fails them when it has not', async () => {
    try {
      await writeDropIn(goodConfig('internal-sftp -u 0027 -d /home'));
      await sshd.reload();
      const good = await probe(['sftp'], { startDir: '/home', umask: '0027' });
      expect(good.results.map((r) => r.name)).toEqual(expect.arrayContaining(['sftp: session starts in /home', 'sftp: umask 0027 applied', 'sftp: put/get round trip']));
      expect(failed(good.results), good.why).toEqual([]);
      expect(await readdir(home())).toEqual([]);

      await restoreGood();
      const bad = await probe(['sftp'], { startDir: '/home', umask: '0027' });
      expect(failed(bad.results), bad.why).toEqual(['sftp: session starts in /home', 'sftp: umask 0027 applied']);
      expect(bad.results.find((r) => r.name === 'sftp: umask 0027 applied')?.detail).toBe('a 0666 file arrived as 0644, expected 0640');
      expect(await readdir(home())).toEqual([]);
    } finally {
      await restoreGood();
    }
  });

  it('proves readOnly with internal-sftp -R, and fails it when uploads work', async () => {
    try {
      await writeDropIn(goodConfig('internal-sftp -R'));
      await sshd.reload();
      const good = await probe(['sftp'], { readOnly: true });
      expect(good.results.map((r) => r.name)).toContain('sftp: read-only: upload refused');
      expect(good.results.map((r) => r.name)).not.toContain('sftp: put/get round trip');
      expect(failed(good.results), good.why).toEqual([]);
      expect(good.results.find((r) => r.name === 'sftp: read-only: upload refused')?.detail).toMatch(/Permission denied/);

      await restoreGood();
      const bad = await probe(['sftp'], { readOnly: true });
      expect(failed(bad.results), bad.why).toEqual(['sftp: read-only: upload refused']);
      // The upload that got through was taken away again.
      expect(await readdir(home())).toEqual([]);
    } finally {
      await restoreGood();
    }
  });

  it('proves allowFrom only when sshd refuses the other source, and runs only that probe when the probes\' own source is not allowed', async () => {
    try {
      await writeAllowFromDropIn('*,!127.0.0.1');
      const good = await probe(['sftp'], { allowFrom: ['127.0.0.1'] });
      expect(good.results.at(-1)?.name).toBe('source: login from 127.0.0.2 refused');
      expect(failed(good.results), good.why).toEqual([]);
      expect(await sshdLog(sshd)).toMatch(new RegExp(`User ${user} from 127\\.0\\.0\\.2 not allowed because listed in DenyUsers`));

      // Without the Match … Address block the key (no from= here) gets in from anywhere.
      await writeAllowFromDropIn(undefined);
      const bad = await probe(['sftp'], { allowFrom: ['127.0.0.1'] });
      expect(failed(bad.results), bad.why).toEqual(['source: login from 127.0.0.2 refused']);
      expect(bad.results.at(-1)?.detail).toMatch(/logged in from 127\.0\.0\.2/);

      // allowFrom without any loopback address: nothing but the refusal can be proved here.
      await writeAllowFromDropIn('*,!10.0.0.0/8');
      const only = await probe(['sftp'], { allowFrom: ['10.0.0.0/8'] });
      expect(only.results.map((r) => r.name)).toEqual(['source: login from 127.0.0.2 refused']);
      expect(failed(only.results), only.why).toEqual([]);
      expect(only.results[0]!.detail).toMatch(/the only probe run: allowFrom \(10\.0\.0\.0\/8\) does not include 127\.0\.0\.1/);
    } finally {
      await restoreGood();
    }
  });

  it('proves log through a /dev/log socket in the jail, and fails it when internal-sftp does not log', async () => {
    let rs: PrivateRsyslog | undefined;
    try {
      rs = await startPrivateRsyslog();
      await mkdir(join(jail, 'dev'), { mode: 0o755 });
      await chmod(join(jail, 'dev'), 0o755);
      await writeFile(join(rs.dropInDir, 'jail.conf'), `input(type="imuxsock" Socket="${jail}/dev/log" CreatePath="on")\n`);
      await rs.restart();
      await writeDropIn(goodConfig('internal-sftp -l INFO -f AUTH'));
      await sshd.reload();
      const name = `log: upload appears in ${rs.logFile}`;
      const good = await probe(['sftp'], { log: true, logFile: rs.logFile });
      expect(failed(good.results), good.why).toEqual([]);
      expect(good.results.find((r) => r.name === name)?.detail).toMatch(/internal-sftp\[\d+\]: open ".*jwprobe-[0-9a-f]+-log" flags WRITE,CREATE,TRUNCATE/);

      // Read-only: the refused upload is logged all the same.
      await writeDropIn(goodConfig('internal-sftp -R -l INFO -f AUTH'));
      await sshd.reload();
      const ro = await probe(['sftp'], { log: true, readOnly: true, logFile: rs.logFile });
      expect(failed(ro.results), ro.why).toEqual([]);

      await restoreGood();
      const bad = await probe(['sftp'], { log: true, logFile: rs.logFile });
      expect(failed(bad.results), bad.why).toEqual([name]);
      const none = await probe(['sftp'], { log: true });
      expect(none.results.find((r) => r.name === 'log: upload appears in the syslog')?.detail).toMatch(/names no log file/);
    } finally {
      await rs?.stop();
      await rm(join(jail, 'dev'), { recursive: true, force: true });
      await restoreGood();
    }
  });

  it('proves writable, group and bind dirs, and fails each when the jail gets it wrong', async () => {
    const uid = Number((await runOk(['id', '-u', user])).stdout);
    group = `${TEST_PREFIX}grp`;
    await runOk(['groupadd', group]);
    await runOk(['usermod', '-aG', group, user]);
    const gid = Number((await runOk(['getent', 'group', group])).stdout.split(':')[2]);
    const source = await mkdtemp(join(tmpdir(), 'jw-bind-'));
    await writeFile(join(source, 'index.html'), 'hello\n');
    await chmod(source, 0o777); // so that only the mount's ro can refuse the user
    const web = join(jail, 'web');
    await mkdir(web);
    let mounted = false;
    const mount = async (ro: boolean) => {
      if (mounted) await runOk(['umount', web]);
      await runOk(['mount', '--bind', source, web]);
      await runOk(['mount', '-o', `remount,bind,${ro ? 'ro' : 'rw'},nodev,nosuid,noexec`, web]);
      mounted = true;
    };
    try {
      await mkdir(join(jail, 'upload'));
      await chown(join(jail, 'upload'), uid, gid);
      await chmod(join(jail, 'upload'), 0o750);
      await mkdir(join(jail, 'shared'));
      await chown(join(jail, 'shared'), 0, gid);
      await chmod(join(jail, 'shared'), 0o2770);
      await mount(true);
      const options: Partial<ProbeTarget> = { writable: '/upload', group, groupDir: '/shared', binds: [{ source, target: '/web', readOnly: true }] };
      const good = await probe(['sftp'], options);
      expect(good.results.map((r) => r.name)).toEqual(
        expect.arrayContaining(['writable /upload: upload works', `group dir /shared: new file gets group ${group}`, 'bind /web: readable', 'bind /web: write refused']),
      );
      expect(failed(good.results), good.why).toEqual([]);
      expect(await readdir(join(jail, 'upload'))).toEqual([]);
      expect(await readdir(join(jail, 'shared'))).toEqual([]);

      // A rw bind: the file shows up in the host dir.
      await mount(false);
      const rw = await probe(['sftp'], { binds: [{ source, target: '/web', readOnly: false }] });
      expect(failed(rw.results), rw.why).toEqual([]);
      expect(rw.results.find((r) => r.name === 'bind /web: writable')?.ok).toBe(true);
      expect(await readdir(source)).toEqual(['index.html']);

      // Wrong: a root-owned upload dir, a group dir without setgid, a bind left writable.
      await chown(join(jail, 'upload'), 0, 0);
      await chmod(join(jail, 'shared'), 0o770);
      const bad = await probe(['sftp'], options);
      expect(failed(bad.results), bad.why).toEqual(['sftp: put/get round trip', 'writable /upload: upload works', `group dir /shared: new file gets group ${group}`, 'bind /web: write refused']);
      expect(bad.results.find((r) => r.name.startsWith('group dir'))?.detail).toMatch(new RegExp(`got gid \\d+, not ${group} \\(${gid}\\)`));
      expect(await readdir(source)).toEqual(['index.html']);
      expect(await readdir(join(jail, 'shared'))).toEqual([]);
    } finally {
      if (mounted) await run(['umount', web]);
      await rm(web, { recursive: true, force: true });
      await rm(join(jail, 'upload'), { recursive: true, force: true });
      await rm(join(jail, 'shared'), { recursive: true, force: true });
      await rm(source, { recursive: true, force: true });
    }
  });
});
