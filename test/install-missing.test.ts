// A fresh box may lack a chosen tool: apply installs its package as a previewed step, and a
// rollback removes exactly what that step installed. Uses the real apt and Debian mirror.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, runOk } from '../src/host/run.ts';

const skip = rootOrSkipReason();
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };
const installed = async (pkg: string): Promise<boolean> =>
  (await run(['dpkg-query', '-W', '-f', '${Status}', pkg])).stdout.includes('install ok installed');

describe.skipIf(skip)('installMissing', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
    // Make this box one that lacks rsync (put back in afterAll).
    if (await installed('rsync')) await runOk(['apt-get', 'remove', '-y', 'rsync'], { env: APT_ENV, timeoutMs: 300_000 });
  });
  afterAll(async () => {
    await teardownEnv(env);
    if (!(await installed('rsync'))) await runOk(['apt-get', 'install', '-y', 'rsync'], { env: APT_ENV, timeoutMs: 300_000 });
  });

  it('refuses without installMissing and names the install command', async () => {
    const r = await jw(env, ['apply', '--config', answersFile(env, { user: uniqueUser('noinst'), tools: ['rsync'] }), '--yes']);
    expect(r.exitCode, out(r)).toBe(2);
    expect(r.stderr).toContain('apt-get install -y --no-install-recommends rsync');
    expect(await installed('rsync')).toBe(false);
  });

  it('previews the install in the dry run', async () => {
    const r = await jw(env, ['apply', '--config', answersFile(env, { user: uniqueUser('dryinst'), tools: ['rsync'], installMissing: true }), '--dry-run']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout).toContain('env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rsync');
  });

  it('uninstalls what it installed when the run then fails', async () => {
    const cfg = answersFile(env, { user: uniqueUser('instfail'), tools: ['rsync'], installMissing: true });
    const r = await jw(env, ['apply', '--config', cfg, '--yes', '--no-test'], { env: { JAILWIZARD_FAIL_AT: '2' } });
    expect(r.exitCode, out(r)).toBe(1);
    expect(r.stdout).toMatch(/\[1\/1\] Install rsync/);
    expect(await installed('rsync')).toBe(false);
    expect(hasUnfinishedJournal(env)).toBe(false);
  });

  it('installs, then plans and copies the new files, and the jail works', async () => {
    const user = uniqueUser('inst');
    const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['rsync'], installMissing: true }), '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(await installed('rsync')).toBe(true);
    expect(r.stdout).toContain('✓ rsync: upload/download round trip');
    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
  });
});
