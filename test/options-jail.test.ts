// The jail-wide options of #5 end to end on a private sshd: shared jails, writable and
// setgid group dirs, bind mounts, the refusals, extra commands and extras, allowFrom for a
// shell user. Each jail is made by the real bundle (with its connection test), checked
// again with our own real client calls, and removed leaving the host as it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, runOk, type RunResult } from '../src/host/run.ts';
import { systemdUnitForPath } from '../src/plan/options.ts';
import { EXTRAS, type Answers } from '../src/model/types.ts';
import type { PlanJson } from '../src/commands/plan.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots, snapshotHost, type HostSnapshot } from './helpers/host-snapshot.ts';
import { answersFile, expectRefused, jw, mountOptions, out, setupEnv, sftpAs, sshAs, teardownEnv, removeApplied, type TestEnv } from './helpers/jw.ts';
import { sshdLog } from './helpers/sshd.ts';

const skip = rootOrSkipReason();
const KEYS_DIR = '/etc/ssh/authorized_keys';
const FSTAB = '/etc/fstab';


function sha256(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

/** Every non-directory entry under dir (relative, not following symlinks), skipping `except` subtrees. */
function entriesUnder(dir: string, except: string[] = []): string[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    if (except.includes(p)) return;
    const st = lstatSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(path.join(p, n));
    else found.push(path.relative(dir, p));
  };
  walk(dir);
  return found;
}

/** A setuid program that exists on this host (a real file, not through a symlink). */
function setuidProgram(): string | undefined {
  return ['/usr/bin/passwd', '/usr/bin/su', '/usr/bin/chsh', '/bin/su'].find((p) => {
    try {
      const st = lstatSync(p);
      return st.isFile() && (st.mode & 0o4000) !== 0 && !lstatSync(path.dirname(p)).isSymbolicLink();
    } catch {
      return false;
    }
  });
}


async function userExists(name: string): Promise<boolean> {
  return (await run(['getent', 'passwd', name])).exitCode === 0;
}

/** The client environment that makes a jail without the locale warn: LANG and LC_ALL (glibc 2.36's bash warns for LC_ALL). */
function localeClientEnv(): Record<string, string | undefined> {
  const e: Record<string, string | undefined> = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', LANGUAGE: undefined };
  for (const k of Object.keys(process.env)) if (k.startsWith('LC_') && k !== 'LC_ALL') e[k] = undefined;
  return e;
}
const SEND_LOCALE = ['-o', 'SendEnv=LANG', '-o', 'SendEnv=LC_ALL'];

describe.skipIf(skip)('jail-wide options (#5) through the real bundle on a private sshd', () => {
  let env: TestEnv;
  /** Users this file applied: afterAll removes any a failed test left behind. */
  const applied: string[] = [];
  /** Groups this file made with groupadd (cleanupTestUsers deletes users only). */
  const groups: string[] = [];
  beforeAll(async () => {
    env = await setupEnv();
  });

  afterAll(async () => {
    if (env) await removeApplied(env, applied, FSTAB);
    await teardownEnv(env);
    for (const g of groups) await run(['groupdel', g]);
  });

  const jailOf = (user: string) => path.join(env.jailRoot, user);
  const dropInPath = (user: string) => path.join(env.sshd.dropInDir, `jailwizard-${user}.conf`);
  const uidOf = (user: string) => Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':')[2]);
  const gidOfGroup = async (g: string) => Number((await runOk(['getent', 'group', g])).stdout.split(':')[2]);
  /** What apply may touch here, /etc/fstab included (bind mounts persist there without systemd). */
  const snap = (): Promise<HostSnapshot> =>
    snapshotHost({ files: [env.sshd.configPath, FSTAB], dirs: [env.sshd.dropInDir, env.jailRoot, path.join(env.stateDir, 'jails')] });

  /** Applies answers with the real bundle and its connection test; the named probes must pass. */
  async function apply(a: Partial<Answers> & { user: string }, probes: string[], extra: string[] = []): Promise<RunResult> {
    if (!applied.includes(a.user)) applied.push(a.user);
    const r = await jw(env, ['apply', '--config', answersFile(env, a), '--yes', ...extra]);
    expect(r.exitCode, out(r)).toBe(0);
    if (!extra.includes('--no-test')) {
      expect(r.stdout, out(r)).toContain('Connection test with the real clients:');
      for (const p of probes) expect(r.stdout, out(r)).toContain(`✓ ${p}`);
      expect(r.stdout, out(r)).not.toContain('✗');
    }
    return r;
  }

  async function remove(user: string): Promise<RunResult> {
    const r = await jw(env, ['remove', user, '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    return r;
  }

  /** A local file with exactly this content and mode, to upload. */
  function localFile(name: string, content: string, mode = 0o644): string {
    const p = path.join(env.work, name);
    writeFileSync(p, content);
    chmodSync(p, mode);
    return p;
  }

  /** A host dir for bind sources, beside the jails (never inside one). */
  function hostDir(name: string, mode = 0o755): string {
    const p = path.join(env.jailRoot, 'hostdata', name);
    mkdirSync(p, { recursive: true });
    chmodSync(path.dirname(p), 0o755);
    chmodSync(p, mode);
    return p;
  }

  const namesIn = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(':')[0]);

  it('shared jail: a second user reuses the binaries, both log in, and each remove takes exactly its own part', async () => {
    const a = uniqueUser('sha');
    const b = uniqueUser('shb');
    const c = uniqueUser('shc');
    const jail = path.join(env.jailRoot, 'shared');
    const before = await snap();

    await apply({ user: a, tools: ['bash'], shared: true, jail }, ['ssh: shell sees the jail as /']);
    const binaries = entriesUnder(jail, [path.join(jail, 'home'), path.join(jail, 'etc')]);
    expect(statSync(path.join(jail, 'bin/bash')).isFile()).toBe(true);
    expect(binaries.length).toBeGreaterThan(1);

    // Before B's apply: its plan copies nothing, the jail has every binary it needs.
    const cfgB = answersFile(env, { user: b, tools: ['sftp'], shared: true, jail });
    const planned = await jw(env, ['plan', '--config', cfgB, '--json']);
    expect(planned.exitCode, out(planned)).toBe(0);
    const steps = (JSON.parse(planned.stdout) as PlanJson).steps;
    expect(steps.filter((s) => s.id.startsWith('copy-') || s.id === 'stale').map((s) => `${s.id}: ${s.title}`), out(planned)).toEqual([]);
    expect(steps.map((s) => s.id)).toEqual(expect.arrayContaining(['user', 'keys', 'base', 'sshd', 'record']));

    const applyB = await apply({ user: b, tools: ['sftp'], shared: true, jail }, ['sftp: put/get round trip', 'escape: no shell for an sftp-only user']);
    expect(applyB.stdout).not.toMatch(/^\[\d+\/\d+\] Copy /m);
    expect(entriesUnder(jail, [path.join(jail, 'home'), path.join(jail, 'etc')])).toEqual(binaries);

    // etc/passwd and etc/group: root and exactly the two users, with their host ids.
    const passwd = readFileSync(path.join(jail, 'etc/passwd'), 'utf8').trim().split('\n');
    expect(passwd).toHaveLength(3);
    expect(passwd.map((l) => l.split(':')[0]).sort()).toEqual(['root', a, b].sort());
    expect(passwd[0]!.split(':')[0]).toBe('root');
    for (const u of [a, b]) expect(passwd.find((l) => l.startsWith(`${u}:`))!.split(':')[2]).toBe(String(uidOf(u)));
    const group = readFileSync(path.join(jail, 'etc/group'), 'utf8').trim().split('\n');
    expect(group.map((l) => l.split(':')[0]).sort()).toEqual(['root', a, b].sort());
    for (const u of [a, b]) expect(group.find((l) => l.startsWith(`${u}:`))!.split(':')[2]).toBe(String(await gidOfGroup(u)));

    // Both log in: A with a shell sees both homes, B uploads with sftp.
    const ls = await sshAs(env, a, 'ls /home');
    expect(ls.exitCode, out(ls)).toBe(0);
    expect(ls.stdout.trim().split('\n').sort()).toEqual([a, b].sort());
    const put = await sftpAs(env, b, [`put ${localFile('b1.txt', 'from b\n')} b1.txt`, 'ls -1']);
    expect(put.exitCode, out(put)).toBe(0);
    expect(put.stdout).toMatch(/^b1\.txt$/m);
    expect(readFileSync(path.join(jail, 'home', b, 'b1.txt'), 'utf8')).toBe('from b\n');

    // A third user without shared: true cannot take the jail.
    const mid = await snap();
    const third = await jw(env, ['apply', '--config', answersFile(env, { user: c, tools: ['sftp'], jail }), '--yes']);
    expectRefused(third, [jail, `belongs to ${a}`]);
    expect(diffSnapshots(mid, await snap())).toEqual([]);
    expect(await userExists(c)).toBe(false);

    // A goes: B keeps working, the jail's names lose A, A's account and drop-in are gone.
    await remove(a);
    const after = await sftpAs(env, b, [`put ${localFile('b2.txt', 'still here\n')} b2.txt`, 'ls -1']);
    expect(after.exitCode, out(after)).toBe(0);
    expect(after.stdout).toMatch(/^b2\.txt$/m);
    expect(namesIn(path.join(jail, 'etc/passwd'))).toEqual(['root', b]);
    expect(namesIn(path.join(jail, 'etc/group'))).toEqual(['root', b]);
    expect(await userExists(a)).toBe(false);
    expect(existsSync(dropInPath(a))).toBe(false);
    expect(existsSync(path.join(KEYS_DIR, a))).toBe(false);
    expect(existsSync(dropInPath(b))).toBe(true);
    expect(lstatSync(jail).isDirectory()).toBe(true);
    expect(existsSync(path.join(jail, 'home', a))).toBe(false);
    expect(entriesUnder(jail, [path.join(jail, 'home'), path.join(jail, 'etc')])).toEqual(binaries);
    const check = await jw(env, ['check', b]);
    expect(check.exitCode, out(check)).toBe(0);

    // B, the last one, takes the whole jail with it.
    await remove(b);
    expect(existsSync(jail)).toBe(false);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 300_000);

  it('writable and a setgid group dir: the user writes only its own dir, group files get the group', async () => {
    const g = uniqueUser('grp');
    groups.push(g);
    await runOk(['groupadd', g]);
    const gid = await gidOfGroup(g);
    const u1 = uniqueUser('gw1');
    const u2 = uniqueUser('gw2');
    const jail = path.join(env.jailRoot, 'team');
    const upload = `/home/${u1}/upload`;
    const before = await snap();

    await apply({ user: u1, tools: ['sftp'], shared: true, jail, group: g, groupDir: '/shared', writable: upload }, [
      `writable ${upload}: upload works`,
      `group dir /shared: new file gets group ${g}`,
    ]);
    await apply({ user: u2, tools: ['sftp'], shared: true, jail, group: g, groupDir: '/shared' }, [`group dir /shared: new file gets group ${g}`, 'sftp: put/get round trip']);

    const st = (rel: string) => lstatSync(path.join(jail, rel));
    expect([st('.').uid, st('.').gid, st('.').mode & 0o7777]).toEqual([0, 0, 0o755]);
    expect([st('shared').uid, st('shared').gid, st('shared').mode & 0o7777]).toEqual([0, gid, 0o2770]);
    expect([st(`home/${u1}`).uid, st(`home/${u1}`).mode & 0o7777]).toEqual([0, 0o755]);
    expect([st(upload).uid, st(upload).mode & 0o7777]).toEqual([uidOf(u1), 0o750]);
    // The jail's etc/group names the group with both members.
    const groupLine = readFileSync(path.join(jail, 'etc/group'), 'utf8').split('\n').find((l) => l.startsWith(`${g}:`));
    expect(groupLine?.split(':').slice(2)).toEqual([String(gid), expect.stringMatching(new RegExp(`^(${u1},${u2}|${u2},${u1})$`))]);

    // u1 writes into its upload dir, not into its (root's) home.
    const up = await sftpAs(env, u1, [`put ${localFile('up.txt', 'upload\n')} ${upload}/up.txt`]);
    expect(up.exitCode, out(up)).toBe(0);
    expect(st(`${upload}/up.txt`).uid).toBe(uidOf(u1));
    const home = await sftpAs(env, u1, [`put ${localFile('home.txt', 'no\n')} /home/${u1}/home.txt`]);
    expect(home.exitCode, out(home)).toBe(1);
    expect(home.stderr).toMatch(/Permission denied/);
    expect(existsSync(path.join(jail, 'home', u1, 'home.txt'))).toBe(false);

    // A file u1 puts into /shared belongs to the group, and u2 reads it.
    const team = await sftpAs(env, u1, [`put ${localFile('team.txt', 'for the team\n')} /shared/team.txt`]);
    expect(team.exitCode, out(team)).toBe(0);
    expect(st('shared/team.txt').gid).toBe(gid);
    expect(st('shared/team.txt').uid).toBe(uidOf(u1));
    const back = path.join(env.work, 'team-back.txt');
    const get = await sftpAs(env, u2, [`get /shared/team.txt ${back}`]);
    expect(get.exitCode, out(get)).toBe(0);
    expect(readFileSync(back, 'utf8')).toBe('for the team\n');

    // u1's own entries leave the dirs u2 goes on writing: a later user with u1's uid would own
    // them. They are renamed into a root-only dir beside the jail (#12), never read or copied.
    await remove(u1);
    expect(existsSync(path.join(jail, 'shared', 'team.txt'))).toBe(false);
    const quarantine = path.join(env.jailRoot, '.team.jailwizard-removed');
    const kept = readdirSync(quarantine).map((d) => path.join(quarantine, d, 'team.txt')).filter((p) => existsSync(p));
    expect(kept.map((p) => readFileSync(p, 'utf8'))).toEqual(['for the team\n']);
    expect([statSync(quarantine).uid, statSync(quarantine).mode & 0o7777]).toEqual([0, 0o700]);
    await remove(u2);
    expect(existsSync(jail)).toBe(false);
    expect(diffSnapshots(before, await snap()).filter((l) => !l.startsWith(quarantine))).toEqual([]);
    rmSync(quarantine, { recursive: true });
  }, 300_000);

  it("a user's tools shrink: [rsync, sftp] with writable /upload, then [sftp] alone; apply again succeeds, rsync and sh leave the jail, uploads still work", async () => {
    const u = uniqueUser('shrink');
    const jail = jailOf(u);
    const before = await snap();
    await apply({ user: u, tools: ['rsync', 'sftp'], writable: '/upload' }, ['rsync: upload/download round trip', 'noexec: /upload mounted noexec,nosuid,nodev', 'escape: an uploaded program is refused']);
    expect(existsSync(path.join(jail, 'usr/bin/rsync'))).toBe(true);
    // The third party no longer needs rsync: the admin edits the answers and applies again.
    const r = await apply({ user: u, tools: ['sftp'], writable: '/upload' }, ['sftp: put/get round trip', 'writable /upload: upload works', 'escape: no shell for an sftp-only user']);
    expect(r.stdout).toMatch(/Remove \d+ files the jail no longer needs/);
    // sftp alone runs nothing: /upload's noexec bind goes too, as a fresh sftp-only jail has none.
    expect(r.stdout).toContain('Unmount /upload, which the answers no longer ask for');
    expect(mountOptions(path.join(jail, 'upload'))).toBeUndefined();
    expect(existsSync(path.join(jail, 'usr/bin/rsync'))).toBe(false);
    expect(existsSync(path.join(jail, 'usr/bin/sh'))).toBe(false);
    const up = await sftpAs(env, u, [`put ${localFile('shrink.txt', 'still here\n')} /upload/shrink.txt`]);
    expect(up.exitCode, out(up)).toBe(0);
    await remove(u);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 300_000);

  it('read-only bind for a shell user: readable, writes refused (ssh and sftp), nodev,nosuid,noexec,ro, persisted with nofail; remove leaves the host data alone', async () => {
    const user = uniqueUser('bro');
    const source = hostDir('web');
    const file = path.join(source, 'index.html');
    writeFileSync(file, 'hello from the host\n');
    chmodSync(file, 0o644);
    const hash = sha256(file);
    const fstab = existsSync(FSTAB) ? readFileSync(FSTAB) : undefined;
    const before = await snap();

    await apply({ user, tools: ['bash', 'sftp'], binds: [{ source, target: '/web', readOnly: true }] }, [
      'ssh: shell sees the jail as /',
      'bind /web: readable',
      'bind /web: write refused',
    ]);
    const jail = jailOf(user);
    const where = path.join(jail, 'web');
    expect(mountOptions(where)).toEqual(expect.arrayContaining(['ro', 'nodev', 'nosuid', 'noexec']));
    if (existsSync('/run/systemd/system')) {
      const unit = readFileSync(path.join('/etc/systemd/system', systemdUnitForPath(where)), 'utf8');
      expect(unit).toContain(`Where=${where}`);
      expect(unit).toMatch(/^Options=bind,ro,nodev,nosuid,noexec,nofail$/m);
    } else {
      const lines = readFileSync(FSTAB, 'utf8').split('\n').filter((l) => l.includes(where));
      expect(lines).toHaveLength(1);
      const [src, mp, type, opts] = lines[0]!.split(/\s+/);
      expect([src, mp, type]).toEqual([source, where, 'none']);
      expect(opts!.split(',')).toEqual(expect.arrayContaining(['bind', 'ro', 'nodev', 'nosuid', 'noexec', 'nofail']));
    }

    const cat = await sshAs(env, user, 'cat /web/index.html');
    expect(cat.exitCode, out(cat)).toBe(0);
    expect(cat.stdout).toBe('hello from the host\n');
    const touch = await sshAs(env, user, 'touch /web/x');
    expect(touch.exitCode, out(touch)).not.toBe(0);
    expect(touch.stderr).toMatch(/Read-only file system/);
    const put = await sftpAs(env, user, [`put ${localFile('ro.txt', 'no\n')} /web/ro.txt`]);
    expect(put.exitCode, out(put)).toBe(1);
    expect(put.stderr).toMatch(/Permission denied|Failure|read-only/i);
    expect(readdirSync(source)).toEqual(['index.html']);

    await remove(user);
    expect(mountOptions(where)).toBeUndefined();
    expect(existsSync(FSTAB) ? readFileSync(FSTAB) : undefined).toEqual(fstab);
    expect(readdirSync(source)).toEqual(['index.html']);
    expect(sha256(file)).toBe(hash);
    expect(existsSync(jail)).toBe(false);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 300_000);

  it('a bind taken out of the answers: applying again unmounts it and forgets it at boot, and the user no longer reads the data', async () => {
    const user = uniqueUser('bout');
    const source = hostDir('revoked');
    writeFileSync(path.join(source, 'contract.txt'), 'for the contractor, until Friday\n');
    const fstab = existsSync(FSTAB) ? readFileSync(FSTAB) : undefined;
    const before = await snap();
    const a = { user, tools: ['bash', 'sftp'] as Answers['tools'] };
    await apply({ ...a, binds: [{ source, target: '/contract', readOnly: true }] }, ['bind /contract: readable']);
    const where = path.join(jailOf(user), 'contract');
    expect(mountOptions(where)).toBeDefined();
    const fstabWithBind = existsSync(FSTAB) ? readFileSync(FSTAB) : undefined;
    // A run that fails after the unmount (at its last step) puts the bind back as it was.
    const planned = await jw(env, ['plan', '--config', answersFile(env, a), '--json']);
    const steps = (JSON.parse(planned.stdout) as PlanJson).steps.map((x) => x.id);
    expect(steps, out(planned)).toContain('unmount');
    const failed = await jw(env, ['apply', '--config', answersFile(env, a), '--yes', '--no-test'], { env: { JAILWIZARD_FAIL_AT: String(steps.length) } });
    expect(failed.exitCode, out(failed)).toBe(1);
    expect(failed.stderr).toContain('Rollback complete');
    expect(mountOptions(where)).toEqual(expect.arrayContaining(['ro', 'nodev', 'nosuid', 'noexec']));
    expect(existsSync(FSTAB) ? readFileSync(FSTAB) : undefined).toEqual(fstabWithBind);
    // Friday: the admin takes the bind out of the answers and applies again.
    const r = await apply(a, ['ssh: shell sees the jail as /']);
    expect(r.stdout).toContain('Unmount /contract, which the answers no longer ask for');
    expect(r.stdout).not.toContain('Nothing to do');
    expect(r.stdout).not.toContain('bind /contract');
    expect(mountOptions(where)).toBeUndefined();
    if (existsSync('/run/systemd/system')) expect(existsSync(path.join('/etc/systemd/system', systemdUnitForPath(where)))).toBe(false);
    else expect(readFileSync(FSTAB, 'utf8')).not.toContain(where);
    const cat = await sshAs(env, user, 'cat /contract/contract.txt');
    expect(cat.stdout).not.toContain('for the contractor');
    // It is gone from the record too: check is clean, a third apply has nothing to do.
    const check = await jw(env, ['check', user]);
    expect(check.exitCode, out(check)).toBe(0);
    const again = await jw(env, ['apply', '--config', answersFile(env, a), '--yes', '--no-test']);
    expect(again.stdout, out(again)).toContain('Nothing to do');
    expect(readFileSync(path.join(source, 'contract.txt'), 'utf8')).toBe('for the contractor, until Friday\n');
    await remove(user);
    expect(existsSync(FSTAB) ? readFileSync(FSTAB) : undefined).toEqual(fstab);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 300_000);

  it('read-write bind: a write inside the jail lands in the host dir, and stays there after remove', async () => {
    // An existing account (adopted, kept by remove) that owns its host data dir.
    const user = uniqueUser('brw');
    await runOk(['useradd', '--no-create-home', '--user-group', user]);
    applied.push(user);
    const source = hostDir('rw');
    chownSync(source, uidOf(user), await gidOfGroup(user));
    const fstab = existsSync(FSTAB) ? readFileSync(FSTAB) : undefined;
    const before = await snap();

    await apply({ user, tools: ['bash'], binds: [{ source, target: '/data', readOnly: false }] }, ['bind /data: readable', 'bind /data: writable']);
    const where = path.join(jailOf(user), 'data');
    const opts = mountOptions(where);
    expect(opts).toEqual(expect.arrayContaining(['rw', 'nodev', 'nosuid', 'noexec']));
    expect(opts).not.toContain('ro');

    const w = await sshAs(env, user, 'echo written in the jail > /data/new.txt && cat /data/new.txt');
    expect(w.exitCode, out(w)).toBe(0);
    expect(w.stdout).toBe('written in the jail\n');
    expect(readFileSync(path.join(source, 'new.txt'), 'utf8')).toBe('written in the jail\n');
    expect(lstatSync(path.join(source, 'new.txt')).uid).toBe(uidOf(user));
    // noexec: a program written there does not run (bash is in the jail, copy it over).
    const exec = await sshAs(env, user, 'cp /bin/bash /data/sh && /data/sh -c true');
    expect(exec.exitCode, out(exec)).toBe(126);
    expect(exec.stderr).toMatch(/Permission denied/);

    await remove(user);
    expect(mountOptions(where)).toBeUndefined();
    expect(existsSync(FSTAB) ? readFileSync(FSTAB) : undefined).toEqual(fstab);
    expect(readFileSync(path.join(source, 'new.txt'), 'utf8')).toBe('written in the jail\n');
    expect(await userExists(user)).toBe(true); // adopted, so kept
    expect(existsSync(jailOf(user))).toBe(false);
    const after = await snap();
    // The host dir has the user's two files now; everything else is as it was.
    expect(diffSnapshots(before, after).filter((l) => !l.startsWith(`${source}/`))).toEqual([]);
  }, 300_000);

  describe('refusals: bad input, exit 2, one line and a hint, nothing changed', () => {
    const setuid = setuidProgram();
    const cases: { name: string; answers: () => Partial<Answers>; says: () => string[] }[] = [
      { name: 'bind source /', answers: () => ({ tools: ['bash'], binds: [{ source: '/', target: '/web', readOnly: true }] }), says: () => ['bind source /', 'whole system'] },
      { name: 'bind source /etc', answers: () => ({ tools: ['bash'], binds: [{ source: '/etc', target: '/web', readOnly: true }] }), says: () => ['bind source /etc is /etc', "host's configuration"] },
      {
        name: 'bind source that is a symlink to /etc',
        answers: () => {
          const link = path.join(env.jailRoot, 'hostdata', 'etc-link');
          mkdirSync(path.dirname(link), { recursive: true });
          if (!existsSync(link)) symlinkSync('/etc', link);
          return { tools: ['bash'], binds: [{ source: link, target: '/web', readOnly: true }] };
        },
        says: () => ['etc-link', '(/etc) is /etc'],
      },
      {
        name: 'bind source that contains the jail (its parent dir)',
        answers: () => ({ tools: ['bash'], binds: [{ source: env.jailRoot, target: '/web', readOnly: false }] }),
        says: () => [`bind source ${env.jailRoot}`, 'contains the jail'],
      },
      {
        name: 'bind source that does not exist',
        answers: () => ({ tools: ['bash'], binds: [{ source: path.join(env.jailRoot, 'hostdata', 'missing'), target: '/web', readOnly: true }] }),
        says: () => [path.join(env.jailRoot, 'hostdata', 'missing'), 'does not exist'],
      },
      { name: 'a setuid extra binary without allowSetuid', answers: () => ({ tools: ['bash'], extraBinaries: [setuid!] }), says: () => [setuid!, 'setuid'] },
      { name: 'extraBinaries for an sftp-only user', answers: () => ({ tools: ['sftp'], extraBinaries: ['git'] }), says: () => ['"extraBinaries" need a shell tool'] },
    ];

    it('finds a setuid program on this host', () => {
      expect(setuid, 'none of /usr/bin/passwd, /usr/bin/su, /usr/bin/chsh is setuid').toBeDefined();
    });

    cases.forEach((cs, i) => {
      it(cs.name, async () => {
        const user = uniqueUser(`ref${i}`);
        const cfg = answersFile(env, { user, ...cs.answers() });
        const before = await snap();
        const stateBefore = readdirSync(env.stateDir, { recursive: true }).map(String).sort();
        const r = await jw(env, ['apply', '--config', cfg, '--yes']);
        expectRefused(r, cs.says());
        expect(diffSnapshots(before, await snap())).toEqual([]);
        expect(readdirSync(env.stateDir, { recursive: true }).map(String).sort()).toEqual(stateBefore);
        expect(await userExists(user)).toBe(false);
        expect(existsSync(jailOf(user))).toBe(false);
        // plan refuses the same way.
        expectRefused(await jw(env, ['plan', '--config', cfg]), cs.says());
      });
    });

    it('allowSetuid: true copies the setuid program with its bit, warns, and check does not count it', async () => {
      const user = uniqueUser('suid');
      const before = await snap();
      const cfg = { user, tools: ['bash'] as Answers['tools'], extraBinaries: [setuid!], allowSetuid: true };
      const planned = await jw(env, ['plan', '--config', answersFile(env, cfg)]);
      expect(planned.exitCode, out(planned)).toBe(0);
      expect(planned.stdout).toMatch(new RegExp(`^note: WARNING: ${setuid}.*setuid`, 'm'));

      const r = await apply(cfg, [], ['--no-test']);
      expect(r.stdout).toMatch(new RegExp(`^note: WARNING: ${setuid}.*setuid`, 'm'));
      const jail = jailOf(user);
      const copy = lstatSync(path.join(jail, setuid!));
      expect(copy.isFile()).toBe(true);
      expect(copy.mode & 0o7777).toBe(statSync(setuid!).mode & 0o7755);
      expect(copy.mode & 0o4000).toBe(0o4000);
      expect(copy.uid).toBe(0);
      // It is the only setuid/setgid file in the jail.
      const setid = entriesUnder(jail).filter((p) => lstatSync(path.join(jail, p)).isFile() && lstatSync(path.join(jail, p)).mode & 0o6000);
      expect(setid).toEqual([setuid!.slice(1)]);

      const check = await jw(env, ['check', user]);
      expect(check.exitCode, out(check)).toBe(0);
      expect(check.stdout).toContain(`✓ ${user}: ${jail} is sound.`);
      expect(check.stdout).not.toMatch(/setuid|setgid/);

      await remove(user);
      expect(diffSnapshots(before, await snap())).toEqual([]);
    }, 300_000);
  });

  it('extra commands and extras: git runs, the locale warning goes away, /tmp, the prompt and group names; check is clean', async () => {
    const user = uniqueUser('extras');
    const before = await snap();
    const base = { user, tools: ['bash'] as Answers['tools'], extraBinaries: ['git', 'id'] };
    await apply(base, ['ssh: shell sees the jail as /', 'extra: git runs', 'extra: id runs']);
    const jail = jailOf(user);

    // Without the extras: bash warns about the locale at every login, and there is no prompt or /tmp.
    const warned = await sshAs(env, user, 'true', { args: SEND_LOCALE, env: localeClientEnv() });
    expect(warned.exitCode, out(warned)).toBe(0);
    expect(warned.stderr).toMatch(/setlocale/);
    const noPrompt = await sshAs(env, user, `bash -lc 'echo "[$PS1]"'`);
    expect(noPrompt.stdout).toBe('[]\n');
    expect(existsSync(path.join(jail, 'tmp'))).toBe(false);

    // The same user again, adding only the extras.
    const again = await apply({ ...base, extras: [...EXTRAS] }, ['locale: no setlocale warning with LANG=C.UTF-8', '/tmp is writable', 'extra: git runs']);
    expect(again.stdout).not.toMatch(/Create user|Copy git/);

    const quiet = await sshAs(env, user, 'true', { args: SEND_LOCALE, env: localeClientEnv() });
    expect(quiet.exitCode, out(quiet)).toBe(0);
    expect(quiet.stderr).not.toMatch(/setlocale/);
    expect(quiet.stdout).toBe('');

    const git = await sshAs(env, user, 'git --version');
    expect(git.exitCode, out(git)).toBe(0);
    expect(git.stdout).toMatch(/^git version \d/);

    const tmp = lstatSync(path.join(jail, 'tmp'));
    expect([tmp.uid, tmp.mode & 0o7777]).toEqual([0, 0o1777]);
    const scratch = await sshAs(env, user, 'echo scratch > /tmp/scratch && cat /tmp/scratch');
    expect(scratch.exitCode, out(scratch)).toBe(0);
    expect(scratch.stdout).toBe('scratch\n');
    expect(lstatSync(path.join(jail, 'tmp/scratch')).uid).toBe(uidOf(user));
    await run(['rm', '-f', path.join(jail, 'tmp/scratch')]);

    const prompt = await sshAs(env, user, `bash -lc 'echo "[$PS1]"; echo "$PATH"'`);
    expect(prompt.exitCode, out(prompt)).toBe(0);
    expect(prompt.stdout).toBe('[[jail] \\u:\\w\\$ ]\n/usr/local/bin:/usr/bin:/bin\n');

    const ids = await sshAs(env, user, 'id -gn; id -un');
    expect(ids.exitCode, out(ids)).toBe(0);
    expect(ids.stdout).toBe(`${user}\n${user}\n`);
    expect(readFileSync(path.join(jail, 'etc/nsswitch.conf'), 'utf8')).toMatch(/^group: files$/m);

    // terminfo: the xterm entry the host has is readable at the same path inside.
    const xterm = ['/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo'].map((d) => path.join(d, 'x', 'xterm')).find((p) => existsSync(p));
    expect(xterm, 'no xterm terminfo entry on this host').toBeDefined();
    const ti = await sshAs(env, user, `test -r ${xterm} && echo readable`);
    expect(ti.stdout, out(ti)).toBe('readable\n');

    const check = await jw(env, ['check', user]);
    expect(check.exitCode, out(check)).toBe(0);
    expect(check.stdout).toContain(`✓ ${user}: ${jail} is sound.`);

    await remove(user);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 300_000);

  it('allowFrom [127.0.0.1] for a shell user: refused from 127.0.0.2 by sshd, allowed from 127.0.0.1, check passes', async () => {
    const user = uniqueUser('from');
    const before = await snap();
    await apply({ user, tools: ['bash'], allowFrom: ['127.0.0.1'] }, ['ssh: shell sees the jail as /', 'source: login from 127.0.0.2 refused']);

    const keys = readFileSync(path.join(KEYS_DIR, user), 'utf8').split('\n').filter(Boolean);
    expect(keys).toEqual([`from="127.0.0.1" ${env.key.publicKey}`]);

    const ok = await sshAs(env, user, 'echo inside', { from: '127.0.0.1' });
    expect(ok.exitCode, out(ok)).toBe(0);
    expect(ok.stdout).toBe('inside\n');
    const refused = await sshAs(env, user, 'echo inside', { from: '127.0.0.2' });
    expect(refused.exitCode, out(refused)).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied/);
    expect(refused.stdout).toBe('');
    // sshd's Match … Address block refused the user, before any key was looked at.
    expect(await sshdLog(env.sshd)).toMatch(new RegExp(`User ${user} from 127\\.0\\.0\\.2 not allowed because listed in DenyUsers`));

    const check = await jw(env, ['check', user]);
    expect(check.exitCode, out(check)).toBe(0);
    expect(check.stdout).toContain(`✓ ${user}:`);

    await remove(user);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 300_000);
});
