// Faults: every one must leave the host byte-identical to before the apply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, chmodSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { BIN, answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run } from '../src/host/run.ts';

const skip = rootOrSkipReason();
const FOUR = ['bash', 'rsync', 'scp', 'sftp'] as const;

/** Starts apply paused before a step; resolves once it says so. */
function startPaused(env: TestEnv, cfg: string, step: number) {
  const child = spawn(process.execPath, [BIN, 'apply', '--config', cfg, '--yes', '--no-test', ...env.common], {
    env: { ...process.env, JAILWIZARD_PAUSE_AT: String(step) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const paused = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes(`paused before step ${step}`)) resolve();
    });
    child.on('exit', () => reject(new Error(`apply exited before pausing:\n${stdout}\n${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: () => string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr: () => `${stdout}\n${stderr}` })),
  );
  return { child, paused, exited };
}

describe.skipIf(skip)('faults roll back to a byte-identical host', () => {
  let env: TestEnv;
  let steps = 0;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it('counts the steps of a four-tool plan', async () => {
    const r = await jw(env, ['apply', '--config', answersFile(env, { user: uniqueUser('count'), tools: [...FOUR] }), '--dry-run']);
    steps = (r.stdout.match(/^# Step \d+:/gm) ?? []).length;
    expect(steps).toBeGreaterThanOrEqual(8);
  });

  it('rolls back a forced failure at every step index', async () => {
    expect(steps).toBeGreaterThan(0);
    const before = await snapshot(env);
    for (let i = 1; i <= steps; i++) {
      const user = uniqueUser(`fail${i}`);
      const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: [...FOUR] }), '--yes', '--no-test'], { env: { JAILWIZARD_FAIL_AT: String(i) } });
      expect(r.exitCode, `step ${i}\n${out(r)}`).toBe(1);
      expect(r.stderr).toContain(`forced failure at step ${i}`);
      expect(r.stderr).toContain('Rollback complete');
      expect(diffSnapshots(before, await snapshot(env)), `after a failure at step ${i}`).toEqual([]);
      expect(hasUnfinishedJournal(env)).toBe(false);
    }
  });

  it('rolls back the whole apply when the connection test fails', async () => {
    // Another drop-in that denies the user: sshd -T still shows the jail, but no login works.
    const user = uniqueUser('denied');
    const deny = path.join(env.sshd.dropInDir, '00-deny.conf');
    writeFileSync(deny, `DenyUsers ${user}\n`);
    try {
      const before = await snapshot(env);
      const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'] }), '--yes']);
      expect(r.exitCode, out(r)).toBe(1);
      expect(r.stdout).toContain('✗ sftp: put/get round trip');
      expect(r.stderr).toMatch(/connection test: \d+ probe\(s\) failed/);
      expect(r.stderr).toContain('Rollback complete');
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    } finally {
      unlinkSync(deny);
    }
  });

  it('says the disk is full on a 3 MiB tmpfs, and rolls back', async () => {
    const mnt = path.join(env.jailRoot, 'small');
    mkdirSync(mnt);
    const m = await run(['mount', '-t', 'tmpfs', '-o', 'size=3m,mode=0755', 'jwtest-tmpfs', mnt]);
    expect(m.exitCode, m.stderr).toBe(0);
    try {
      chmodSync(mnt, 0o755);
      const before = await snapshot(env);
      const user = uniqueUser('full');
      const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: [...FOUR], jail: path.join(mnt, user) }), '--yes', '--no-test']);
      expect(r.exitCode, out(r)).toBe(1);
      expect(r.stderr).toMatch(/the disk is full/);
      expect(r.stderr).toContain('Rollback complete');
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    } finally {
      await run(['umount', mnt]);
      rmdirSync(mnt);
    }
  });

  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
    it(`rolls back on ${sig} mid-run`, async () => {
      const before = await snapshot(env);
      const user = uniqueUser(sig.toLowerCase());
      const p = startPaused(env, answersFile(env, { user, tools: [...FOUR] }), 5);
      await p.paused;
      p.child.kill(sig);
      const done = await p.exited;
      const expected = { SIGINT: 130, SIGHUP: 129, SIGTERM: 143 }[sig];
      expect(done.code, done.stderr()).toBe(expected);
      expect(done.stderr()).toContain('Rollback complete');
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
      expect(hasUnfinishedJournal(env)).toBe(false);
    });
  }

  it('prints what it could not undo as manual commands, with exit 4', async () => {
    const before = await snapshot(env);
    const user = uniqueUser('stray');
    const jail = path.join(env.jailRoot, user);
    const p = startPaused(env, answersFile(env, { user, tools: [...FOUR] }), 5);
    await p.paused;
    // Someone drops a file into the half-built jail: the jail dir can no longer be rmdir'ed.
    writeFileSync(path.join(jail, 'stray-file'), 'not jailwizard\'s');
    p.child.kill('SIGTERM');
    const done = await p.exited;
    expect(done.code, done.stderr()).toBe(4);
    expect(done.stderr()).toContain('could not be undone; run them by hand');
    expect(done.stderr()).toContain(`rmdir ${jail}`);
    expect(hasUnfinishedJournal(env)).toBe(false);
    // Doing by hand what it printed restores the host.
    unlinkSync(path.join(jail, 'stray-file'));
    rmdirSync(jail);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('a remove that fails half-way puts the jail back as it was, symlinks included, and the user still logs in', async () => {
    const user = uniqueUser('rmfail');
    const jail = path.join(env.jailRoot, user);
    expect((await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['bash'] }), '--yes', '--no-test'])).exitCode).toBe(0);
    const before = await snapshot(env);
    // Someone else's file: the jail's usr/lib can no longer be removed.
    writeFileSync(path.join(jail, 'usr/lib/stray-file'), 'not jailwizard\'s');
    const r = await jw(env, ['remove', user, '--yes']);
    expect(r.exitCode, out(r)).toBe(1);
    expect(r.stderr).toContain('Rollback complete');
    expect(r.stderr).not.toContain('run them by hand');
    unlinkSync(path.join(jail, 'usr/lib/stray-file'));
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    const t = await jw(env, ['test', user]);
    expect(t.exitCode, out(t)).toBe(0);
    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
  });

  it('after kill -9, refuses new changes until `rollback` restores the host', async () => {
    const before = await snapshot(env);
    const user = uniqueUser('kill9');
    const cfg = answersFile(env, { user, tools: [...FOUR] });
    const p = startPaused(env, cfg, 6);
    await p.paused;
    p.child.kill('SIGKILL');
    await p.exited;
    expect(hasUnfinishedJournal(env)).toBe(true);
    expect(diffSnapshots(before, await snapshot(env))).not.toEqual([]);

    const refused = await jw(env, ['apply', '--config', cfg, '--yes']);
    expect(refused.exitCode, out(refused)).toBe(2);
    expect(refused.stderr).toContain('jailwizard rollback');
    const refusedRemove = await jw(env, ['remove', user, '--yes']);
    expect(refusedRemove.exitCode).toBe(2);

    const rb = await jw(env, ['rollback', '--yes']);
    expect(rb.exitCode, out(rb)).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);

    const nothing = await jw(env, ['rollback']);
    expect(nothing.exitCode).toBe(0);
    expect(nothing.stdout).toContain('Nothing to roll back');
  });
});
