// Inputs that used to get through validation and fail later (#11 item 8), through the real
// bundle: each is refused with one line, a hint and exit 2, before anything changes, and
// leaves nothing behind (not even in the temp dir).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, type RunResult } from '../src/host/run.ts';

const skip = rootOrSkipReason();

describe.skipIf(skip)('inputs that get through and fail later are refused up front', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  /** Exit 2, one line and its hint, saying each of `says`, and the host exactly as before. */
  async function refusedUnchanged(args: string[], says: string[], o: { env?: Record<string, string> } = {}): Promise<RunResult> {
    const before = await snapshot(env);
    const r = await jw(env, args, o);
    expect(r.exitCode, out(r)).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, out(r)).toHaveLength(2);
    expect(lines[1], out(r)).toMatch(/^ {2}hint: /);
    for (const s of says) expect(lines[0], out(r)).toContain(s);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
    return r;
  }

  async function useradd(user: string, ...args: string[]): Promise<void> {
    const r = await run(['useradd', '--no-create-home', '--shell', '/usr/sbin/nologin', ...args, user]);
    expect(r.exitCode, r.stderr).toBe(0);
  }

  it('an existing user whose passwd home is /lib/x86_64-linux-gnu: refused, exit 2', async () => {
    const user = uniqueUser('homelib');
    await useradd(user, '--home-dir', '/lib/x86_64-linux-gnu');
    const cfg = answersFile(env, { user, tools: ['sftp'], createUser: false });
    await refusedUnchanged(['apply', '--config', cfg, '--yes'], [`${user}'s home /lib/x86_64-linux-gnu`, 'lies in /lib']);
  });

  it('a member of adm, shadow, disk and sudo: refused unless allowPrivilegedGroups names each; then the preview warns', async () => {
    const user = uniqueUser('privgroups');
    await useradd(user, '--groups', 'adm,shadow,disk,sudo');
    const cfg = answersFile(env, { user, tools: ['sftp'], createUser: false });
    const r = await refusedUnchanged(['apply', '--config', cfg, '--yes'], [`${user} is in adm (reads every system log)`, 'shadow (reads the password hashes', 'disk (reads and writes every disk', 'sudo (may run any command as root']);
    expect(r.stderr).toContain('allowPrivilegedGroups: [adm, disk, shadow, sudo]');
    // Naming only some of them is not enough.
    const some = answersFile(env, { user, tools: ['sftp'], createUser: false, allowPrivilegedGroups: ['adm', 'disk'] }, `${user}-some.json`);
    const r2 = await refusedUnchanged(['apply', '--config', some, '--yes'], [`${user} is in shadow`, 'sudo']);
    expect(r2.stderr.split('\n')[0]).not.toContain('adm');
    // Named, the plan goes through and its preview says what the user keeps.
    const all = answersFile(env, { user, tools: ['sftp'], createUser: false, allowPrivilegedGroups: ['adm', 'disk', 'shadow', 'sudo'] }, `${user}-all.json`);
    const before = await snapshot(env);
    const p = await jw(env, ['plan', '--config', all]);
    expect(p.exitCode, out(p)).toBe(0);
    expect(p.stdout).toContain(`WARNING: ${user} stays in adm (reads every system log), disk (reads and writes every disk directly, so every file), shadow (reads the password hashes in /etc/shadow), sudo (may run any command as root with sudo)`);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('writable: /home is refused up front', async () => {
    const user = uniqueUser('wrhome');
    await refusedUnchanged(['apply', '--config', answersFile(env, { user, tools: ['sftp'], writable: '/home' }), '--yes'], ['"writable" cannot be /home']);
  });

  it('JSON answers with a key twice are refused, not "the last one wins"', async () => {
    const user = uniqueUser('dupkey');
    const cfg = path.join(env.work, `${user}.json`);
    writeFileSync(cfg, `{"user": "${user}", "tools": ["sftp"], "jail": "${env.jailRoot}/${user}",\n "jail": "${env.jailRoot}/${user}-other"}\n`);
    await refusedUnchanged(['apply', '--config', cfg, '--yes'], ['line 2, column 2: the key "jail" appears twice']);
  });

  it('a group or path with a newline is refused in one line, the value quoted', async () => {
    const user = uniqueUser('newline');
    await refusedUnchanged(['apply', '--config', answersFile(env, { user, tools: ['bash'], group: 'uploads\nroot' }), '--yes'], ['"uploads\\nroot"']);
    await refusedUnchanged(['apply', '--config', answersFile(env, { user, tools: ['bash'], extraBinaries: ['/usr/bin/git\n/usr/bin/id'] }, `${user}-x.json`), '--yes'], ['"/usr/bin/git\\n/usr/bin/id"']);
  });

  it('refused key lists leave nothing in the temp dir, wherever the bad key is', async () => {
    const key = env.key.publicKey;
    const bad = 'ssh-ed25519 NOTAKEY user@host';
    for (const [label, keys] of [
      ['badfirst', [bad, ...Array.from({ length: 999 }, () => key)]],
      ['badlast', [...Array.from({ length: 60 }, () => key), bad]],
    ] as const) {
      const user = uniqueUser(label);
      const tmp = mkdtempSync(path.join(env.work, `tmp-${label}-`));
      const r = await refusedUnchanged(['apply', '--config', answersFile(env, { user, tools: ['sftp'], authorizedKeys: [...keys] }), '--yes'], ['is not a valid public key'], { env: { TMPDIR: tmp } });
      expect(r.stderr).toContain('NOTAKEY');
      expect(readdirSync(tmp), `left in TMPDIR by a refused key list (${label})`).toEqual([]);
      rmSync(tmp, { recursive: true });
    }
  });

  it('a huge answers file: 50,000 keys are refused by their count, a 2 MB file by its size', async () => {
    const user = uniqueUser('huge');
    const many = answersFile(env, { user, tools: ['sftp'], authorizedKeys: Array.from({ length: 50_000 }, (_, i) => `k${i}`) });
    const tmp = mkdtempSync(path.join(env.work, 'tmp-huge-'));
    await refusedUnchanged(['apply', '--config', many, '--yes'], ['"authorizedKeys" has 50000 entries; at most 1000'], { env: { TMPDIR: tmp } });
    expect(readdirSync(tmp)).toEqual([]);
    const big = path.join(env.work, `${user}-big.yaml`);
    writeFileSync(big, `user: ${user}\ntools: [sftp]\njail: ${env.jailRoot}/${user}\n# ${'x'.repeat(2_000_000)}\n`);
    await refusedUnchanged(['apply', '--config', big, '--yes'], ['is larger than 1 MiB']);
  });
});
