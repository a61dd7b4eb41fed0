// `jailwizard check`, `update` and the apt hook, on real jails and a private sshd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run } from '../src/host/run.ts';
import type { Tool } from '../src/model/types.ts';
import type { ListJson } from '../src/commands/list.ts';

const skip = rootOrSkipReason();
const FOUR: Tool[] = ['bash', 'rsync', 'scp', 'sftp'];
const APT_HOOK = '/etc/apt/apt.conf.d/99jailwizard-update';
/** Someone else's hook: never clobber it. Decided once, before any test here runs. */
const hookSkip = existsSync(APT_HOOK) ? `skipped: ${APT_HOOK} already exists on this host; the apt hook test will not overwrite it` : undefined;
if (!skip && hookSkip) console.warn(`[jailwizard tests] ${hookSkip}`);

async function applyJail(env: TestEnv, user: string, tools: Tool[]): Promise<string> {
  const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools }), '--yes']);
  expect(r.exitCode, out(r)).toBe(0);
  return path.join(env.jailRoot, user);
}

async function removeJail(env: TestEnv, user: string): Promise<void> {
  const r = await jw(env, ['remove', user, '--yes']);
  expect(r.exitCode, out(r)).toBe(0);
}

function same(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}

describe.skipIf(skip)('check, update and the apt hook', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it("check names the owner of a jail path component sshd refuses, as doctor does, and list counts one finding", async () => {
    const user = uniqueUser('chown');
    const jail = await applyJail(env, user, ['sftp']);
    try {
      // The dir that holds the jail handed to another account, as a careless chown -R does.
      chownSync(env.jailRoot, 65534, 65534);
      const r = await jw(env, ['check', user]);
      expect(r.exitCode, out(r)).toBe(1);
      expect(r.stdout).toContain(`✗ ${user}: ${jail}: 1 finding\n`);
      expect(r.stdout).toContain(`✗ sshd refuses the jail: ${env.jailRoot} is not owned by root`);
      expect(r.stdout).toContain(`${env.jailRoot}: owner nobody 0755`);
      const listed = await jw(env, ['list']);
      const row = listed.stdout.split('\n').find((l) => l.startsWith(`${user}\t`));
      expect(row, listed.stdout).toMatch(/\t1 finding \d{4}-/);
    } finally {
      chownSync(env.jailRoot, 0, 0);
      await removeJail(env, user);
    }
  });

  it('check finds nothing in a fresh jail, names planted setuid/writable/device problems, and list shows the last check', async () => {
    const user = uniqueUser('check');
    const jail = await applyJail(env, user, FOUR);
    const setuid = path.join(jail, 'usr/bin/jw-planted-true');
    const pub = path.join(jail, 'pub');
    const sda = path.join(jail, 'dev/sda');
    try {
      const clean = await jw(env, ['check', user]);
      expect(clean.exitCode, out(clean)).toBe(0);
      expect(clean.stdout).toContain(`✓ ${user}: ${jail} is sound.`);
      const cleanJson = await jw(env, ['check', user, '--json']);
      expect(cleanJson.exitCode, out(cleanJson)).toBe(0);
      expect(JSON.parse(cleanJson.stdout)).toMatchObject({ user, jail, ok: true, findings: [] });

      copyFileSync('/usr/bin/true', setuid);
      chmodSync(setuid, 0o4755);
      mkdirSync(pub);
      chmodSync(pub, 0o777);
      const mk = await run(['mknod', sda, 'b', '8', '0']);
      expect(mk.exitCode, mk.stderr).toBe(0);

      const bad = await jw(env, ['check', user]);
      expect(bad.exitCode, out(bad)).toBe(1);
      expect(bad.stdout).toContain(`✗ ${user}: ${jail}: 3 findings`);
      expect(bad.stdout).toContain(`✗ ${setuid} is setuid`);
      expect(bad.stdout).toContain(`✗ ${pub} is world-writable`);
      expect(bad.stdout).toContain(`✗ unexpected device node ${sda} (block 8:0)`);

      const badJson = await jw(env, ['check', user, '--json']);
      expect(badJson.exitCode, out(badJson)).toBe(1);
      const report = JSON.parse(badJson.stdout) as { ok: boolean; findings: { id: string; title: string }[] };
      expect(report.ok).toBe(false);
      expect(report.findings.map((x) => x.id).sort()).toEqual([`device:${sda}`, `setid:${setuid}`, `writable:${pub}`].sort());

      const listed = await jw(env, ['list', '--json']);
      expect(listed.exitCode, out(listed)).toBe(0);
      const row = (JSON.parse(listed.stdout) as ListJson).jails.find((x) => x.user === user);
      expect(row?.lastCheck).toMatchObject({ ok: false, findings: 3 });
      expect(Number.isNaN(Date.parse(row!.lastCheck!.at))).toBe(false);

      // --all covers it too.
      const all = await jw(env, ['check', '--all', '--json']);
      expect(all.exitCode, out(all)).toBe(1);
      expect((JSON.parse(all.stdout) as { user: string; ok: boolean }[]).find((x) => x.user === user)?.ok).toBe(false);

      unlinkSync(setuid);
      rmdirSync(pub);
      unlinkSync(sda);
      const again = await jw(env, ['check', user, '--json']);
      expect(again.exitCode, out(again)).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, findings: [] });
      const listedAgain = await jw(env, ['list', '--json']);
      expect((JSON.parse(listedAgain.stdout) as ListJson).jails.find((x) => x.user === user)?.lastCheck).toMatchObject({ ok: true, findings: 0 });
    } finally {
      rmSync(setuid, { force: true });
      rmSync(pub, { recursive: true, force: true });
      rmSync(sda, { force: true });
      await removeJail(env, user);
    }
    // remove forgets the last check too: list has nothing left to show for this user.
    expect(existsSync(path.join(env.stateDir, 'checks', `${user}.json`))).toBe(false);
  });

  it('update picks up a changed host binary, then has nothing to do, and brings the original back', async () => {
    const user = uniqueUser('upd');
    const jail = await applyJail(env, user, ['rsync']);
    const inJail = path.join(jail, 'usr/bin/rsync');
    const copy = path.join(env.work, 'rsync-changed');
    expect(same(inJail, '/usr/bin/rsync')).toBe(true);
    copyFileSync('/usr/bin/rsync', copy);
    appendFileSync(copy, Buffer.from('\0jailwizard-test-padding\n'));
    chmodSync(copy, 0o755);
    let mounted = false;
    try {
      const m = await run(['mount', '--bind', copy, '/usr/bin/rsync']);
      expect(m.exitCode, m.stderr).toBe(0);
      mounted = true;
      const v = await run(['/usr/bin/rsync', '--version']);
      expect(v.exitCode, `the padded rsync still runs\n${v.stderr}`).toBe(0);

      const u1 = await jw(env, ['update', user, '--yes']);
      expect(u1.exitCode, out(u1)).toBe(0);
      expect(u1.stdout).toContain(`${user}: 1 changed, 0 added, 0 removed`);
      expect(u1.stdout).toContain(`${user}: updated.`);
      expect(same(inJail, copy)).toBe(true);

      const u2 = await jw(env, ['update', user, '--yes']);
      expect(u2.exitCode, out(u2)).toBe(0);
      expect(u2.stdout).toContain('nothing to do');
      expect(u2.stdout).not.toContain('changed,');

      const t = await jw(env, ['test', user]);
      expect(t.exitCode, out(t)).toBe(0);
      const c = await jw(env, ['check', user]);
      expect(c.exitCode, out(c)).toBe(0);

      const um = await run(['umount', '/usr/bin/rsync']);
      expect(um.exitCode, um.stderr).toBe(0);
      mounted = false;
      expect(same('/usr/bin/rsync', copy)).toBe(false);

      const stale = await jw(env, ['check', user]);
      expect(stale.exitCode, out(stale)).toBe(1);
      expect(stale.stdout).toContain('/usr/bin/rsync changed on the host since it was copied');

      const u3 = await jw(env, ['update', user, '--yes']);
      expect(u3.exitCode, out(u3)).toBe(0);
      expect(u3.stdout).toContain(`${user}: 1 changed, 0 added, 0 removed`);
      expect(same(inJail, '/usr/bin/rsync')).toBe(true);
      const u4 = await jw(env, ['update', user, '--yes']);
      expect(u4.stdout).toContain('nothing to do');
      const t2 = await jw(env, ['test', user]);
      expect(t2.exitCode, out(t2)).toBe(0);
      expect(hasUnfinishedJournal(env)).toBe(false);
    } finally {
      if (mounted) await run(['umount', '/usr/bin/rsync']);
      await removeJail(env, user);
    }
  });

  it.skipIf(hookSkip)('update --install-hook writes an apt hook that apt parses, and remove of the last jail takes it away', async () => {
    const user = uniqueUser('hook');
    await applyJail(env, user, ['sftp']);
    let removed = false;
    try {
      const i = await jw(env, ['update', '--install-hook', '--yes']);
      expect(i.exitCode, out(i)).toBe(0);
      const hook = readFileSync(APT_HOOK, 'utf8');
      expect(hook).toContain('DPkg::Post-Invoke');
      expect(hook).toContain('update --all --yes');
      expect(hook).toContain(env.stateDir);

      const again = await jw(env, ['update', '--install-hook', '--yes']);
      expect(again.exitCode, out(again)).toBe(0);
      expect(again.stdout).toContain('already installed');

      const dump = await run(['apt-config', 'dump']);
      expect(dump.exitCode, dump.stderr).toBe(0);
      expect(dump.stdout).toContain('DPkg::Post-Invoke');

      // This jail is the last one in this state dir.
      expect(readdirSync(path.join(env.stateDir, 'jails'))).toEqual([`${user}.json`]);
      const r = await jw(env, ['remove', user, '--yes']);
      removed = true;
      expect(r.exitCode, out(r)).toBe(0);
      expect(existsSync(APT_HOOK)).toBe(false);
    } finally {
      if (!removed) await removeJail(env, user);
      rmSync(APT_HOOK, { force: true }); // it did not exist before this test
    }
  });
});
