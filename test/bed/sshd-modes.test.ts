// Debian 13 booted with systemd, sshd in both of its modes: ssh.service (sshd binds the port
// itself; reload, never restart) and ssh.socket (systemd holds the port and starts sshd on the
// first connection, as Ubuntu 24.04 does by default). In each: preflight names the mode,
// apply and remove exit 0 with an established session kept open the whole time, the Match
// block applies to the next connection, and ssh.service is never left failed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedSkipReason, removePackedTarball } from '../helpers/nspawn.ts';
import { answersIn, expectSameAs, preflightScreen, jwIn, out, snapshotIn, sshIn, startBed, step, stopBed, unitState, type Bed } from './bed.ts';
import type { HostSnapshot } from '../helpers/host-snapshot.ts';
import type { RunResult } from '../../src/host/run.ts';

const skip = bedSkipReason();
afterAll(removePackedTarball);

/** A session that stays open: prints a tick every 0.5 s for `seconds`, then "done". */
function openSession(bed: Bed, seconds: number): Promise<RunResult> {
  return sshIn(bed, 'root', `for i in $(seq 1 ${seconds * 2}); do echo tick $i; sleep 0.5; done; echo done`, { timeoutMs: (seconds + 60) * 1000 });
}

async function switchToSocket(bed: Bed): Promise<void> {
  await step(bed, ['systemctl', 'disable', '--now', 'ssh.service']);
  await step(bed, ['systemctl', 'enable', '--now', 'ssh.socket']);
}

describe.skipIf(skip)('Debian 13: ssh.service and ssh.socket', () => {
  let bed: Bed;
  let clean: HostSnapshot;
  beforeAll(async () => {
    bed = await startBed('debian13-amd64', 'modes');
    clean = await snapshotIn(bed);
  }, 40 * 60_000);
  afterAll(async () => {
    await stopBed(bed, 'Debian 13: ssh.service and ssh.socket');
  }, 180_000);

  it('ssh.service: preflight names it; apply reloads (same pid), an open session survives, remove restores every byte', { timeout: 600_000 }, async () => {
    expect(await preflightScreen(bed)).toMatch(/✓ sshd: ssh\.service running \(pid \d+\); reload with: systemctl reload ssh\.service/);
    const pid = (await unitState(bed, 'ssh.service')).MainPID;
    const session = openSession(bed, 12);
    const applied = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'svcuser', tools: ['bash', 'rsync', 'scp', 'sftp'], jail: '/srv/jails/svcuser' }), '--yes']);
    expect(applied.exitCode, out(applied)).toBe(0);
    expect(applied.stdout).toMatch(/Done: svcuser is jailed/);
    expect((await unitState(bed, 'ssh.service')).MainPID, 'reloaded, not restarted').toBe(pid);
    expect((await sshIn(bed, 'svcuser', 'ls /')).stdout).not.toMatch(/\bboot\b/);
    const s = await session;
    expect(s.stdout, out(s)).toMatch(/tick 24\ndone/);
    const removed = await jwIn(bed, ['remove', 'svcuser', '--yes']);
    expect(removed.exitCode, out(removed)).toBe(0);
    expect(await unitState(bed, 'ssh.service')).toMatchObject({ ActiveState: 'active', MainPID: pid });
    await expectSameAs(bed, clean);
  });

  it('ssh.socket before any connection (/run/sshd absent): apply and remove exit 0, ssh.service never fails', { timeout: 600_000 }, async () => {
    await switchToSocket(bed);
    expect((await step(bed, ['test', '-e', '/run/sshd'])).exitCode, '/run/sshd is gone once ssh.service stopped').not.toBe(0);
    const pre = await preflightScreen(bed);
    expect(pre).toMatch(/✓ sshd: socket-activated by ssh\.socket, ssh\.service idle/);
    expect(pre).toMatch(/✓ sshd changes: systemctl stop ssh\.service \(socket restarts it; sessions stay\)/);
    const before = await snapshotIn(bed);
    const applied = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'sockuser', tools: ['bash', 'rsync', 'scp', 'sftp'], jail: '/srv/jails/sockuser' }), '--yes']);
    expect(applied.exitCode, out(applied)).toBe(0);
    expect((await unitState(bed, 'ssh.service')).Result).not.toBe('exit-code');
    expect((await unitState(bed, 'ssh.socket')).ActiveState).toBe('active');
    const removed = await jwIn(bed, ['remove', 'sockuser', '--yes']);
    expect(removed.exitCode, out(removed)).toBe(0);
    expect(await unitState(bed, 'ssh.service')).not.toMatchObject({ ActiveState: 'failed' });
    await expectSameAs(bed, before);
  });

  it('ssh.socket with sshd running: apply with a session open, the next connection is jailed, sessions survive, nothing fails', { timeout: 600_000 }, async () => {
    const before = await snapshotIn(bed);
    const session = openSession(bed, 15); // this connection starts ssh.service
    await new Promise((r) => setTimeout(r, 1500));
    expect((await unitState(bed, 'ssh.service')).ActiveState).toBe('active');
    const applied = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'runuser', tools: ['sftp'], jail: '/srv/jails/runuser' }), '--yes']);
    expect(applied.exitCode, out(applied)).toBe(0);
    const state = await unitState(bed, 'ssh.service');
    expect(state.ActiveState === 'failed' || state.Result === 'exit-code', JSON.stringify(state)).toBe(false);
    // The next connection gets the new Match block: sftp-only.
    const shell = await sshIn(bed, 'runuser', 'id');
    expect(shell.stdout + shell.stderr).toMatch(/only sftp|This service allows sftp connections only/i);
    const s = await session;
    expect(s.stdout, out(s)).toMatch(/tick 30\ndone/);
    const removed = await jwIn(bed, ['remove', 'runuser', '--yes']);
    expect(removed.exitCode, out(removed)).toBe(0);
    expect((await unitState(bed, 'ssh.service')).ActiveState).not.toBe('failed');
    await expectSameAs(bed, before);
  });

  it('ssh.socket: a failed apply rolls back with exit 1 and a killed one is finished by `rollback` with exit 0; nothing fails, every byte is back', { timeout: 600_000 }, async () => {
    const before = await snapshotIn(bed);
    const config = answersIn(bed, { user: 'rbuser', tools: ['sftp'], jail: '/srv/jails/rbuser' });
    // Step 6 of 6 (the record) fails after step 5 stopped ssh.service for the new drop-in.
    const failed = await jwIn(bed, ['apply', '--config', config, '--yes'], { env: { JAILWIZARD_FAIL_AT: '6' }, what: 'JAILWIZARD_FAIL_AT=6 jailwizard apply --config rbuser.json --yes' });
    expect(failed.exitCode, out(failed)).toBe(1);
    expect(failed.stderr).toMatch(/Rollback complete/);
    expect((await unitState(bed, 'ssh.service')).ActiveState).not.toBe('failed');
    await expectSameAs(bed, before);

    // Paused before step 6, then killed with -9: the journal is left for `rollback`.
    const started = await step(bed, ['sh', '-c', 'JAILWIZARD_PAUSE_AT=6 jailwizard apply --config "$1" --yes >/root/paused.log 2>&1 & echo $!', 'sh', config], { what: 'JAILWIZARD_PAUSE_AT=6 jailwizard apply --config rbuser.json --yes &' });
    const pid = started.stdout.trim();
    for (let i = 0; ; i++) {
      if ((await bed.c.exec(['grep', '-q', 'paused before step 6', '/root/paused.log'])).exitCode === 0) break;
      if (i > 600) throw new Error(`apply did not pause: ${(await bed.c.exec(['cat', '/root/paused.log'])).stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await step(bed, ['kill', '-9', pid])).exitCode).toBe(0);
    const refused = await jwIn(bed, ['apply', '--config', config, '--yes']);
    expect(refused.exitCode, 'an unfinished journal blocks changes').toBe(2);
    const rolled = await jwIn(bed, ['rollback', '--yes']);
    expect(rolled.exitCode, out(rolled)).toBe(0);
    expect((await unitState(bed, 'ssh.service')).ActiveState).not.toBe('failed');
    expect((await unitState(bed, 'ssh.socket')).ActiveState).toBe('active');
    expect((await sshIn(bed, 'root', 'echo still reachable')).stdout).toBe('still reachable\n');
    await expectSameAs(bed, before);
  });
});
