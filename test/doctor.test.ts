// `jailwizard doctor`: every failure is made for real on the private sshd, shown to fail
// with the real clients, diagnosed (cause and exact component), fixed with --fix, and
// shown to work again with the real clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { sshClientOptions } from './helpers/sshd.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, type RunResult } from '../src/host/run.ts';
import type { Tool } from '../src/model/types.ts';

const skip = rootOrSkipReason();

function clientOpts(env: TestEnv): string[] {
  return sshClientOptions(env.key.privateKey);
}

/** sftp with the test key; `commands` is the batch (default: print the dir and list it). */
function sftpLogin(env: TestEnv, user: string, commands = 'pwd\nls -la\n'): Promise<RunResult> {
  return run(['sftp', ...clientOpts(env), '-P', String(env.sshd.port), '-b', '-', `${user}@127.0.0.1`], { input: commands, timeoutMs: 30_000 });
}

/** ssh with the test key, running `cmd` through the user's shell in the jail. */
function sshLogin(env: TestEnv, user: string, cmd = 'true'): Promise<RunResult> {
  return run(['ssh', ...clientOpts(env), '-p', String(env.sshd.port), `${user}@127.0.0.1`, cmd], { timeoutMs: 30_000 });
}

/** The sshd log line doctor quotes under "Latest sshd failure (FILE):". */
function quotedLogLine(env: TestEnv, r: RunResult): string {
  const lines = r.stdout.split('\n');
  const i = lines.findIndex((l) => l === `Latest sshd failure (${env.sshd.logFile}):`);
  return i >= 0 ? (lines[i + 1] ?? '').trim() : '';
}

async function applyJail(env: TestEnv, user: string, tools: Tool[], jail?: string): Promise<string> {
  const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools, ...(jail ? { jail } : {}) }), '--yes']);
  expect(r.exitCode, out(r)).toBe(0);
  return jail ?? path.join(env.jailRoot, user);
}

async function doctor(env: TestEnv, user: string, fix = false): Promise<RunResult> {
  return jw(env, ['doctor', user, ...(fix ? ['--fix', '--yes'] : []), '--sshd-log', env.sshd.logFile]);
}

/**
 * `jailwizard remove`, for finally blocks: a failed remove fails the test, but never hides
 * the test's own failure (a throw in finally would replace it), so then it only logs.
 */
async function removeJail(env: TestEnv, user: string, bodyPassed: boolean, jail = path.join(env.jailRoot, user)): Promise<void> {
  const r = await jw(env, ['remove', user, '--yes']);
  if (r.exitCode === 0) return;
  const left = existsSync(jail) ? (await run(['find', jail, '-printf', '%M %u %p\\n'])).stdout : '';
  const msg = `jailwizard remove ${user} failed\n${out(r)}\n--- left in ${jail}\n${left}`;
  if (bodyPassed) expect.fail(msg);
  console.error(msg);
}

/** sha256 of every regular file under dir, by path relative to dir. */
function fileHashes(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (rel: string): void => {
    const abs = path.join(dir, rel);
    const st = lstatSync(abs);
    if (st.isDirectory()) for (const n of readdirSync(abs)) walk(rel ? path.join(rel, n) : n);
    else if (st.isFile()) m.set(rel, createHash('sha256').update(readFileSync(abs)).digest('hex'));
  };
  walk('');
  return m;
}

describe.skipIf(skip)('doctor on a private sshd', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it.each([
    ['sftp', ['sftp']],
    ['bash', ['bash']],
  ] as [string, Tool[]][])('finds no problems in a healthy %s-only jail', async (label, tools) => {
    const user = uniqueUser(`dok${label}`);
    await applyJail(env, user, tools);
    let passed = false;
    try {
      const r = await doctor(env, user);
      expect(r.exitCode, out(r)).toBe(0);
      expect(r.stdout).toContain('No problems found');
      expect(r.stdout).not.toContain('✗');
      passed = true;
    } finally {
      await removeJail(env, user, passed);
    }
  });

  it('exits 2 for a user that does not exist', async () => {
    const user = uniqueUser('dnobody');
    const r = await doctor(env, user);
    expect(r.exitCode, out(r)).toBe(2);
    expect(r.stderr).toContain(`user ${user} does not exist`);
  });

  it('names and fixes a group-writable parent of the jail', async () => {
    const user = uniqueUser('dgw');
    const parent = path.join(env.jailRoot, 'gw');
    const jail = await applyJail(env, user, ['sftp'], path.join(parent, user));
    let passed = false;
    try {
      chmodSync(parent, 0o775);
      const login = await sftpLogin(env, user);
      expect(login.exitCode, out(login)).not.toBe(0);

      const d = await doctor(env, user);
      expect(d.exitCode, out(d)).toBe(1);
      expect(quotedLogLine(env, d)).toContain(`bad ownership or modes for chroot directory component "${parent}/"`);
      expect(d.stdout).toContain(`chroot component ${parent} is group-writable`);
      expect(d.stdout).toMatch(new RegExp(`✗ ${parent}\\s+root 0775\\s+group-writable`));
      expect(d.stdout).toContain(`chmod 0755 ${parent}`);

      const f = await doctor(env, user, true);
      expect(f.exitCode, out(f)).toBe(0);
      expect(f.stdout).toContain('logs in again');
      expect(statSync(parent).mode & 0o7777).toBe(0o755);
      const again = await sftpLogin(env, user);
      expect(again.exitCode, out(again)).toBe(0);
      expect(hasUnfinishedJournal(env)).toBe(false);
      expect(existsSync(jail)).toBe(true);
      passed = true;
    } finally {
      chmodSync(parent, 0o755);
      await removeJail(env, user, passed, jail);
    }
  });

  it('names and fixes a jail root owned by the user, without moving the jail apart', async () => {
    const user = uniqueUser('downer');
    const jail = await applyJail(env, user, ['sftp']);
    const entriesBefore = readdirSync(jail).sort();
    const uid = statSync(path.join(jail, 'home', user)).uid;
    let passed = false;
    try {
      chownSync(jail, uid, 0);
      const login = await sftpLogin(env, user);
      expect(login.exitCode, out(login)).not.toBe(0);

      const d = await doctor(env, user);
      expect(d.exitCode, out(d)).toBe(1);
      expect(quotedLogLine(env, d)).toContain(`bad ownership or modes for chroot directory "${jail}"`);
      expect.soft(d.stdout, 'a jailwizard jail chowned to its user is not an ArchWiki home').toContain(`chroot directory ${jail} is not owned by root`);
      expect(d.stdout).toMatch(new RegExp(`✗ ${jail}\\s+${user} 0755\\s+not owned by root`));

      const f = await doctor(env, user, true);
      expect(f.exitCode, out(f)).toBe(0);
      expect(f.stdout).toContain('logs in again');
      expect(statSync(jail).uid).toBe(0);
      // Only the owner changes: the jail's layout stays where sshd and remove expect it.
      expect(readdirSync(jail).sort()).toEqual(entriesBefore);
      const again = await sftpLogin(env, user);
      expect(again.exitCode, out(again)).toBe(0);
      passed = true;
    } finally {
      chownSync(jail, 0, 0);
      await removeJail(env, user, passed);
    }
  });

  it('names and fixes a shell missing from the jail', async () => {
    const user = uniqueUser('dshell');
    const jail = await applyJail(env, user, ['bash']);
    let passed = false;
    try {
      const ok = await sshLogin(env, user);
      expect(ok.exitCode, out(ok)).toBe(0);
      unlinkSync(path.join(jail, 'usr/bin/bash'));
      const login = await sshLogin(env, user);
      expect(login.exitCode, out(login)).not.toBe(0);

      const d = await doctor(env, user);
      expect(d.exitCode, out(d)).toBe(1);
      expect(d.stdout).toContain(`${user}'s shell /bin/bash is missing inside the jail`);
      expect(d.stdout).toContain(`sshd runs it inside ${jail}, where it does not exist`);
      // sftp was not granted: its missing sftp-server is not a problem to fix.
      expect.soft(d.stdout, 'doctor offers to add sftp-server to a jail made without sftp').not.toContain('sftp-server');

      const f = await doctor(env, user, true);
      expect(f.exitCode, out(f)).toBe(0);
      expect(f.stdout).toContain('logs in again');
      expect(readFileSync(path.join(jail, 'usr/bin/bash')).equals(readFileSync('/usr/bin/bash'))).toBe(true);
      const again = await sshLogin(env, user, 'echo jw-ok');
      expect(again.exitCode, out(again)).toBe(0);
      expect(again.stdout).toContain('jw-ok');
      passed = true;
    } finally {
      await removeJail(env, user, passed);
    }
  });

  it('names and fixes a library missing from the jail (libtinfo)', async () => {
    const user = uniqueUser('dlib');
    const jail = await applyJail(env, user, ['bash']);
    const libDir = path.join(jail, 'usr/lib/x86_64-linux-gnu');
    let passed = false;
    try {
      const tinfo = readdirSync(libDir).filter((n) => n.startsWith('libtinfo.so.6'));
      expect(tinfo.length, `libtinfo in ${libDir}: ${readdirSync(libDir).join(' ')}`).toBeGreaterThan(0);
      for (const n of tinfo) unlinkSync(path.join(libDir, n));
      const login = await sshLogin(env, user);
      expect(login.exitCode, out(login)).not.toBe(0);
      expect(login.stderr).toContain('libtinfo.so.6');

      const d = await doctor(env, user);
      expect(d.exitCode, out(d)).toBe(1);
      expect(d.stdout).toMatch(/\d+ librar(y is|ies are) missing inside the jail/);
      expect(d.stdout).toContain('libtinfo.so.6, needed by /usr/bin/bash');
      expect.soft(d.stdout, 'doctor offers to add sftp-server to a jail made without sftp').not.toContain('sftp-server');

      const f = await doctor(env, user, true);
      expect(f.exitCode, out(f)).toBe(0);
      expect(f.stdout).toContain('logs in again');
      expect(existsSync(path.join(libDir, 'libtinfo.so.6'))).toBe(true);
      const again = await sshLogin(env, user, 'echo jw-ok');
      expect(again.exitCode, out(again)).toBe(0);
      expect(again.stdout).toContain('jw-ok');
      passed = true;
    } finally {
      await removeJail(env, user, passed);
    }
  });

  it('names and fixes an account locked with "!" under UsePAM no', async () => {
    const user = uniqueUser('dlock');
    await applyJail(env, user, ['sftp']);
    const original = readFileSync(env.sshd.configPath, 'utf8');
    let passed = false;
    try {
      expect(original).toMatch(/^UsePAM yes$/m);
      writeFileSync(env.sshd.configPath, original.replace(/^UsePAM yes$/m, 'UsePAM no'));
      await env.sshd.reload();
      const unlocked = await sftpLogin(env, user);
      expect(unlocked.exitCode, `key login under UsePAM no with "*"\n${out(unlocked)}`).toBe(0);

      const lock = await run(['usermod', '-p', '!', user]);
      expect(lock.exitCode, lock.stderr).toBe(0);
      const login = await sftpLogin(env, user);
      expect(login.exitCode, out(login)).not.toBe(0);

      const d = await doctor(env, user);
      expect(d.exitCode, out(d)).toBe(1);
      // sshd's log has the cause, then a less telling "Connection closed by invalid user" line.
      expect(readFileSync(env.sshd.logFile, 'utf8')).toContain(`User ${user} not allowed because account is locked`);
      expect.soft(quotedLogLine(env, d), 'doctor quotes the cause, not the later "Connection closed" line').toContain(`User ${user} not allowed because account is locked`);
      expect(d.stdout).toContain(`${user}'s account is locked with "!" and sshd runs with UsePAM no`);

      const f = await doctor(env, user, true);
      expect(f.exitCode, out(f)).toBe(0);
      expect(f.stdout).toContain('logs in again');
      expect(readFileSync('/etc/shadow', 'utf8')).toMatch(new RegExp(`^${user}:\\*:`, 'm'));
      const again = await sftpLogin(env, user);
      expect(again.exitCode, out(again)).toBe(0);
      passed = true;
    } finally {
      writeFileSync(env.sshd.configPath, original);
      await env.sshd.reload();
      await removeJail(env, user, passed);
    }
  });

  it('fixes an ArchWiki-style %h chroot owned by the user, keeping every file', async () => {
    const user = uniqueUser('darch');
    const homes = path.join(env.jailRoot, 'home');
    const home = path.join(homes, user);
    const dropIn = path.join(env.sshd.dropInDir, `10-${user}.conf`);
    mkdirSync(homes, { recursive: true, mode: 0o755 });
    chmodSync(homes, 0o755);
    try {
      const add = await run(['useradd', '-m', '-d', home, '-s', '/usr/sbin/nologin', user]);
      expect(add.exitCode, add.stderr).toBe(0);
      const pw = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':');
      const [uid, gid] = [Number(pw[2]), Number(pw[3])];

      // The user's files: plain, binary, a subdir two deep, a dotfile (and /etc/skel's).
      writeFileSync(path.join(home, 'report.txt'), 'quarterly numbers\n');
      writeFileSync(path.join(home, 'data.bin'), createHash('sha512').update(user).digest());
      mkdirSync(path.join(home, 'www/assets'), { recursive: true });
      writeFileSync(path.join(home, 'www/index.html'), '<h1>hello</h1>\n');
      writeFileSync(path.join(home, 'www/assets/site.css'), 'body { margin: 0 }\n');
      writeFileSync(path.join(home, '.hidden'), 'a dotfile\n');
      mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
      writeFileSync(path.join(home, '.ssh/authorized_keys'), `${env.key.publicKey}\n`, { mode: 0o600 });
      const r = await run(['chown', '-R', `${uid}:${gid}`, home]);
      expect(r.exitCode, r.stderr).toBe(0);
      chmodSync(path.join(home, '.ssh'), 0o700);
      chmodSync(path.join(home, '.ssh/authorized_keys'), 0o600);
      const before = fileHashes(home);
      expect(before.size).toBeGreaterThanOrEqual(7);

      // The ArchWiki recipe's Match block.
      writeFileSync(dropIn, `Match User ${user}\n    ChrootDirectory %h\n    ForceCommand internal-sftp\n    AllowTcpForwarding no\n    X11Forwarding no\n`, { mode: 0o644 });
      await env.sshd.reload();

      const login = await sftpLogin(env, user);
      expect(login.exitCode, out(login)).not.toBe(0);

      const d = await doctor(env, user);
      expect(d.exitCode, out(d)).toBe(1);
      expect(quotedLogLine(env, d)).toContain(`bad ownership or modes for chroot directory "${home}"`);
      expect(d.stdout).toContain(`the chroot ${home} is ${user}'s own writable home`);
      expect(d.stdout).toMatch(new RegExp(`✗ ${home}\\s+${user} 07\\d\\d\\s+not owned by root`));

      const f = await doctor(env, user, true);
      expect(f.exitCode, out(f)).toBe(0);
      expect(f.stdout).toContain('logs in again');

      // The chroot is root's now; the files live where sshd starts the session (the
      // passwd home, as a path inside the chroot); .ssh stays, sshd reads the keys there.
      const st = statSync(home);
      expect([st.uid, st.mode & 0o022]).toEqual([0, 0]);
      const dest = path.join(home, home);
      expect(statSync(dest).uid).toBe(uid);
      const after = new Map<string, string>();
      for (const [rel, sum] of fileHashes(dest)) after.set(rel, sum);
      for (const [rel, sum] of fileHashes(path.join(home, '.ssh'))) after.set(path.join('.ssh', rel), sum);
      expect([...after.entries()].sort()).toEqual([...before.entries()].sort());

      const again = await sftpLogin(env, user, 'pwd\nls -la\nls -la www\n');
      expect(again.exitCode, out(again)).toBe(0);
      expect(again.stdout).toContain(`Remote working directory: ${home}`);
      for (const n of ['report.txt', 'data.bin', 'www', '.hidden', 'index.html', 'assets']) expect(again.stdout).toContain(n);
      const local = path.join(env.work, `${user}-index.html`);
      const get = await sftpLogin(env, user, `get www/index.html ${local}\n`);
      expect(get.exitCode, out(get)).toBe(0);
      expect(readFileSync(local, 'utf8')).toBe('<h1>hello</h1>\n');
    } finally {
      rmSync(dropIn, { force: true });
      await env.sshd.reload();
      if ((await run(['userdel', user])).exitCode === 8) await run(['userdel', '-f', user]);
      rmSync(homes, { recursive: true, force: true });
    }
  });
});
