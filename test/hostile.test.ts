// The hostile user (issue #12): a jailed user prepares the dirs they can write with their
// own tools (sftp, or their own processes via setpriv) and tries to steer root's
// operations. Whatever they plant, root's canaries keep owner, mode and content.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { RUN_ID, uniqueUser } from './helpers/names.ts';
import { jw, out, setupEnv, sftpAs, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, type RunResult } from '../src/run.ts';

const skip = rootOrSkipReason();

// ---------------------------------------------------------------- canaries

/** Root-only files the user must never reach: /root and /etc, 0600 root:root. */
const canaries: string[] = [];

function plantCanary(p: string, kind: 'file' | 'dir' = 'file'): string {
  if (kind === 'dir') mkdirSync(p, { mode: 0o700 });
  else writeFileSync(p, `canary ${path.basename(p)}: root only\n`, { mode: 0o600 });
  chownSync(p, 0, 0);
  chmodSync(p, kind === 'dir' ? 0o700 : 0o600);
  canaries.push(p);
  return p;
}

/** Type, owner, mode and content (a dir's: its entries). */
function canaryState(p: string): string {
  const st = lstatSync(p);
  const body = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : st.isDirectory() ? `[${readdirSync(p).join(' ')}]` : '-';
  return `${st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other'} ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${body}`;
}

function canaryStates(ps: string[]): Record<string, string> {
  return Object.fromEntries(ps.map((p) => [p, canaryState(p)]));
}

// ---------------------------------------------------------------- the user's own tools

interface Account {
  name: string;
  uid: number;
  gid: number;
}

function account(name: string): Account {
  const f = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`))!.split(':');
  return { name, uid: Number(f[2]), gid: Number(f[3]) };
}

/** argv run as the user (their uid, gid and no other group), as their own processes would. */
function asUser(u: Account, argv: string[]): Promise<RunResult> {
  return run(['setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--', ...argv], { timeoutMs: 60_000 });
}

/** renameat2(RENAME_EXCHANGE) of two names in a loop, as the user, until killed. */
const EXCHANGE_LOOP = [
  'import ctypes, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'a, b = sys.argv[1].encode(), sys.argv[2].encode()',
  'while True:',
  '    libc.renameat2(-100, a, -100, b, 2)',
].join('\n');

function exchangeLoop(u: Account, a: string, b: string): ChildProcess {
  return spawn('setpriv', [`--reuid=${u.uid}`, `--regid=${u.gid}`, '--clear-groups', '--', '/usr/bin/python3', '-c', EXCHANGE_LOOP, a, b], { stdio: 'ignore' });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

// ---------------------------------------------------------------- hand-made jails

/**
 * An ArchWiki-style `ChrootDirectory %h` jail, sftp only, with the keys where sshd's
 * default AuthorizedKeysFile puts them: `<home>/.ssh/authorized_keys`, the user's own.
 * healthy: the home is root's and the passwd home exists inside it, the user's (what
 * doctor --fix makes of it). Otherwise the home is the user's, with files in it.
 */
async function homeJail(env: TestEnv, label: string, healthy: boolean): Promise<{ user: Account; home: string; dropIn: string; cleanup: () => Promise<void> }> {
  const name = uniqueUser(label);
  const homes = path.join(env.jailRoot, `h-${label}`);
  const home = path.join(homes, name);
  const dropIn = path.join(env.sshd.dropInDir, `10-${name}.conf`);
  mkdirSync(homes, { mode: 0o755 });
  chmodSync(homes, 0o755);
  const cleanup = async (): Promise<void> => {
    rmSync(dropIn, { force: true });
    await env.sshd.reload();
    if ((await run(['userdel', name])).exitCode === 8) await run(['userdel', '-f', name]);
    rmSync(homes, { recursive: true, force: true });
  };
  const add = await run(['useradd', '-M', '-d', home, '-s', '/usr/sbin/nologin', name]);
  expect(add.exitCode, add.stderr).toBe(0);
  const user = account(name);
  mkdirSync(home, { mode: 0o755 });
  if (healthy) {
    chmodSync(home, 0o755);
    const inner = path.join(home, home);
    mkdirSync(inner, { recursive: true, mode: 0o755 });
    chownSync(inner, user.uid, user.gid);
    chmodSync(inner, 0o750);
  } else {
    chownSync(home, user.uid, user.gid);
    chmodSync(home, 0o755);
    writeFileSync(path.join(home, 'report.txt'), 'quarterly numbers\n');
    chownSync(path.join(home, 'report.txt'), user.uid, user.gid);
  }
  mkdirSync(path.join(home, '.ssh'), { mode: 0o700 });
  writeFileSync(path.join(home, '.ssh/authorized_keys'), `${env.key.publicKey}\n`, { mode: 0o600 });
  chownSync(path.join(home, '.ssh'), user.uid, user.gid);
  chownSync(path.join(home, '.ssh/authorized_keys'), user.uid, user.gid);
  writeFileSync(dropIn, `Match User ${name}\n    ChrootDirectory %h\n    ForceCommand internal-sftp\n    AllowTcpForwarding no\n    X11Forwarding no\n`, { mode: 0o644 });
  await env.sshd.reload();
  return { user, home, dropIn, cleanup };
}

function doctorFix(env: TestEnv, user: string): Promise<RunResult> {
  return jw(env, ['doctor', user, '--fix', '--yes', '--sshd-log', env.sshd.logFile]);
}

describe.skipIf(skip)('a hostile user against root operations', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    for (const c of canaries) rmSync(c, { recursive: true, force: true });
    await teardownEnv(env);
  });

  it('doctor --fix: the temporary test key is never written through links the user planted in their .ssh (critical 1)', async () => {
    const j = await homeJail(env, 'k1', true);
    try {
      const login = await sftpAs(env, j.user.name, ['pwd']);
      expect(login.exitCode, out(login)).toBe(0);
      const keys = '/.ssh/authorized_keys';
      const targets = [plantCanary(`/root/jwcanary-${RUN_ID}-new`), plantCanary(`/etc/jwcanary-${RUN_ID}-restore`)];
      const before = canaryStates(targets);
      // Over sftp: links at the names jailwizard used beside the keys, and a group-writable
      // .ssh so that doctor has a fix to make (and then runs its connection test).
      const plant = await sftpAs(env, j.user.name, [`symlink ${targets[0]} ${keys}.jailwizard-new`, `symlink ${targets[1]} ${keys}.jailwizard-restore`, 'chmod 775 /.ssh']);
      expect(plant.exitCode, out(plant)).toBe(0);
      expect(lstatSync(path.join(j.home, `.ssh/authorized_keys.jailwizard-new`)).isSymbolicLink()).toBe(true);

      const f = await doctorFix(env, j.user.name);
      expect(canaryStates(targets), out(f)).toEqual(before);
      expect(f.exitCode, out(f)).toBe(0);
      // The keys are the user's regular file again, exactly as they were.
      const k = lstatSync(path.join(j.home, '.ssh/authorized_keys'));
      expect([k.isFile(), k.uid]).toEqual([true, j.user.uid]);
      expect(readFileSync(path.join(j.home, '.ssh/authorized_keys'), 'utf8')).toBe(`${env.key.publicKey}\n`);
      expect(statSync(path.join(j.home, '.ssh')).mode & 0o7777).toBe(0o755);
    } finally {
      await j.cleanup();
    }
  });

  it('doctor --fix never changes the mode of what a symlinked authorized_keys points to (critical 2)', async () => {
    const j = await homeJail(env, 'k2', true);
    try {
      const target = plantCanary(`/etc/jwcanary-${RUN_ID}-keys`);
      const before = canaryStates([target]);
      const plant = await sftpAs(env, j.user.name, ['rm /.ssh/authorized_keys', `symlink ${target} /.ssh/authorized_keys`]);
      expect(plant.exitCode, out(plant)).toBe(0);

      const f = await doctorFix(env, j.user.name);
      expect(canaryStates([target]), out(f)).toEqual(before);
      expect(f.stdout).toContain('is a symlink');
      expect(f.stdout).not.toMatch(/chmod 07\d\d \S*authorized_keys/);
    } finally {
      await j.cleanup();
    }
  });

  it('doctor --fix of a %h chroot the user owns is not raced by a renameat2 exchange loop (critical 3)', async () => {
    const j = await homeJail(env, 'k3', false);
    let loop: ChildProcess | undefined;
    try {
      // A dir: then every path operation that goes through the swapped link lands in it.
      const target = plantCanary(`/etc/jwcanary-${RUN_ID}-race`, 'dir');
      const before = canaryStates([target]);
      // doctor makes <home>/<first component of the passwd home> first: swap it for a link, again and again.
      const first = path.join(j.home, j.home.split('/')[1]!);
      const evil = path.join(j.home, 'evil');
      const ln = await asUser(j.user, ['ln', '-s', target, evil]);
      expect(ln.exitCode, ln.stderr).toBe(0);
      loop = exchangeLoop(j.user, first, evil);

      const f = await doctorFix(env, j.user.name);
      await stop(loop);
      expect(canaryStates([target]), out(f)).toEqual(before);
      expect(f.exitCode, out(f)).toBe(0);
      const st = statSync(j.home);
      expect([st.uid, st.mode & 0o022]).toEqual([0, 0]);
      expect(readFileSync(path.join(j.home, j.home, 'report.txt'), 'utf8')).toBe('quarterly numbers\n');
    } finally {
      await stop(loop);
      await j.cleanup();
    }
  });
});
