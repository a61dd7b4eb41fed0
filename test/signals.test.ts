// A dropped SSH session (SIGHUP), SIGTERM or Ctrl+C signals jailwizard's whole process group,
// so the child running at that moment gets the signal too. Whatever kind of child it is,
// the admin must read "interrupted by SIG…", find the host as it was, and get exit 128+N.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { closeQuietly, descendants, holdFifoReader, holdPasswdLock, mkfifo, resume, signalGroup, startGroup, waitFor, type Started } from './helpers/signal.ts';
import { run } from '../src/host/run.ts';
import type { Answers } from '../src/model/types.ts';

const skip = rootOrSkipReason();

/** The 1-based number of the plan step whose title starts with `title`, from --dry-run. */
async function stepNumber(env: TestEnv, cfg: string, title: string): Promise<number> {
  const r = await jw(env, ['apply', '--config', cfg, '--dry-run']);
  expect(r.exitCode, out(r)).toBe(0);
  const m = new RegExp(`^# Step (\\d+): ${title}`, 'm').exec(r.stdout);
  if (!m) throw new Error(`no step "${title}" in:\n${r.stdout}`);
  return Number(m[1]);
}

describe.skipIf(skip)('a signal that reaches a child is the interruption, rolled back, exit 128+N', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  /** What every interrupted apply must end with. */
  async function expectInterrupted(s: Started, sig: NodeJS.Signals, code: number, before: Awaited<ReturnType<typeof snapshot>>): Promise<void> {
    const done = await s.exited;
    expectInterruptedOutput(s, done, sig, code);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
  }

  function expectInterruptedOutput(s: Started, done: { code: number | null }, sig: NodeJS.Signals, code: number): void {
    expect(done.code, s.output()).toBe(code);
    expect(s.stderr()).toContain(`interrupted by ${sig}`);
    expect(s.stderr()).toContain('Rollback complete');
    // Never the child's own error: not a config error, not a failed command or probe.
    expect(s.stderr()).not.toMatch(/rejects|failed \(exit|killed with|could not log in/);
    expect(s.stdout()).not.toContain('✗');
  }

  /**
   * Applies `a` paused before `pauseTitle`; then a FIFO at `fifo` (made by `place`) holds the
   * first process that reads it; `isChild` must find that child among jailwizard's; then
   * the group gets `sig`.
   */
  async function interruptReader(a: Partial<Answers> & { user: string }, pauseTitle: string, fifo: string, isChild: (argv: string[], comm: string) => boolean, sig: NodeJS.Signals, code: number): Promise<void> {
    const cfg = answersFile(env, a);
    const pauseAt = await stepNumber(env, cfg, pauseTitle);
    const before = await snapshot(env);
    const s = startGroup(env, ['apply', '--config', cfg, '--yes'], { pauseAt });
    let fd: number | undefined;
    try {
      await s.paused;
      await mkfifo(fifo);
      resume(s);
      fd = await waitFor(() => holdFifoReader(fifo), `a reader of ${fifo}`, s);
      const kid = descendants(s.pid).find((p) => isChild(p.argv, p.comm));
      expect(kid, `the child is running: ${JSON.stringify(descendants(s.pid))}`).toBeDefined();
      // The reader keeps its open FIFO; the name goes now, so the rollback never meets it.
      unlinkSync(fifo);
      signalGroup(s, sig);
      // The reader stays blocked until jailwizard is done: nothing it does races the rollback.
      const done = await s.exited;
      expectInterruptedOutput(s, done, sig, code);
    } finally {
      if (existsSync(fifo)) rmSync(fifo, { force: true });
      closeQuietly(fd);
    }
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
  }

  it('SIGTERM while the connection test runs sshd -T: "interrupted by SIGTERM", not "sshd rejects its configuration", exit 143', async () => {
    const user = uniqueUser('sigsshdt');
    await interruptReader(
      { user, tools: ['sftp'] },
      'Record the jail',
      path.join(env.sshd.dropInDir, `zz-${user}.conf`),
      (argv, comm) => comm === 'sshd' && argv.includes('-T'),
      'SIGTERM',
      143,
    );
  });

  it('SIGHUP while a step validates the drop-in with sshd -t: exit 129', async () => {
    const user = uniqueUser('sigsshdv');
    await interruptReader(
      { user, tools: ['sftp'] },
      'Add the sshd drop-in',
      path.join(env.sshd.dropInDir, `zz-${user}.conf`),
      (argv, comm) => comm === 'sshd' && argv.includes('-t'),
      'SIGHUP',
      129,
    );
  });

  it('SIGTERM while a probe\'s ssh client waits (ssh catches it and exits 255): the rest of the probes do not run, exit 143', async () => {
    const user = uniqueUser('sigssh');
    // An existing account, adopted: its session (held by the FIFO) cannot hold up a userdel.
    const made = await run(['useradd', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    expect(made.exitCode, made.stderr).toBe(0);
    // bash reads /etc/bash.bashrc when sshd runs it: inside the jail, the test's FIFO.
    await interruptReader(
      { user, tools: ['bash'], createUser: false },
      'Record the jail',
      path.join(env.jailRoot, user, 'etc/bash.bashrc'),
      (_argv, comm) => comm === 'ssh',
      'SIGTERM',
      143,
    );
  });

  it('SIGINT (Ctrl+C) while useradd waits for the passwd lock: exit 130, no user made', async () => {
    const user = uniqueUser('siguseradd');
    const cfg = answersFile(env, { user, tools: ['sftp'] });
    const before = await snapshot(env);
    const lock = await holdPasswdLock();
    let s: Started | undefined;
    try {
      s = startGroup(env, ['apply', '--config', cfg, '--yes']);
      const started = s;
      await waitFor(() => descendants(started.pid).find((p) => p.comm === 'useradd' && p.argv.includes(user)), 'useradd to run', s);
      signalGroup(s, 'SIGINT');
    } finally {
      await lock.release();
    }
    await expectInterrupted(s, 'SIGINT', 130, before);
  });
});

describe.skipIf(skip)('interrupting update --all', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it('Ctrl+C rolls back the jail being updated, stops before the next one, and exits 130', async () => {
    // Sorted by name, as update --all goes: first, then second.
    const [first, second] = [uniqueUser('updalla'), uniqueUser('updallb')];
    for (const user of [first, second]) {
      const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['rsync'] }), '--yes', '--no-test']);
      expect(r.exitCode, out(r)).toBe(0);
      // A copy gone from each jail: update has one file to put back (step 1), then the record (step 2).
      rmSync(path.join(env.jailRoot, user, 'usr/bin/rsync'));
    }
    const before = await snapshot(env);
    const s = startGroup(env, ['update', '--all', '--yes'], { pauseAt: 2 });
    await s.paused;
    expect(s.stdout()).toContain(`${first}: 0 changed, 1 added, 0 removed`);
    signalGroup(s, 'SIGINT');
    const done = await s.exited;
    expect(done.code, s.output()).toBe(130);
    expect(s.stderr()).toContain(`${first}: interrupted by SIGINT`);
    expect(s.stderr()).toContain('Rollback complete');
    expect(s.stderr()).toContain('Stopped: 1 more jail was not updated.');
    expect(s.stdout()).not.toContain(`${second}:`);
    // The first jail is as it was before the update (its copy put back, then taken away
    // again by the rollback); the second was never touched.
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);

    const again = await jw(env, ['update', '--all', '--yes']);
    expect(again.exitCode, out(again)).toBe(0);
    for (const user of [first, second]) {
      expect(existsSync(path.join(env.jailRoot, user, 'usr/bin/rsync'))).toBe(true);
      const r = await jw(env, ['remove', user, '--yes']);
      expect(r.exitCode, out(r)).toBe(0);
    }
  });
});
