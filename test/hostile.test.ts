// The hostile user (issue #12): a jailed user prepares the dirs they can write with their
// own tools (sftp, or their own processes via setpriv) and tries to steer root's
// operations. Whatever they plant, root's canaries keep owner, mode and content.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { RUN_ID, uniqueUser } from './helpers/names.ts';
import { BIN, answersFile, jw, out, setupEnv, sftpAs, sshAs, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, runOk, type RunResult } from '../src/host/run.ts';
import type { Answers } from '../src/model/types.ts';

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

/** argv run as the user (their uid, gid and groups), as their own processes would. */
function asUser(u: Account, argv: string[]): Promise<RunResult> {
  return run(['setpriv', `--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', ...argv], { timeoutMs: 300_000 });
}

/** renameat2(RENAME_EXCHANGE) of two names in a loop, as the user, until killed. */
const EXCHANGE_LOOP = [
  'import ctypes, sys',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'a, b = sys.argv[1].encode(), sys.argv[2].encode()',
  'while True:',
  '    libc.renameat2(-100, a, -100, b, 2)',
].join('\n');

/** Every loop started, so that afterAll ends them even when a test times out midway. */
const running = new Set<ChildProcess>();

function exchangeLoop(u: Account, a: string, b: string): ChildProcess {
  const child = spawn('setpriv', [`--reuid=${u.uid}`, `--regid=${u.gid}`, '--init-groups', '--', '/usr/bin/python3', '-c', EXCHANGE_LOOP, a, b], { stdio: 'ignore' });
  running.add(child);
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child) running.delete(child);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/**
 * Ends every loop still racing. A cleanup calls it first: when an assertion fails midway
 * the loops are still swapping dirs, and rmSync would then fail on a dir that just became
 * a link, hiding the assertion that failed behind an ENOTDIR.
 */
async function stopAll(): Promise<void> {
  for (const l of [...running]) await stop(l);
}

// ---------------------------------------------------------------- hand-made jails

/**
 * An ArchWiki-style `ChrootDirectory %h` jail, sftp only, with the keys where sshd's
 * default AuthorizedKeysFile puts them: `<home>/.ssh/authorized_keys`, the user's own.
 * healthy: the home is root's and the passwd home exists inside it, the user's (what
 * doctor --fix makes of it). Otherwise the home is the user's, with files in it.
 */
interface HandMade {
  user: Account;
  home: string;
  /** The user's .ssh (theirs) and the dir the session starts in (theirs). */
  sshDir: string;
  inner: string;
  cleanup: () => Promise<void>;
}

async function homeJail(env: TestEnv, label: string, healthy: boolean): Promise<HandMade> {
  const name = uniqueUser(label);
  const homes = path.join(env.jailRoot, `h-${label}`);
  const home = path.join(homes, name);
  const dropIn = path.join(env.sshd.dropInDir, `10-${name}.conf`);
  mkdirSync(homes, { mode: 0o755 });
  chmodSync(homes, 0o755);
  const cleanup = async (): Promise<void> => {
    await stopAll();
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
  return { user, home, sshDir: path.join(home, '.ssh'), inner: healthy ? path.join(home, home) : home, cleanup };
}

/**
 * A jailkit-style jail: no ChrootDirectory; the passwd home is JAIL/./home/USER and the
 * shell jk_chrootsh, which chroots to JAIL and runs the shell JAIL/etc/passwd names.
 */
async function jailkitJail(env: TestEnv, label: string): Promise<HandMade> {
  const name = uniqueUser(label);
  const jailDir = path.join(env.jailRoot, `jk-${label}`);
  const inner = path.join(jailDir, 'home', name);
  const cleanup = async (): Promise<void> => {
    await stopAll();
    if ((await run(['userdel', name])).exitCode === 8) await run(['userdel', '-f', name]);
    rmSync(jailDir, { recursive: true, force: true });
  };
  for (const d of [jailDir, path.join(jailDir, 'etc'), path.join(jailDir, 'home')]) {
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
  }
  const add = await run(['useradd', '-M', '-d', `${jailDir}/./home/${name}`, '-s', '/usr/sbin/jk_chrootsh', name]);
  expect(add.exitCode, add.stderr).toBe(0);
  const user = account(name);
  writeFileSync(path.join(jailDir, 'etc/passwd'), `root:x:0:0:root:/root:/bin/bash\n${name}:x:${user.uid}:${user.gid}::/home/${name}:/bin/bash\n`, { mode: 0o644 });
  writeFileSync(path.join(jailDir, 'etc/group'), `root:x:0:\n${name}:x:${user.gid}:\n`, { mode: 0o644 });
  mkdirSync(inner, { mode: 0o755 });
  mkdirSync(path.join(inner, '.ssh'), { mode: 0o700 });
  writeFileSync(path.join(inner, '.ssh/authorized_keys'), `${env.key.publicKey}\n`, { mode: 0o600 });
  for (const p of [inner, path.join(inner, '.ssh'), path.join(inner, '.ssh/authorized_keys')]) chownSync(p, user.uid, user.gid);
  return { user, home: inner, sshDir: path.join(inner, '.ssh'), inner, cleanup };
}

/**
 * What a user prepares in a dir they can write, with their own tools. Every name is
 * prefixed, so users sharing a /tmp do not collide. small: the hostile set (links to the
 * canaries, a dir swapped for a link, a FIFO, a socket, names with a newline and with
 * bytes that are not UTF-8, a 0600 file of data). large: adds three 3 GiB sparse files,
 * 2000 files and a tree 1500 dirs deep, so that anything that reads, hashes or walks what
 * the user made costs far more than before.
 */
const PLANT = `
import os, socket, sys
mode, prefix, canfile, candir = sys.argv[1:5]
for d in sys.argv[5:]:
    os.chdir(d)
    p = lambda n: prefix + n
    def link(name, target):
        if not os.path.lexists(name): os.symlink(target, name)
    link(p('evil'), candir)
    link(p('to-file'), canfile)
    link(p('.jailwizard-new'), canfile)
    link(p('.jailwizard-restore'), canfile)
    if not os.path.lexists(p('loop')): os.mkdir(p('loop'))
    if not os.path.lexists(p('swapped')):
        os.mkdir(p('swapped.real'))
        os.symlink(candir, p('swapped'))
    if not os.path.lexists(p('fifo')): os.mkfifo(p('fifo'))
    if not os.path.lexists(p('sock')):
        socket.socket(socket.AF_UNIX).bind(p('sock'))
    open(p('new\\nline'), 'w').write('x')
    open(p('').encode() + b'bytes-\\xff\\xfe', 'w').write('x')
    with open(p('secret'), 'w') as f:
        f.write('user data\\n')
    os.chmod(p('secret'), 0o600)
    if mode == 'large':
        for i in range(3):
            with open(p('big%d' % i), 'wb') as f:
                f.truncate(3 << 30)
        os.makedirs(p('many'), exist_ok=True)
        for i in range(2000):
            open(os.path.join(p('many'), 'f%d' % i), 'w').close()
        if not os.path.lexists(p('deep')):
            os.mkdir(p('deep'))
            os.chdir(p('deep'))
            for i in range(1500):
                os.mkdir('d')
                os.chdir('d')
`;

async function plant(u: Account, size: 'small' | 'large', dirs: string[], prefix = `${u.name}-`): Promise<void> {
  const r = await asUser(u, ['/usr/bin/python3', '-c', PLANT, size, prefix, canaryFile, canaryDir, ...dirs]);
  expect(r.exitCode, out(r)).toBe(0);
}

/** A root-only file and dir for every user to aim at (beside those of the critical tests). */
let canaryFile = '';
let canaryDir = '';

interface Open {
  path: string;
  dir: boolean;
}

/**
 * One jailwizard command under strace, and every file or dir it (or a child) opened under
 * the user's dirs: opens are counted, never timed. -y names what each returned fd is, so an
 * open through /proc/self/fd/N/<name> is seen at its real path.
 */
async function traced(env: TestEnv, args: string[], userDirs: string[]): Promise<{ r: RunResult; opens: Open[] }> {
  const dir = mkdtempSync(path.join(env.work, 'strace-'));
  const r = await run(['strace', '--seccomp-bpf', '-f', '-ff', '-qq', '-y', '-e', 'trace=open,openat,openat2', '-o', path.join(dir, 'o'), process.execPath, BIN, ...args, ...env.common], { timeoutMs: 900_000 });
  const opens: Open[] = [];
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const m = /^(?:open|openat|openat2)\((.*)\) = \d+<(.*)>$/.exec(line);
      if (!m) continue;
      const p = m[2]!;
      if (userDirs.some((u) => p === u || p.startsWith(`${u}/`))) opens.push({ path: p, dir: /O_DIRECTORY/.test(m[1]!) });
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return { r, opens };
}

interface Command {
  label: string;
  args: string[];
  /** Exit codes a run without racing loops must give. */
  ok: number[];
}

/**
 * Runs each command once with the small hostile set and once with the large one (and the
 * users' exchange loops running): the canaries never change, no file of a user is opened
 * (apart from `allowed`: the keys file the temporary key is appended to), and nothing opened
 * under the users' dirs grows with what the users made.
 */
async function runHostile(
  env: TestEnv,
  o: { commands: Command[]; userDirs: string[]; allowed?: string[]; large: () => Promise<void>; loops: () => ChildProcess[]; beforeEach?: () => Promise<void> },
): Promise<ChildProcess[]> {
  const watched = [...canaries];
  const before = canaryStates(watched);
  const counts = new Map<string, number>();
  const check = (label: string, phase: string, t: { r: RunResult; opens: Open[] }): void => {
    expect(canaryStates(watched), `${label} (${phase}) changed a canary\n${out(t.r)}`).toEqual(before);
    const files = t.opens.filter((x) => !x.dir && !(o.allowed ?? []).includes(x.path));
    expect(files.map((x) => x.path), `${label} (${phase}) opened user files: ${files.map((x) => x.path).join(', ')}\n${out(t.r)}`).toEqual([]);
  };
  for (const c of o.commands) {
    await o.beforeEach?.();
    const t = await traced(env, c.args, o.userDirs);
    console.log(`[hostile] ${c.label} (small): exit ${t.r.exitCode}, ${t.opens.length} opens under the users' dirs`);
    expect(c.ok, `${c.label} (small)\n${out(t.r)}`).toContain(t.r.exitCode);
    check(c.label, 'small', t);
    counts.set(c.label, t.opens.length);
  }
  await o.large();
  const loops = o.loops();
  for (const c of o.commands) {
    await o.beforeEach?.();
    const t = await traced(env, c.args, o.userDirs);
    console.log(`[hostile] ${c.label} (large, racing): exit ${t.r.exitCode}, ${t.opens.length} opens under the users' dirs`);
    expect([...c.ok, 1], `${c.label} (large, racing)\n${out(t.r)}`).toContain(t.r.exitCode);
    check(c.label, 'large', t);
    expect(t.opens.length, `${c.label}: opens under the users' dirs grew with their files: ${t.opens.map((x) => x.path).join(', ')}`).toBeLessThanOrEqual(counts.get(c.label)!);
  }
  return loops;
}

/** A remove under strace: it lists the users' dirs at most, and never opens or walks into them. */
async function tracedRemove(env: TestEnv, user: string, userDirs: string[]): Promise<RunResult> {
  const watched = [...canaries];
  const before = canaryStates(watched);
  const t = await traced(env, ['remove', user, '--yes'], userDirs);
  expect(t.r.exitCode, out(t.r)).toBe(0);
  expect(canaryStates(watched), out(t.r)).toEqual(before);
  expect(t.opens.filter((x) => !x.dir).map((x) => x.path)).toEqual([]);
  // Each dir is opened (and listed) a few times at most: its facts, then the quarantine.
  expect(t.opens.length, t.opens.map((x) => x.path).join('\n')).toBeLessThanOrEqual(4 * userDirs.length);
  return t.r;
}

function doctorFix(env: TestEnv, user: string): Promise<RunResult> {
  return jw(env, ['doctor', user, '--fix', '--yes', '--sshd-log', env.sshd.logFile]);
}

describe.skipIf(skip)('a hostile user against root operations', () => {
  let env: TestEnv;
  /** Groups this file made (cleanupTestUsers deletes users only). */
  const groups: string[] = [];
  beforeAll(async () => {
    env = await setupEnv();
    canaryFile = plantCanary(`/root/jwcanary-${RUN_ID}-file`);
    canaryDir = plantCanary(`/etc/jwcanary-${RUN_ID}-dir`, 'dir');
  });
  afterAll(async () => {
    await stopAll();
    for (const c of canaries) rmSync(c, { recursive: true, force: true });
    await teardownEnv(env);
    for (const g of groups) await run(['groupdel', g]);
  });

  async function applyOk(a: Partial<Answers> & { user: string }): Promise<void> {
    const r = await jw(env, ['apply', '--config', answersFile(env, a), '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout, out(r)).not.toContain('✗');
  }

  const cmd = (label: string, args: string[], ok = [0]): Command => ({ label, args, ok });

  it('a jailwizard jail of one user: apply again, update, check, test and doctor --fix never follow, read or walk what the user made; remove moves it away unread', async () => {
    const name = uniqueUser('hone');
    const jail = path.join(env.jailRoot, name);
    const a = { user: name, tools: ['bash', 'sftp'] as Answers['tools'], jail, writable: '/upload', extras: ['tmp'] as Answers['extras'] };
    await applyOk(a);
    const u = account(name);
    const userDirs = [path.join(jail, 'upload'), path.join(jail, 'tmp')];
    await plant(u, 'small', userDirs);
    const cfg = answersFile(env, a);
    const started = await runHostile(env, {
      commands: [
        cmd('apply again', ['apply', '--config', cfg, '--yes']),
        cmd('update', ['update', name, '--yes']),
        cmd('check', ['check', name]),
        cmd('test', ['test', name]),
        cmd('doctor --fix', ['doctor', name, '--fix', '--yes', '--sshd-log', env.sshd.logFile]),
      ],
      userDirs,
      large: () => plant(u, 'large', userDirs),
      loops: () => userDirs.map((d) => exchangeLoop(u, path.join(d, `${name}-loop`), path.join(d, `${name}-evil`))),
    });
    // userdel refuses a user whose processes still run: the admin ends them first.
    for (const l of started) await stop(l);
    await tracedRemove(env, name, userDirs);
    expect(existsSync(jail)).toBe(false);
  }, 1_200_000);

  it('a shared jail: the same for two users; removing one quarantines their entries in /tmp and the group dir, and the next user gets neither their uid nor their files', async () => {
    const [n1, n2, n3] = [uniqueUser('hsa'), uniqueUser('hsb'), uniqueUser('hsc')];
    const g = `${n1}g`;
    await runOk(['groupadd', g]);
    groups.push(g);
    const jail = path.join(env.jailRoot, `${n1}-shared`);
    const common = { shared: true, jail, group: g, groupDir: '/shared', extras: ['tmp'] as Answers['extras'] };
    const a1 = { user: n1, tools: ['bash'] as Answers['tools'], ...common };
    const a2 = { user: n2, tools: ['sftp'] as Answers['tools'], ...common };
    await applyOk(a1);
    await applyOk(a2);
    const [u1, u2] = [account(n1), account(n2)];
    const home = (n: string): string => path.join(jail, 'home', n);
    const shared = [path.join(jail, 'tmp'), path.join(jail, 'shared')];
    const userDirs = [home(n1), home(n2), ...shared];
    await plant(u1, 'small', [home(n1), ...shared]);
    await plant(u2, 'small', [home(n2), ...shared]);
    const started = await runHostile(env, {
      commands: [
        cmd('apply again', ['apply', '--config', answersFile(env, a1), '--yes']),
        cmd('update --all', ['update', '--all', '--yes']),
        cmd('check --all', ['check', '--all']),
        cmd(`test ${n1}`, ['test', n1]),
        cmd(`test ${n2}`, ['test', n2]),
        cmd('doctor --fix', ['doctor', n1, '--fix', '--yes', '--sshd-log', env.sshd.logFile]),
      ],
      userDirs,
      large: async () => {
        await plant(u1, 'large', [home(n1), ...shared]);
        await plant(u2, 'large', [home(n2)]);
      },
      loops: () => [
        exchangeLoop(u1, path.join(jail, 'tmp', `${n1}-loop`), path.join(jail, 'tmp', `${n1}-evil`)),
        exchangeLoop(u2, path.join(home(n2), `${n2}-loop`), path.join(home(n2), `${n2}-evil`)),
        exchangeLoop(u2, path.join(jail, 'shared', `${n2}-loop`), path.join(jail, 'shared', `${n2}-evil`)),
      ],
    });
    // The first user's own processes end; the second user's race on while root removes the first.
    await stop(started[0]);
    const secret = path.join(jail, 'tmp', `${n1}-secret`);
    expect(statSync(secret).uid).toBe(u1.uid);
    await tracedRemove(env, n1, userDirs);
    for (const d of shared) {
      // Raw names: some are not UTF-8.
      const left = readdirSync(d, { encoding: 'buffer' }).filter((n) => lstatSync(Buffer.concat([Buffer.from(`${d}/`), n])).uid === u1.uid).map(String);
      expect(left, `${n1}'s entries left in ${d}`).toEqual([]);
    }
    const q = path.join(env.jailRoot, `.${path.basename(jail)}.jailwizard-removed`);
    const qs = statSync(q);
    expect([qs.uid, qs.mode & 0o7777]).toEqual([0, 0o700]);
    expect(readdirSync(q).some((n) => n.startsWith(`${n1}-`) && readdirSync(path.join(q, n)).includes(`${n1}-secret`))).toBe(true);
    expect(readdirSync(path.join(jail, 'tmp')).filter((n) => n.startsWith(`${n2}-`)).length).toBeGreaterThan(0);

    // The next user: another uid, and nothing of the first user's to read.
    await applyOk({ user: n3, tools: ['bash'] as Answers['tools'], ...common });
    const u3 = account(n3);
    expect(u3.uid).not.toBe(u1.uid);
    const read = await sshAs(env, n3, `cat /tmp/${n1}-secret; ls -a /tmp`);
    expect(read.stdout).not.toContain('user data');
    expect(read.stdout).not.toContain(`${n1}-`);
    expect(existsSync(secret)).toBe(false);
    for (const l of started) await stop(l);
    await tracedRemove(env, n2, userDirs.filter((d) => d !== home(n1)));
    await tracedRemove(env, n3, [home(n3), ...shared]);
    expect(existsSync(jail)).toBe(false);
  }, 1_800_000);

  it('hand-made jails (ArchWiki %h, jailkit /./): doctor and doctor --fix never follow, read or walk what the user made', async () => {
    // ArchWiki: the chroot is the home, root's; the keys in the user's own .ssh.
    const h = await homeJail(env, 'harch', true);
    const jk = await jailkitJail(env, 'hjk');
    try {
      for (const j of [h, jk]) {
        const keys = path.join(j.sshDir, 'authorized_keys');
        const userDirs = [j.sshDir, j.inner];
        await plant(j.user, 'small', userDirs);
        const started = await runHostile(env, {
          commands: [cmd('doctor', ['doctor', j.user.name, '--sshd-log', env.sshd.logFile], [0, 1]), cmd('doctor --fix', ['doctor', j.user.name, '--fix', '--yes', '--sshd-log', env.sshd.logFile], [0, 1])],
          userDirs,
          // The keys file the temporary key is appended to, under either name the loop gives it.
          allowed: [keys, path.join(j.sshDir, `${j.user.name}-to-file`), path.join(j.inner, `${j.user.name}-evil`, 'authorized_keys')],
          // The user breaks their .ssh again and again, so that doctor --fix has a fix to make
          // (and then tests); while the loops race, .ssh may be a link just then.
          beforeEach: async () => {
            await asUser(j.user, ['chmod', '0775', j.sshDir]);
          },
          large: () => plant(j.user, 'large', userDirs),
          // ArchWiki's .ssh is in a root-owned home: the user swaps the keys file for a link to
          // a canary. jailkit's home is theirs: they swap .ssh itself for a link to a canary dir.
          loops: () => [
            j === h ? exchangeLoop(j.user, keys, path.join(j.sshDir, `${j.user.name}-to-file`)) : exchangeLoop(j.user, j.sshDir, path.join(j.inner, `${j.user.name}-evil`)),
            exchangeLoop(j.user, path.join(j.inner, `${j.user.name}-loop`), path.join(j.inner, `${j.user.name}-to-file`)),
          ],
        });
        for (const l of started) await stop(l);
      }
      // Without a record, check and test refuse: they read nothing at all.
      for (const args of [['check', h.user.name], ['test', h.user.name]]) {
        const t = await traced(env, args, [h.sshDir, h.inner]);
        expect(t.r.exitCode, out(t.r)).toBe(2);
        expect(t.opens).toEqual([]);
      }
    } finally {
      await h.cleanup();
      await jk.cleanup();
    }
  }, 1_200_000);

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

      // A FIFO there, and a fix to make so that the connection test runs: nothing blocks on it.
      const keys = path.join(j.home, '.ssh/authorized_keys');
      rmSync(keys);
      expect((await asUser(j.user, ['mkfifo', keys])).exitCode).toBe(0);
      expect((await asUser(j.user, ['chmod', '0775', path.dirname(keys)])).exitCode).toBe(0);
      const fifo = await jw(env, ['doctor', j.user.name, '--fix', '--yes', '--sshd-log', env.sshd.logFile], { timeoutMs: 90_000 });
      expect(fifo.timedOut, out(fifo)).toBe(false);
      expect(fifo.stdout, out(fifo)).toContain('is not a regular file');
      expect(lstatSync(keys).isFIFO()).toBe(true);
      expect(canaryStates([target])).toEqual(before);
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
