// Removing jails in any order (#11 items 1 and 7): several jails under one parent that the
// first apply made, and a shared jail with three users. Every remove must exit 0, the users
// still there must keep logging in with the real clients, and once the last one is gone the
// host must be byte-identical to before the first apply.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from '../src/host/run.ts';
import type { Answers, Tool } from '../src/model/types.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, hasUnfinishedJournal, jw, out, removeLeftJails, setupEnv, sftpAs, snapshot, sshAs, startPaused, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { sshClientOptions } from './helpers/sshd.ts';

const skip = rootOrSkipReason();

/** Every order of the items of xs. */
function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe.skipIf(skip)('removing jails in any order', () => {
  let env: TestEnv;
  /** Users applied here that a failed test may leave behind. */
  const applied: string[] = [];
  beforeAll(async () => {
    env = await setupEnv();
    writeFileSync(path.join(env.work, 'payload'), 'a file the users upload\n');
  });
  afterAll(async () => {
    if (env) {
      await removeLeftJails(env, applied);
    }
    await teardownEnv(env);
  });

  async function apply(a: Partial<Answers> & { user: string }): Promise<void> {
    applied.push(a.user);
    const r = await jw(env, ['apply', '--config', answersFile(env, a), '--yes', '--no-test']);
    expect(r.exitCode, out(r)).toBe(0);
  }

  async function remove(user: string): Promise<RunResult> {
    const r = await jw(env, ['remove', user, '--yes']);
    expect(r.exitCode, `remove ${user}\n${out(r)}`).toBe(0);
    expect(hasUnfinishedJournal(env)).toBe(false);
    return r;
  }

  /** The user logs in with each of its tools' real client and moves a file both ways. */
  async function expectLogsIn(user: string, tools: Tool[]): Promise<void> {
    const payload = path.join(env.work, 'payload');
    const back = path.join(env.work, `back-${user}`);
    const ssh = ['ssh', ...sshClientOptions(env.key.privateKey), '-p', String(env.sshd.port)].join(' ');
    for (const tool of tools) {
      let r: RunResult;
      if (tool === 'bash') {
        r = await sshAs(env, user, 'echo "in $PWD"');
        expect(r.stdout, `${user} with ssh\n${out(r)}`).toBe(`in /home/${user}\n`);
      } else if (tool === 'sftp') {
        r = await sftpAs(env, user, [`put ${payload} sftp-up`, `get sftp-up ${back}`, 'rm sftp-up']);
      } else if (tool === 'rsync') {
        r = await run(['rsync', '-e', ssh, payload, `${user}@127.0.0.1:rsync-up`], { timeoutMs: 30_000 });
        if (r.exitCode === 0) r = await run(['rsync', '-e', ssh, '--remove-source-files', `${user}@127.0.0.1:rsync-up`, back], { timeoutMs: 30_000 });
      } else {
        const scp = ['scp', ...sshClientOptions(env.key.privateKey), '-P', String(env.sshd.port)];
        r = await run([...scp, payload, `${user}@127.0.0.1:scp-up`], { timeoutMs: 30_000 });
        if (r.exitCode === 0) r = await run([...scp, `${user}@127.0.0.1:scp-up`, back], { timeoutMs: 30_000 });
      }
      expect(r.exitCode, `${user} with ${tool}\n${out(r)}`).toBe(0);
      if (tool !== 'bash') expect(readFileSync(back, 'utf8'), `${user} with ${tool}`).toBe(readFileSync(payload, 'utf8'));
    }
  }

  /** Removes the users in this order; after each remove, every user still there logs in. */
  async function removeInOrder(users: { user: string; tools: Tool[] }[], order: number[]): Promise<void> {
    const left = new Set(order);
    for (const i of order) {
      await remove(users[i]!.user);
      left.delete(i);
      for (const j of left) await expectLogsIn(users[j]!.user, users[j]!.tools);
    }
  }

  const orders: [string, number[]][] = [
    ['in the order they were made', [0, 1, 2]],
    ['in reverse', [2, 1, 0]],
    ['the middle one first', [1, 0, 2]],
  ];
  for (const [name, order] of orders) {
    it(`three jails under a parent the first apply made, removed ${name}`, async () => {
      const before = await snapshot(env);
      const parent = path.join(env.jailRoot, `jails-${order.join('')}`, 'nested');
      const tools: Tool[][] = [['bash'], ['rsync', 'scp'], ['sftp']];
      const users = tools.map((t, i) => ({ user: uniqueUser(`p${order.join('')}${i}`), tools: t }));
      for (const u of users) await apply({ user: u.user, tools: u.tools, jail: path.join(parent, u.user) });
      for (const u of users) await expectLogsIn(u.user, u.tools);
      await removeInOrder(users, order);
      expect(existsSync(path.dirname(parent))).toBe(false);
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    }, 300_000);
  }

  it('a parent that also holds something else stays, and goes with nothing of the admin\'s', async () => {
    const before = await snapshot(env);
    const parent = path.join(env.jailRoot, 'jails-admin');
    const a = uniqueUser('pada');
    const b = uniqueUser('padb');
    await apply({ user: a, tools: ['sftp'], jail: path.join(parent, a) });
    await apply({ user: b, tools: ['bash'], jail: path.join(parent, b) });
    // The admin puts a file of their own next to the jails.
    const note = path.join(parent, 'README.admin');
    writeFileSync(note, 'these are the jails\n');
    const r = await remove(a);
    expect(r.stdout).toContain(parent);
    await expectLogsIn(b, ['bash']);
    const r2 = await remove(b);
    expect(r2.stdout, out(r2)).toMatch(new RegExp(`${parent.replace(/[/.]/g, '\\$&')} stays: it holds README\\.admin`));
    expect(readFileSync(note, 'utf8')).toBe('these are the jails\n');
    // What is left is the parent and the admin's file: nothing else of either jail.
    rmSync(note);
    rmdirSync(parent);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  }, 300_000);

  it('a parent that something moves into after the preview stays, and the remove still completes', async () => {
    const before = await snapshot(env);
    const parent = path.join(env.jailRoot, 'jails-late');
    const a = uniqueUser('late');
    await apply({ user: a, tools: ['sftp'], jail: path.join(parent, a) });
    // The preview (no terminal, no --yes: exit 2 after the plan) names the step that removes the parent.
    const preview = await jw(env, ['remove', a]);
    expect(preview.exitCode, out(preview)).toBe(2);
    expect(preview.stdout).toContain(`rmdir --ignore-fail-on-non-empty ${parent}\n`);
    const step = /^Step (\d+)\/\d+: Remove the jail /m.exec(preview.stdout)?.[1];
    expect(step, out(preview)).toBeDefined();
    const run = startPaused(env, ['remove', a, '--yes'], step!);
    await run.paused;
    const late = path.join(parent, 'late.txt');
    writeFileSync(late, 'put here while the remove ran\n');
    run.child.kill('SIGUSR2');
    const done = await run.exited;
    expect(done.code, done.output()).toBe(0);
    expect(done.output()).toContain(`${parent} stays: something else was put in it after the preview`);
    expect(readFileSync(late, 'utf8')).toBe('put here while the remove ran\n');
    expect(hasUnfinishedJournal(env)).toBe(false);
    rmSync(late);
    rmdirSync(parent);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  }, 300_000);

  it('a shared jail refuses a user whose bind target lies inside another user\'s writable dir, before any change', async () => {
    const a = uniqueUser('cfa');
    const b = uniqueUser('cfb');
    const jail = path.join(env.jailRoot, 'shared-conflict');
    const data = path.join(env.jailRoot, 'hostdata-conflict');
    mkdirSync(data, { mode: 0o755 });
    const before = await snapshot(env);
    await apply({ user: a, tools: ['sftp'], shared: true, jail, writable: '/data' });
    const mid = await snapshot(env);
    const r = await jw(env, ['apply', '--config', answersFile(env, { user: b, tools: ['sftp'], shared: true, jail, binds: [{ source: data, target: '/data/web', readOnly: false }] }), '--yes']);
    expect(r.exitCode, out(r)).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, out(r)).toHaveLength(2);
    expect(lines[0]).toBe(`jailwizard: bind target /data/web of ${b} lies inside ${a}'s writable /data, in the shared jail ${jail}`);
    expect(lines[1]).toMatch(/^ {2}hint: .*choose another bind target for /);
    expect(diffSnapshots(mid, await snapshot(env))).toEqual([]);
    // a's uploads still land in its own dir.
    const put = await sftpAs(env, a, [`put ${path.join(env.work, 'payload')} /data/up.txt`]);
    expect(put.exitCode, out(put)).toBe(0);
    expect(statSync(path.join(jail, 'data/up.txt')).uid).toBe(statSync(path.join(jail, 'data')).uid);
    await remove(a);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  }, 300_000);

  describe('a shared jail with three users, removed in every order', () => {
    const tools: Tool[][] = [['bash'], ['rsync'], ['sftp']];
    for (const order of permutations([0, 1, 2])) {
      it(`removes ${order.map((i) => tools[i]!.join('+')).join(', then ')}`, async () => {
        const before = await snapshot(env);
        const jail = path.join(env.jailRoot, `shared-${order.join('')}`);
        const users = tools.map((t, i) => ({ user: uniqueUser(`s${order.join('')}${i}`), tools: t }));
        for (const u of users) await apply({ user: u.user, tools: u.tools, jail, shared: true });
        for (const u of users) await expectLogsIn(u.user, u.tools);
        await removeInOrder(users, order);
        expect(existsSync(jail)).toBe(false);
        expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
      }, 300_000);
    }
  });
});
