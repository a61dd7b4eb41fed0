// The sftp options of #5 end to end on a private sshd (and a private rsyslogd for log):
// each jail is made by the real bundle, passes its connection test, is checked again with
// our own real client calls, and is removed leaving the host as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run, runOk, type RunResult } from '../src/host/run.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { testJailRoot, uniqueUser } from './helpers/names.ts';
import { diffSnapshots, snapshotHost } from './helpers/host-snapshot.ts';
import { answersFile, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { sshClientOptions, sshdLog } from './helpers/sshd.ts';
import { startPrivateRsyslog, waitForLogLine, type PrivateRsyslog } from './helpers/rsyslog.ts';
import type { Answers } from '../src/model/types.ts';

const skip = rootOrSkipReason();
const KEYS_DIR = '/etc/ssh/authorized_keys';

/** Unix socket paths something listens on now (rsyslogd's imuxsock sockets among them). */
function listeningSockets(): string[] {
  return readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[7])
    .filter((p): p is string => p !== undefined && p.startsWith('/'));
}

describe.skipIf(skip)('a private rsyslogd for the log option', () => {
  let rs: PrivateRsyslog | undefined;
  let dir = '';
  afterAll(async () => {
    await rs?.stop();
    if (dir) await run(['rm', '-rf', dir]);
  });

  it('adds a socket from a drop-in when restarted with the same argv, and a line sent there lands in its auth.log', async () => {
    rs = await startPrivateRsyslog();
    dir = path.join(testJailRoot(), `rsyslog-proof-${randomBytes(3).toString('hex')}`);
    const socket = path.join(dir, 'dev', 'log');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(rs.dropInDir, 'proof.conf'), `input(type="imuxsock" Socket="${socket}" CreatePath="on")\n`);
    // Restart as jailwizard does: kill the pid in the pid file, run its argv again.
    const pid = rs.pid()!;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(argv).toEqual(['/usr/sbin/rsyslogd', '-f', rs.configPath, '-i', rs.pidFile]);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => rs!.pid() === undefined);
    await runOk(argv);
    await waitFor(() => existsSync(socket) && lstatSync(socket).isSocket());
    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(rs.pid()).not.toBe(pid);

    const tag = `jw-proof-${randomBytes(4).toString('hex')}`;
    await runOk(['logger', '--socket', socket, '-p', 'auth.info', tag]);
    expect(await waitForLogLine(rs.logFile, tag)).toContain(tag);
    // The host's own /dev/log was never taken over.
    expect(listeningSockets()).not.toContain('/dev/log');
  });
});

describe.skipIf(skip)('sftp options (#5) through the real bundle on a private sshd', () => {
  let env: TestEnv;
  let rs: PrivateRsyslog | undefined;
  /** Users this file applied: afterAll removes any that a failed test left behind. */
  const applied: string[] = [];

  /** /etc/fstab as it was: bind mounts persist there when systemd is not PID 1. */
  let fstabBefore: string | undefined;
  let group = '';

  beforeAll(async () => {
    env = await setupEnv();
    fstabBefore = existsSync('/etc/fstab') ? readFileSync('/etc/fstab', 'utf8') : undefined;
  });
  afterAll(async () => {
    for (const user of applied) {
      if (!existsSync(path.join(env.stateDir, 'jails', `${user}.json`))) continue;
      const r = await jw(env, ['remove', user, '--yes', ...(rs ? ['--syslog-config', rs.configPath] : [])]).catch((e: unknown) => e);
      if (!(r && typeof r === 'object' && 'exitCode' in r && r.exitCode === 0)) console.error(`cleanup: remove ${user}:`, r);
    }
    await rs?.stop();
    // A test that failed half-way may leave bind mounts (teardown must not rm -rf through
    // them) and their fstab lines behind.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
    for (const m of mounts.filter((x) => env && x.startsWith(`${env.jailRoot}/`)).reverse()) await run(['umount', m]);
    if (env && existsSync('/etc/fstab')) {
      const now = readFileSync('/etc/fstab', 'utf8');
      if (now !== (fstabBefore ?? '')) writeFileSync('/etc/fstab', now.split('\n').filter((l) => !l.includes(env.jailRoot)).join('\n'));
    }
    await teardownEnv(env);
    if (group) await run(['groupdel', group]);
  });

  const jailOf = (user: string) => path.join(env.jailRoot, user);
  const dropInOf = (user: string) => readFileSync(path.join(env.sshd.dropInDir, `jailwizard-${user}.conf`), 'utf8');
  const uidOf = (user: string) => Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':')[2]);

  /** Applies answers with the real bundle; the connection test must pass with the named probes. */
  async function apply(a: Partial<Answers> & { user: string }, probes: string[], extra: string[] = []): Promise<RunResult> {
    applied.push(a.user);
    const r = await jw(env, ['apply', '--config', answersFile(env, a), '--yes', ...extra]);
    expect(r.exitCode, out(r)).toBe(0);
    for (const p of probes) expect(r.stdout, out(r)).toContain(`✓ ${p}`);
    expect(r.stdout, out(r)).not.toContain('✗');
    return r;
  }

  async function remove(user: string, extra: string[] = []): Promise<void> {
    const r = await jw(env, ['remove', user, '--yes', ...extra]);
    expect(r.exitCode, out(r)).toBe(0);
  }

  /** One sftp batch as `user` with the test key; `from` picks the source address. */
  async function sftp(user: string, commands: string[], from?: string): Promise<RunResult> {
    const batch = path.join(env.work, `batch-${randomBytes(4).toString('hex')}`);
    writeFileSync(batch, commands.map((c) => `${c}\n`).join(''));
    const bind = from ? ['-o', `BindAddress=${from}`] : [];
    return run(['sftp', ...bind, ...sshClientOptions(env.key.privateKey), '-P', String(env.sshd.port), '-b', batch, `${user}@127.0.0.1`], { timeoutMs: 30_000 });
  }

  /** A local file with exactly this mode (writeFile's mode is masked by the umask). */
  function localFile(name: string, content: string, mode = 0o644): string {
    const p = path.join(env.work, name);
    writeFileSync(p, content);
    chmodSync(p, mode);
    return p;
  }

  it('readOnly: the user reads but every write is refused', async () => {
    const user = uniqueUser('ro');
    const before = await snapshot(env);
    await apply({ user, tools: ['sftp'], readOnly: true }, ['sftp: read-only: upload refused', 'escape: no shell for an sftp-only user']);
    expect(dropInOf(user)).toMatch(/^\s*ForceCommand internal-sftp -R\s*$/m);

    // A file the admin put in the home can be read...
    const home = path.join(jailOf(user), 'home', user);
    writeFileSync(path.join(home, 'readme.txt'), 'for your eyes\n');
    chownSync(path.join(home, 'readme.txt'), uidOf(user), lstatSync(home).gid);
    const back = path.join(env.work, `back-${user}`);
    const get = await sftp(user, ['ls -1', `get readme.txt ${back}`]);
    expect(get.exitCode, out(get)).toBe(0);
    expect(get.stdout).toContain('readme.txt');
    expect(readFileSync(back, 'utf8')).toBe('for your eyes\n');

    // ...but not written, renamed or removed, although the home is the user's own.
    expect(lstatSync(home).uid).toBe(uidOf(user));
    const put = await sftp(user, [`put ${localFile('up.txt', 'x\n')} up.txt`]);
    expect(put.exitCode, out(put)).toBe(1);
    expect(put.stderr).toMatch(/Permission denied/);
    expect(existsSync(path.join(home, 'up.txt'))).toBe(false);
    for (const cmd of ['rm readme.txt', 'rename readme.txt moved.txt', 'mkdir newdir']) {
      const r = await sftp(user, [cmd]);
      expect(r.exitCode, `${cmd}\n${out(r)}`).toBe(1);
      expect(r.stderr, cmd).toMatch(/Permission denied|Failure/);
    }
    expect(readdirSync(home)).toEqual(['readme.txt']);

    await remove(user);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('umask 0027: uploads land 0640 and new dirs 0750', async () => {
    const user = uniqueUser('umask');
    const before = await snapshot(env);
    await apply({ user, tools: ['sftp'], umask: '0027' }, ['sftp: umask 0027 applied', 'sftp: put/get round trip']);
    expect(dropInOf(user)).toMatch(/^\s*ForceCommand internal-sftp -u 0027\s*$/m);

    const home = path.join(jailOf(user), 'home', user);
    const r = await sftp(user, [`put ${localFile('open.txt', 'open to all\n', 0o666)} open.txt`, 'mkdir newdir']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(lstatSync(path.join(home, 'open.txt')).mode & 0o7777).toBe(0o640);
    expect(lstatSync(path.join(home, 'newdir')).mode & 0o7777).toBe(0o750);
    expect(lstatSync(path.join(home, 'open.txt')).uid).toBe(uidOf(user));

    await remove(user);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('startDir /upload with writable /upload: sessions start there, uploads land there, the home is root\'s', async () => {
    const user = uniqueUser('start');
    const before = await snapshot(env);
    await apply({ user, tools: ['sftp'], writable: '/upload', startDir: '/upload' }, [
      'sftp: session starts in /upload',
      'writable /upload: upload works',
      'sftp: put/get round trip',
    ]);
    expect(dropInOf(user)).toMatch(/^\s*ForceCommand internal-sftp -d \/upload\s*$/m);
    const jail = jailOf(user);
    const upload = lstatSync(path.join(jail, 'upload'));
    expect([upload.uid, upload.mode & 0o7777]).toEqual([uidOf(user), 0o750]);
    const home = lstatSync(path.join(jail, 'home', user));
    expect([home.uid, home.mode & 0o7777]).toEqual([0, 0o755]);

    const r = await sftp(user, ['pwd', `put ${localFile('start.txt', 'here\n')} start.txt`]);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout).toContain('Remote working directory: /upload');
    expect(readFileSync(path.join(jail, 'upload', 'start.txt'), 'utf8')).toBe('here\n');
    // The home is not the user's any more.
    const denied = await sftp(user, [`put ${localFile('home.txt', 'no\n')} /home/${user}/home.txt`]);
    expect(denied.exitCode, out(denied)).toBe(1);
    expect(denied.stderr).toMatch(/Permission denied/);

    await remove(user);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('log: internal-sftp lines reach the private rsyslogd through <jail>/dev/log; remove takes the socket away', async () => {
    rs = await startPrivateRsyslog();
    const syslog = ['--syslog-config', rs.configPath];
    const user = uniqueUser('log');
    const jail = jailOf(user);
    const socket = path.join(jail, 'dev', 'log');
    const snap = async () => snapshotHost({ files: [env.sshd.configPath, rs!.configPath], dirs: [env.sshd.dropInDir, env.jailRoot, path.join(env.stateDir, 'jails'), rs!.dropInDir] });
    const before = await snap();

    await apply({ user, tools: ['sftp'], log: true }, [`log: upload appears in ${rs.logFile}`, 'sftp: put/get round trip'], syslog);
    expect(dropInOf(user)).toMatch(/^\s*ForceCommand internal-sftp -l INFO -f AUTH\s*$/m);
    const rec = JSON.parse(readFileSync(path.join(env.stateDir, 'jails', `${user}.json`), 'utf8')) as { logFile?: string };
    expect(rec.logFile).toBe(rs.logFile);
    const dropIns = readdirSync(rs.dropInDir).map((n) => readFileSync(path.join(rs!.dropInDir, n), 'utf8'));
    expect(dropIns.filter((t) => t.includes(`Socket="${socket}"`))).toHaveLength(1);
    expect(lstatSync(socket).isSocket()).toBe(true);
    expect(listeningSockets()).toContain(socket);

    // Our own upload, with a name nobody else uses, is logged with the user's name.
    const name = `mine-${randomBytes(4).toString('hex')}.txt`;
    const r = await sftp(user, [`put ${localFile(name, 'logged\n')} ${name}`]);
    expect(r.exitCode, out(r)).toBe(0);
    const line = await waitForLogLine(rs.logFile, name);
    expect(line, readFileSync(rs.logFile, 'utf8')).toMatch(new RegExp(`internal-sftp.*open "/home/${user}/${name.replace('.', '\\.')}"`));
    // Its session line names the user.
    expect(readFileSync(rs.logFile, 'utf8')).toMatch(new RegExp(`session opened for local user ${user} from \\[127\\.0\\.0\\.1\\]`));

    // `jailwizard test` proves it again from the record alone.
    const tested = await jw(env, ['test', user]);
    expect(tested.exitCode, out(tested)).toBe(0);
    expect(tested.stdout).toContain(`✓ log: upload appears in ${rs.logFile}`);

    await remove(user, syslog);
    expect(readdirSync(rs.dropInDir).filter((n) => readFileSync(path.join(rs!.dropInDir, n), 'utf8').includes(jail))).toEqual([]);
    expect(existsSync(socket)).toBe(false);
    expect(listeningSockets()).not.toContain(socket);
    expect(rs.pid(), 'rsyslogd runs again after remove').toBeDefined();
    expect(diffSnapshots(before, await snap())).toEqual([]);
  });

  it('allowFrom [127.0.0.1]: from 127.0.0.2 sshd refuses the user even with a key that allows it', async () => {
    const user = uniqueUser('from');
    const before = await snapshot(env);
    await apply({ user, tools: ['sftp'], allowFrom: ['127.0.0.1'] }, ['source: login from 127.0.0.2 refused', 'sftp: put/get round trip']);

    const keysFile = path.join(KEYS_DIR, user);
    const keys = readFileSync(keysFile, 'utf8').split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.startsWith('from="127.0.0.1" ')).toBe(true);

    expect((await sftp(user, ['pwd'])).exitCode).toBe(0);
    const refused = await sftp(user, ['pwd'], '127.0.0.2');
    expect(refused.exitCode, out(refused)).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied/);

    // Prove it is sshd's Match … Address block, not from=: a key with no from= at all.
    const original = await readFile(keysFile);
    try {
      writeFileSync(keysFile, Buffer.concat([original, Buffer.from(`${env.key.publicKey}\n`)]));
      const ssh = (from: string) =>
        run(['ssh', '-b', from, ...sshClientOptions(env.key.privateKey), '-p', String(env.sshd.port), `${user}@127.0.0.1`, 'true'], { timeoutMs: 30_000 });
      const other = await ssh('127.0.0.2');
      expect(other.exitCode, out(other)).toBe(255);
      expect(other.stderr).toMatch(/Permission denied/);
      expect(await sshdLog(env.sshd)).toMatch(new RegExp(`User ${user} from 127\\.0\\.0\\.2 not allowed because listed in DenyUsers`));
      // From 127.0.0.1 the same key gets in (and internal-sftp refuses the command).
      const local = await ssh('127.0.0.1');
      expect(local.exitCode, out(local)).not.toBe(255);
    } finally {
      writeFileSync(keysFile, original);
    }

    await remove(user);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('a shell user: extra git, locale, /tmp, a read-only bind, writable and a setgid group dir', async () => {
    const user = uniqueUser('shell');
    group = `${user}g`;
    await runOk(['groupadd', group]);
    const gid = Number((await runOk(['getent', 'group', group])).stdout.split(':')[2]);
    const source = path.join(env.work, 'web');
    await mkdir(source);
    chmodSync(source, 0o755);
    writeFileSync(path.join(source, 'index.html'), 'hello from the host\n');
    chmodSync(path.join(source, 'index.html'), 0o644);
    const upload = `/home/${user}/upload`;
    const snap = () => snapshotHost({ files: [env.sshd.configPath, '/etc/fstab'], dirs: [env.sshd.dropInDir, env.jailRoot, path.join(env.stateDir, 'jails'), source] });
    const before = await snap();

    await apply(
      {
        user,
        tools: ['bash', 'sftp'],
        group,
        writable: upload,
        groupDir: '/shared',
        binds: [{ source, target: '/web', readOnly: true }],
        extraBinaries: ['git'],
        extras: ['locale', 'tmp'],
      },
      [
        'ssh: shell sees the jail as /',
        'sftp: put/get round trip',
        `writable ${upload}: upload works`,
        `group dir /shared: new file gets group ${group}`,
        'bind /web: readable',
        'bind /web: write refused',
        'extra: git runs',
        'locale: no setlocale warning with LANG=C.UTF-8',
        '/tmp is writable',
      ],
    );
    const jail = jailOf(user);
    const ssh = (command: string, env2: Record<string, string | undefined> = {}) =>
      run(['ssh', '-o', 'SendEnv=LANG', '-o', 'SendEnv=LC_ALL', ...sshClientOptions(env.key.privateKey), '-p', String(env.sshd.port), `${user}@127.0.0.1`, command], { timeoutMs: 30_000, env: env2 });

    const git = await ssh('git --version');
    expect(git.exitCode, out(git)).toBe(0);
    expect(git.stdout).toMatch(/^git version /);

    const locale = await ssh('printf "%s %s\\n" "$LANG" "$LC_ALL"', { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' });
    expect(locale.exitCode, out(locale)).toBe(0);
    expect(locale.stdout.trim()).toBe('C.UTF-8 C.UTF-8');
    expect(locale.stderr).not.toMatch(/setlocale/);

    const web = await ssh('cat /web/index.html; touch /web/mine');
    expect(web.stdout).toBe('hello from the host\n');
    expect(web.stderr).toMatch(/Read-only file system/);
    expect(readdirSync(source)).toEqual(['index.html']);

    const tmp = await ssh('touch /tmp/scratch && touch /shared/ours && touch ' + upload + '/mine && touch /home/' + user + '/nope');
    expect(tmp.exitCode, out(tmp)).toBe(1);
    expect(tmp.stderr).toMatch(new RegExp(`/home/${user}/nope.*Permission denied`));
    expect(lstatSync(path.join(jail, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(path.join(jail, 'tmp', 'scratch')).uid).toBe(uidOf(user));
    expect(lstatSync(path.join(jail, 'shared', 'ours')).gid).toBe(gid);
    expect(lstatSync(path.join(jail, 'shared')).mode & 0o7777).toBe(0o2770);
    expect(lstatSync(path.join(jail, upload, 'mine')).uid).toBe(uidOf(user));

    await remove(user);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${jail}/web`);
    expect(readFileSync(path.join(source, 'index.html'), 'utf8')).toBe('hello from the host\n');
    expect(diffSnapshots(before, await snap())).toEqual([]);
  });
});

/** Polls cond for up to 5 s; the assertion after it says what was expected. */
async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
}
