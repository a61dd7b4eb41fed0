// End to end on a private sshd: real users, real jails under /srv, the real clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { readElf } from '../src/host/elf.ts';
import { run } from '../src/host/run.ts';
import type { Tool } from '../src/model/types.ts';
import type { ListJson } from '../src/commands/list.ts';

const skip = rootOrSkipReason();

/** Every regular file under dir (not following symlinks). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
    else if (st.isFile()) out.push(p);
  };
  walk(dir);
  return out;
}

describe.skipIf(skip)('apply, test and remove on a private sshd', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it('makes a four-tool jail that every client can use, re-applies as a no-op, and removes it byte-identically', async () => {
    const user = uniqueUser('four');
    const cfg = answersFile(env, { user, tools: ['bash', 'rsync', 'scp', 'sftp'] });
    const before = await snapshot(env);

    // As run by an admin logged in over SSH to this sshd at 192.0.2.10.
    const applied = await jw(env, ['apply', '--config', cfg, '--yes'], { env: { SSH_CONNECTION: `198.51.100.9 50022 192.0.2.10 ${env.sshd.port}` } });
    expect(applied.exitCode, out(applied)).toBe(0);
    // The closing lines name what the user will type: that address, and sshd's port.
    for (const line of [`Connect: sftp -P ${env.sshd.port} ${user}@192.0.2.10`, `ssh -p ${env.sshd.port} ${user}@192.0.2.10`, `rsync -av -e 'ssh -p ${env.sshd.port}' FILES ${user}@192.0.2.10:`]) {
      expect(applied.stdout).toContain(line);
    }
    expect(applied.stdout).not.toContain('<this host>');
    for (const probe of ['ssh: shell sees the jail as /', 'sftp: put/get round trip', 'scp: round trip (SFTP protocol)', 'scp -O: round trip (legacy protocol)', 'rsync: upload/download round trip', 'escape: port forwarding refused']) {
      expect(applied.stdout).toContain(`✓ ${probe}`);
    }
    expect(applied.stdout).not.toContain('✗');

    // The jail as sshd requires it, and the account as keys require it.
    const jail = path.join(env.jailRoot, user);
    const st = lstatSync(jail);
    expect([st.uid, st.mode & 0o022]).toEqual([0, 0]);
    expect(readFileSync(path.join(jail, 'etc/passwd'), 'utf8').trim().split('\n').map((l) => l.split(':')[0])).toEqual(['root', user]);
    expect(readFileSync('/etc/shadow', 'utf8')).toMatch(new RegExp(`^${user}:\\*:`, 'm'));
    const devNull = lstatSync(path.join(jail, 'dev/null'));
    expect([devNull.isCharacterDevice(), devNull.mode & 0o777]).toEqual([true, 0o666]);
    // No setuid/setgid file made it into the jail.
    expect(filesUnder(jail).filter((f) => lstatSync(f).mode & 0o6000)).toEqual([]);

    const logins = (): number => readFileSync(env.sshd.logFile, 'utf8').split('\n').filter((l) => l.includes(`Accepted publickey for ${user} `)).length;
    const loginsBefore = logins();
    const tested = await jw(env, ['test', user]);
    expect(tested.exitCode, out(tested)).toBe(0);
    expect(tested.stdout).toMatch(/All \d+ probes passed/);
    // Over one multiplexed connection: the master's login, and the forwarding probe's own.
    // Every other probe (about 20 clients) is a session on the master.
    expect(logins() - loginsBefore, out(tested)).toBe(2);

    const again = await jw(env, ['apply', '--config', cfg, '--yes']);
    expect(again.exitCode, out(again)).toBe(0);
    expect(again.stdout).toContain('Nothing to do');
    expect(again.stdout).not.toMatch(/^\[\d+\/\d+\]/m);

    const removed = await jw(env, ['remove', user, '--yes']);
    expect(removed.exitCode, out(removed)).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);

    // The remove backed up every copied binary (about 12 MB) to be able to undo itself; once it
    // committed, those backups are gone and only the small journals of the runs stay.
    const history = path.join(env.stateDir, 'journal', 'history');
    expect(readdirSync(history).filter((n) => !n.endsWith('.jsonl'))).toEqual([]);
    const listed = JSON.parse((await jw(env, ['list', '--json'])).stdout) as ListJson;
    expect(listed.history).toMatchObject({ dir: history, runs: readdirSync(history).length, limits: { runs: 100, bytes: 50_000_000 } });
    expect(listed.history.bytes).toBeGreaterThan(0);
    expect(listed.history.bytes).toBeLessThan(2_000_000);
  });

  it('two jails removed in the order they were made leave nothing behind (the keys dir passes to the other record)', async () => {
    const first = uniqueUser('orda');
    const second = uniqueUser('ordb');
    const before = await snapshot(env);
    for (const u of [first, second]) {
      const r = await jw(env, ['apply', '--config', answersFile(env, { user: u, tools: ['sftp'] }), '--yes', '--no-test']);
      expect(r.exitCode, out(r)).toBe(0);
    }
    const r1 = await jw(env, ['remove', first, '--yes']);
    expect(r1.exitCode, out(r1)).toBe(0);
    expect(r1.stdout).toContain(`Hand what other jails still use over to ${second}'s record`);
    // The second jail still works after the first is gone.
    const t = await jw(env, ['test', second]);
    expect(t.exitCode, out(t)).toBe(0);
    const r2 = await jw(env, ['remove', second, '--yes']);
    expect(r2.exitCode, out(r2)).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  for (const tool of ['bash', 'rsync', 'scp', 'sftp'] as Tool[]) {
    it(`works with ${tool} alone, and remove leaves the host byte-identical`, async () => {
      const user = uniqueUser(tool);
      const before = await snapshot(env);
      const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: [tool] }), '--yes']);
      expect(r.exitCode, out(r)).toBe(0);
      expect(r.stdout).not.toContain('✗');
      const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!;
      expect(passwd.split(':')[6]).toBe(tool === 'bash' ? '/bin/bash' : tool === 'sftp' ? '/usr/sbin/nologin' : '/bin/sh');
      const rm = await jw(env, ['remove', user, '--yes']);
      expect(rm.exitCode, out(rm)).toBe(0);
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    });
  }

  it('gives an sftp-only user internal-sftp, no shell and zero ELF files', async () => {
    const user = uniqueUser('sftponly');
    const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'] }), '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout).toContain('✓ escape: no shell for an sftp-only user');
    const jail = path.join(env.jailRoot, user);
    const files = filesUnder(jail);
    expect(files.length).toBeGreaterThan(0); // etc/passwd and etc/group at least
    expect(files.filter((f) => readElf(f) !== null)).toEqual([]);
    const dropIn = readFileSync(path.join(env.sshd.dropInDir, `jailwizard-${user}.conf`), 'utf8');
    expect(dropIn).toMatch(/ForceCommand internal-sftp/);
    // sshd itself agrees that the jail applies to this user.
    const eff = await run(['/usr/sbin/sshd', '-T', '-f', env.sshd.configPath, '-C', `user=${user},host=localhost,addr=127.0.0.1`]);
    expect(eff.stdout).toContain(`chrootdirectory ${jail}`);
    expect(eff.stdout).toContain('forcecommand internal-sftp');
    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
  });

  it('lists managed jails as a table and as JSON', async () => {
    const user = uniqueUser('listed');
    expect((await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'] }), '--yes', '--no-test'])).exitCode).toBe(0);
    const json = await jw(env, ['list', '--json']);
    const rows = (JSON.parse(json.stdout) as ListJson).jails;
    expect(rows.find((x) => x.user === user)).toMatchObject({ tools: ['sftp'], jail: path.join(env.jailRoot, user) });
    const table = (await jw(env, ['list'])).stdout;
    expect(table).toContain(user);
    expect(table).toMatch(/^Journal history: \d+ runs?, \d+\.\d MB in \S+ \(the newest 100 runs are kept, at most 50\.0 MB\)\.$/m);
    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
    expect((await jw(env, ['list'])).stdout).not.toContain(user);
  });

  it('prints a dry run as a commented sh script and changes nothing', async () => {
    const user = uniqueUser('dry');
    const before = await snapshot(env);
    const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['bash', 'sftp'] }), '--dry-run']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout.startsWith('#!/bin/sh\n')).toBe(true);
    expect(r.stdout).toContain(`useradd --uid`);
    expect(r.stdout).toContain(`# Step 1: Create user ${user}`);
    // The script is valid sh.
    const syntax = await run(['sh', '-n'], { input: r.stdout });
    expect(syntax.exitCode, syntax.stderr).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });
});
