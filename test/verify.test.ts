// The probes against a hand-made sftp-only jail on a private sshd: they pass when the
// jail is right, and the right ones fail when it is broken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../src/run.ts';
import { formatProbeTable, runProbes, type ProbeResult, type ProbeTarget } from '../src/verify.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { makeClientKey, sshdLog, startPrivateSshd, type PrivateSshd } from './helpers/sshd.ts';
import { cleanupTestUsers, removeTestJailRoot, TEST_PREFIX, testJailRoot, uniqueUser } from './helpers/names.ts';

const reason = rootOrSkipReason();
const KEYS_DIR = '/etc/ssh/authorized_keys';

const failed = (rs: ProbeResult[]) => rs.filter((r) => !r.ok).map((r) => r.name);

describe.skipIf(reason)('verification probes on an sftp-only jail', () => {
  let sshd: PrivateSshd;
  let keyDir = '';
  let createdKeysDir = false;
  const user = uniqueUser('sftp');
  let jail = '';
  let target: ProbeTarget;

  const dropIn = () => join(sshd.dropInDir, `${user}.conf`);
  const writeDropIn = (lines: string[]) => writeFile(dropIn(), [`Match User ${user}`, ...lines.map((l) => `  ${l}`), ''].join('\n'));
  const goodConfig = () => [
    `ChrootDirectory ${jail}`,
    'ForceCommand internal-sftp',
    'DisableForwarding yes',
    'AuthorizedKeysFile /etc/ssh/authorized_keys/%u',
  ];
  /** Runs the probes; on an unexpected outcome the assertion message shows the table and the sshd log. */
  const probe = async (tools: ProbeTarget['tools']) => {
    const results = await runProbes({ ...target, tools });
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
});
