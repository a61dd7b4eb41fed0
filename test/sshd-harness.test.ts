// The test harness itself: a private sshd we can log in to and reload, and host
// snapshots that notice account changes and come back identical after a round trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runOk } from '../src/host/run.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { makeClientKey, sshClientOptions, sshdLog, startPrivateSshd, type PrivateSshd } from './helpers/sshd.ts';
import { diffSnapshots, snapshotHost } from './helpers/host-snapshot.ts';
import { cleanupTestUsers, TEST_PREFIX, uniqueUser } from './helpers/names.ts';

const reason = rootOrSkipReason();

describe.skipIf(reason)('private sshd harness', () => {
  let sshd: PrivateSshd | undefined;
  let keyDir = '';
  let key = '';
  const user = uniqueUser('plain');

  const sshAs = (u: string, port: number, command: string) =>
    run(['ssh', ...sshClientOptions(key), '-p', String(port), `${u}@127.0.0.1`, command], { timeoutMs: 30_000 });

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'jw-harness-'));
    key = (await makeClientKey(keyDir)).privateKey;
    // A normal, non-jailed user with the key in its own ~/.ssh/authorized_keys.
    await runOk(['useradd', '-m', '-s', '/bin/bash', user]);
    await runOk(['usermod', '-p', '*', user]);
    const home = `/home/${user}`;
    const { uid, gid } = await stat(home);
    await mkdir(`${home}/.ssh`, { mode: 0o700 });
    await copyFile(`${key}.pub`, `${home}/.ssh/authorized_keys`);
    await chmod(`${home}/.ssh/authorized_keys`, 0o600);
    await chown(`${home}/.ssh`, uid, gid);
    await chown(`${home}/.ssh/authorized_keys`, uid, gid);
    sshd = await startPrivateSshd();
  });

  afterAll(async () => {
    await sshd?.stop();
    await cleanupTestUsers(TEST_PREFIX);
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  it('logs a normal user in with a key (stock config, UsePAM yes)', async () => {
    const r = await sshAs(user, sshd!.port, 'id -un; cat /proc/self/loginuid');
    expect(r.exitCode, `${r.stderr}\n${await sshdLog(sshd!)}`).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(user);
  });

  it('keeps listening, with the same pid, after reload() and after a bare SIGHUP', async () => {
    const s = sshd!;
    const pid = readFileSync(s.pidFile, 'utf8').trim();
    await s.reload();
    expect((await sshAs(user, s.port, 'true')).exitCode).toBe(0);
    // As the tool under test does it: SIGHUP to the pid in the PidFile, then wait.
    process.kill(Number(pid), 'SIGHUP');
    await s.waitReady();
    expect((await sshAs(user, s.port, 'true')).exitCode).toBe(0);
    expect(readFileSync(s.pidFile, 'utf8').trim()).toBe(pid);
    expect(await sshdLog(s)).toMatch(/Received SIGHUP; restarting/);
  });

  it('stop() ends sshd and removes its temp dir, also after a SIGHUP', async () => {
    const other = await startPrivateSshd();
    const pid = Number(readFileSync(other.pidFile, 'utf8').trim());
    process.kill(pid, 'SIGHUP');
    await other.waitReady();
    await other.stop();
    expect(existsSync(other.dir)).toBe(false);
    let procStat = '';
    try {
      procStat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      // gone
    }
    // Gone, or a zombie: PID 1 in this container does not reap orphans.
    expect(procStat === '' || /\) Z /.test(procStat)).toBe(true);
    const r = await sshAs(user, other.port, 'true');
    expect(r.exitCode).toBe(255);
  });

  it('snapshots notice a new user and are identical after useradd + userdel', async () => {
    const temp = uniqueUser('snap');
    const before = await snapshotHost({ dirs: ['/etc/ssh/sshd_config.d'] });
    await runOk(['useradd', '-M', '-s', '/usr/sbin/nologin', temp]);
    try {
      const during = await snapshotHost({ dirs: ['/etc/ssh/sshd_config.d'] });
      const diff = diffSnapshots(before, during);
      expect(diff.some((l) => l.includes(`/etc/passwd + ${temp}:`))).toBe(true);
      expect(diff.some((l) => l.startsWith('/etc/shadow:'))).toBe(true);
    } finally {
      await runOk(['userdel', temp]);
    }
    const after = await snapshotHost({ dirs: ['/etc/ssh/sshd_config.d'] });
    expect(diffSnapshots(before, after)).toEqual([]);
  });
});
