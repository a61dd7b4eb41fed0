// Only the chosen tools, for real (#12 items 6, 8, 9, 11 and #11 item 6), on a private sshd
// with the real clients: in a shared jail an rsync-only user cannot run the bash user's
// /bin/bash, an uploaded ELF does not run (the gate refuses it, and the kernel would too:
// noexec), not even through the jail's ld.so; git clones and pushes over ssh; bad extra
// commands, bind sources and key options are refused before anything changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, runOk, type RunResult } from '../src/host/run.ts';
import { readElf } from '../src/host/elf.ts';
import type { Answers } from '../src/model/types.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots, snapshotHost, type HostSnapshot } from './helpers/host-snapshot.ts';
import { answersFile, expectRefused, jw, mountOptions, out, setupEnv, sftpAs, sshAs, teardownEnv, removeApplied, type TestEnv } from './helpers/jw.ts';
import { sshClientOptions } from './helpers/sshd.ts';

const skip = rootOrSkipReason();
const FSTAB = '/etc/fstab';
const KEYS_DIR = '/etc/ssh/authorized_keys';



describe.skipIf(skip)('only the chosen tools, for real (private sshd, real clients)', () => {
  let env: TestEnv;
  const applied: string[] = [];
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    if (env) await removeApplied(env, applied, FSTAB);
    await teardownEnv(env);
  });

  const snap = (): Promise<HostSnapshot> =>
    snapshotHost({ files: [env.sshd.configPath, FSTAB], dirs: [env.sshd.dropInDir, env.jailRoot, path.join(env.stateDir, 'jails')] });

  /** Applies with the real bundle and its connection test; the named probes must pass and none may fail. */
  async function apply(a: Partial<Answers> & { user: string }, probes: string[]): Promise<RunResult> {
    if (!applied.includes(a.user)) applied.push(a.user);
    const r = await jw(env, ['apply', '--config', answersFile(env, a), '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout, out(r)).toContain('Connection test with the real clients:');
    for (const p of probes) expect(r.stdout, out(r)).toContain(`✓ ${p}`);
    expect(r.stdout, out(r)).not.toContain('✗');
    return r;
  }

  async function remove(user: string): Promise<void> {
    const r = await jw(env, ['remove', user, '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
  }

  const rsyncE = () => ['ssh', ...sshClientOptions(env.key.privateKey), '-p', String(env.sshd.port)].join(' ');
  const rsyncTo = (user: string, local: string, remote: string, extra: string[] = []) => run(['rsync', ...extra, '-e', rsyncE(), local, `${user}@127.0.0.1:${remote}`], { timeoutMs: 60_000 });
  const uidOf = (user: string) => Number(readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))!.split(':')[2]);
  const gitEnv = () => ({
    GIT_SSH_COMMAND: ['ssh', ...sshClientOptions(env.key.privateKey)].join(' '),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  });
  const git = (args: string[], cwd = env.work) =>
    run(['git', '-c', 'user.name=t', '-c', 'user.email=t@localhost', '-c', 'init.defaultBranch=main', ...args], { cwd, env: gitEnv(), timeoutMs: 60_000 });

  it('shared jail: the rsync-only user cannot run the bash user\'s /bin/bash, nor an uploaded ELF, nor that ELF through ld.so; both still work', async () => {
    const a = uniqueUser('cba');
    const b = uniqueUser('cbb');
    const jail = path.join(env.jailRoot, 'shared');
    const fstab = existsSync(FSTAB) ? readFileSync(FSTAB) : undefined;
    const before = await snap();

    await apply({ user: a, tools: ['bash'], shared: true, jail }, ['ssh: shell sees the jail as /']);
    const applyB = await apply({ user: b, tools: ['rsync'], shared: true, jail }, [
      'rsync: upload/download round trip',
      'gate: a login without a command gets no shell',
      'gate: /bin/sh refused',
      'gate: /bin/bash refused',
      `noexec: /home/${b} mounted noexec,nosuid,nodev`,
      'escape: an uploaded program is refused',
      "escape: the same program through the jail's ld.so is refused",
      'keys: every line parses as sshd reads its options',
    ]);
    expect(applyB.stdout).toMatch(/ForceCommand \/usr\/lib\/jailwizard\/gate --rsync=\/usr\/bin\/rsync/);

    // The bash user's shell, as the rsync-only user: refused by the gate, nothing runs.
    const bash = await sshAs(env, b, "/bin/bash -c 'echo ESCAPED-$BASH_VERSION'");
    expect(bash.exitCode, out(bash)).toBe(1);
    expect(bash.stdout).toBe('');
    expect(bash.stderr).toMatch(/^jailwizard: refused: bash is not one of this account's programs/);
    const login = await sshAs(env, b, undefined);
    expect(login.stdout).toBe('');
    expect(login.stderr).toMatch(/jailwizard: refused: this account has no shell; it may run: rsync/);

    // An uploaded ELF (dash, with the libraries the jail already has) does not run, directly or through ld.so.
    const up = await rsyncTo(b, '/bin/dash', 'up-elf');
    expect(up.exitCode, out(up)).toBe(0);
    const home = path.join(jail, 'home', b);
    expect(readdirSync(home)).toContain('up-elf');
    const ran = await sshAs(env, b, "./up-elf -c 'echo UPLOADED-RAN'");
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toMatch(/jailwizard: refused: up-elf is not one of this account's programs/);
    const loader = readElf('/bin/dash')!.interp!;
    const ld = await sshAs(env, b, `${loader} ./up-elf -c 'echo LDSO-RAN'`);
    expect(ld.stdout).toBe('');
    expect(ld.stderr).toMatch(/jailwizard: refused: /);

    // And if a way past the gate were ever found: the kernel refuses it too. The same file, run as
    // that user inside the jail (chroot --userspec), is not executable, and ld.so cannot map it.
    expect(mountOptions(home)).toEqual(expect.arrayContaining(['noexec', 'nosuid', 'nodev']));
    const uid = uidOf(b);
    const direct = await run(['/usr/sbin/chroot', `--userspec=${uid}:${uid}`, jail, `/home/${b}/up-elf`, '-c', 'echo KERNEL-RAN']);
    expect(direct.stdout).toBe('');
    expect(direct.stderr).toMatch(/Permission denied/);
    const viaLd = await run(['/usr/sbin/chroot', `--userspec=${uid}:${uid}`, jail, loader, `/home/${b}/up-elf`, '-c', 'echo KERNEL-RAN']);
    expect(viaLd.stdout).toBe('');
    expect(viaLd.stderr).toMatch(/failed to map segment from shared object/);

    // rsync's options that run programs never pass the gate: a client with --rsync-path cannot choose bash.
    const rp = await run(['rsync', '--rsync-path=/bin/bash -c id', '-e', rsyncE(), '/etc/hostname', `${b}@127.0.0.1:x`], { timeoutMs: 60_000 });
    expect(rp.exitCode, out(rp)).not.toBe(0);
    expect(rp.stderr).toMatch(/jailwizard: refused/);
    // The rsync-only user still lists and downloads; the bash user still has bash.
    const list = await run(['rsync', '-e', rsyncE(), `${b}@127.0.0.1:`], { timeoutMs: 60_000 });
    expect(list.exitCode, out(list)).toBe(0);
    expect(list.stdout).toMatch(/ up-elf$/m);
    const still = await sshAs(env, a, 'echo "$BASH_VERSION"; md5sum /etc/group >/dev/null && sha1sum /etc/group >/dev/null && echo hashes');
    expect(still.exitCode, out(still)).toBe(0);
    expect(still.stdout).toMatch(/^5\.\d.*\nhashes\n$/);

    // check is clean for both. The bash user goes first (the other order is #11 item 7, the
    // handover's undo order); the rsync user keeps its gate, its rsync and its noexec home.
    for (const u of [a, b]) {
      const c = await jw(env, ['check', u]);
      expect(c.exitCode, out(c)).toBe(0);
    }
    await remove(a);
    const after = await run(['rsync', '-e', rsyncE(), '/etc/hostname', `${b}@127.0.0.1:after`], { timeoutMs: 60_000 });
    expect(after.exitCode, out(after)).toBe(0);
    for (const p of ['/bin/sh -c id', '/bin/bash -c id']) expect((await sshAs(env, b, p)).stderr, p).toMatch(/^jailwizard: refused: /);
    expect(mountOptions(home)).toEqual(expect.arrayContaining(['noexec']));
    await remove(b);
    expect(mountOptions(home)).toBeUndefined();
    expect(existsSync(jail)).toBe(false);
    expect(existsSync(FSTAB) ? readFileSync(FSTAB) : undefined).toEqual(fstab);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 600_000);

  it('a bash user with noexec: true: an uploaded ELF and the same through ld.so are refused by the kernel', async () => {
    const u = uniqueUser('cnx');
    const before = await snap();
    await apply({ user: u, tools: ['bash', 'sftp'], noexec: true, extras: ['tmp'] }, [
      `noexec: /home/${u}, /tmp mounted noexec,nosuid,nodev`,
      'escape: an uploaded program is refused',
      "escape: the same program through the jail's ld.so is refused",
    ]);
    const put = await sftpAs(env, u, ['put -p /bin/bash mine', 'put -p /bin/bash /tmp/mine-too']);
    expect(put.exitCode, out(put)).toBe(0);
    for (const f of ['./mine', '/tmp/mine-too']) {
      const r = await sshAs(env, u, `${f} -c 'echo RAN'`);
      expect(r.stdout, f).toBe('');
      expect(r.exitCode, f).toBe(126);
      expect(r.stderr, f).toMatch(/Permission denied/);
      const l = await sshAs(env, u, `/lib64/ld-linux-x86-64.so.2 ${f} -c 'echo RAN'`);
      expect(l.stdout, f).toBe('');
      expect(l.stderr, f).toMatch(/failed to map segment from shared object/);
    }
    await run(['rm', '-f', path.join(env.jailRoot, u, 'tmp', 'mine-too')]);
    await remove(u);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 600_000);

  it('git with extraBinaries [git]: git-upload-pack and git-receive-pack come along, and the real git client clones and pushes (bash user, and an rsync user behind the gate)', async () => {
    const sh = uniqueUser('cgs');
    const rs = uniqueUser('cgr');
    const before = await snap();
    await apply({ user: sh, tools: ['bash'], extraBinaries: ['git'] }, ['extra: git runs', 'extra: git clone and git push over ssh']);
    await apply({ user: rs, tools: ['rsync'], extraBinaries: ['git', 'md5sum'] }, ['extra: git clone and git push over ssh', 'extra: md5sum runs', 'gate: /bin/sh refused']);
    for (const u of [sh, rs]) {
      const jail = path.join(env.jailRoot, u);
      for (const n of ['git-upload-pack', 'git-receive-pack', 'git-upload-archive']) expect(readFileSync(path.join(jail, 'usr/bin', n)).equals(readFileSync('/usr/bin/git')), n).toBe(true);
    }

    // By hand, as a user would: a bare repository on the server, push, clone, push again.
    const init = await sshAs(env, sh, 'git init -q --bare proj.git && echo made');
    expect(init.stdout, out(init)).toBe('made\n');
    const work = path.join(env.work, 'gitwork');
    mkdirSync(work);
    expect((await git(['init', '-q', 'local'], work)).exitCode).toBe(0);
    writeFileSync(path.join(work, 'local', 'README'), 'hello\n');
    for (const args of [['add', 'README'], ['commit', '-q', '-m', 'first']]) expect((await git(args, path.join(work, 'local'))).exitCode).toBe(0);
    const push = await git(['push', '-q', `ssh://${sh}@127.0.0.1:${env.sshd.port}/home/${sh}/proj.git`, 'main'], path.join(work, 'local'));
    expect(push.exitCode, out(push)).toBe(0);
    const clone = await git(['clone', '-q', `ssh://${sh}@127.0.0.1:${env.sshd.port}/home/${sh}/proj.git`, 'copy'], work);
    expect(clone.exitCode, out(clone)).toBe(0);
    expect(readFileSync(path.join(work, 'copy', 'README'), 'utf8')).toBe('hello\n');

    // The rsync user: the repository arrives by rsync, git goes through the gate.
    expect((await git(['clone', '-q', '--bare', 'local', 'up.git'], work)).exitCode).toBe(0);
    const upRepo = await rsyncTo(rs, `${path.join(work, 'up.git')}/`, 'up.git/', ['-r']);
    expect(upRepo.exitCode, out(upRepo)).toBe(0);
    const url = `ssh://${rs}@127.0.0.1:${env.sshd.port}/home/${rs}/up.git`;
    const c2 = await git(['clone', '-q', url, 'copy2'], work);
    expect(c2.exitCode, out(c2)).toBe(0);
    writeFileSync(path.join(work, 'copy2', 'more'), 'more\n');
    for (const args of [['add', 'more'], ['commit', '-q', '-m', 'second']]) expect((await git(args, path.join(work, 'copy2'))).exitCode).toBe(0);
    const p2 = await git(['push', '-q', 'origin', 'main'], path.join(work, 'copy2'));
    expect(p2.exitCode, out(p2)).toBe(0);
    const head = (await git(['rev-parse', 'HEAD'], path.join(work, 'copy2'))).stdout.trim();
    const remoteHead = (await git(['ls-remote', url, 'refs/heads/main'], work)).stdout.split('\t')[0];
    expect(remoteHead).toBe(head);
    // Behind the gate git itself and git-upload-archive do not run: both run programs from the repository's config.
    for (const c of ['git --version', `git-upload-archive '/home/${rs}/up.git'`]) {
      const r = await sshAs(env, rs, c);
      expect(r.exitCode, c).toBe(1);
      expect(r.stderr, c).toMatch(/^jailwizard: refused: /);
    }
    // A repository's own config cannot make git-receive-pack run a program: not a hook, not the
    // alternate-refs command (which git runs through /bin/sh, so noexec alone would not stop it).
    const up = path.join(work, 'up.git');
    const hooks = path.join(up, 'hooks');
    writeFileSync(path.join(hooks, 'pre-receive'), '#!/bin/sh\necho HOOK-RAN >&2\nexit 1\n');
    chmodSync(path.join(hooks, 'pre-receive'), 0o755);
    expect((await git(['clone', '-q', '--bare', 'local', 'alt.git'], work)).exitCode).toBe(0);
    expect((await rsyncTo(rs, `${path.join(work, 'alt.git')}/`, 'alt.git/', ['-r'])).exitCode).toBe(0);
    mkdirSync(path.join(up, 'objects', 'info'), { recursive: true });
    writeFileSync(path.join(up, 'objects', 'info', 'alternates'), `/home/${rs}/alt.git/objects\n`);
    expect((await git(['--git-dir', up, 'config', 'core.alternateRefsCommand', 'echo ALT-RAN >&2; /bin/sh -c "echo SHELL-RAN >&2"'])).exitCode).toBe(0);
    const again = await rsyncTo(rs, `${up}/`, 'up.git/', ['-r', '-p']);
    expect(again.exitCode, out(again)).toBe(0);
    writeFileSync(path.join(work, 'copy2', 'third'), '3\n');
    for (const args of [['add', 'third'], ['commit', '-q', '-m', 'third']]) expect((await git(args, path.join(work, 'copy2'))).exitCode).toBe(0);
    const p3 = await git(['push', 'origin', 'main'], path.join(work, 'copy2'));
    expect(p3.exitCode, out(p3)).toBe(0);
    expect(p3.stderr).not.toMatch(/HOOK-RAN|ALT-RAN|SHELL-RAN/);

    await remove(rs);
    await remove(sh);
    expect(diffSnapshots(before, await snap())).toEqual([]);
  }, 600_000);

  describe('refused before anything changes: exit 2, one line with the reason', () => {
    const cases: { name: string; answers: () => Partial<Answers>; says: () => string[] }[] = [
      { name: 'extraBinaries /etc/shadow', answers: () => ({ tools: ['bash'], extraBinaries: ['/etc/shadow'] }), says: () => ['/etc/shadow is /etc/shadow (the password hashes)'] },
      { name: 'extraBinaries /proc/self/exe', answers: () => ({ tools: ['bash'], extraBinaries: ['/proc/self/exe'] }), says: () => ['/proc/self/exe is under /proc'] },
      { name: 'extraBinaries a host key', answers: () => ({ tools: ['bash'], extraBinaries: ['/etc/ssh/ssh_host_ed25519_key'] }), says: () => ['is under /etc/ssh'] },
      { name: 'extraBinaries a script', answers: () => ({ tools: ['rsync'], extraBinaries: [scriptFile()] }), says: () => ['is not an ELF program'] },
      { name: 'bind source /proc', answers: () => ({ tools: ['sftp'], binds: [{ source: '/proc', target: '/p', readOnly: true }] }), says: () => ['bind source /proc is on a proc filesystem'] },
      { name: 'bind source /sys', answers: () => ({ tools: ['sftp'], binds: [{ source: '/sys', target: '/s', readOnly: true }] }), says: () => ['bind source /sys is on a sysfs filesystem'] },
      { name: 'bind source /dev', answers: () => ({ tools: ['sftp'], binds: [{ source: '/dev', target: '/d', readOnly: true }] }), says: () => ['bind source /dev'] },
      { name: 'bind source /run', answers: () => ({ tools: ['sftp'], binds: [{ source: '/run', target: '/r', readOnly: true }] }), says: () => ['bind source /run is /run'] },
      { name: 'bind source /root', answers: () => ({ tools: ['sftp'], binds: [{ source: '/root', target: '/r', readOnly: true }] }), says: () => ["bind source /root is /root (root's home)"] },
      { name: 'bind source /var/lib', answers: () => ({ tools: ['sftp'], binds: [{ source: '/var/lib', target: '/r', readOnly: true }] }), says: () => ['bind source /var/lib is /var/lib'] },
      { name: 'bind source the state dir', answers: () => ({ tools: ['sftp'], binds: [{ source: env.stateDir, target: '/r', readOnly: true }] }), says: () => [`bind source ${env.stateDir} is ${env.stateDir} (jailwizard's state)`] },
      {
        name: 'a key whose options fight the jail (command= and from=)',
        answers: () => ({ tools: ['bash'], allowFrom: ['127.0.0.1'], authorizedKeys: [`command="a b",from="*" ${env.key.publicKey}`] }),
        says: () => ['has a command= option'],
      },
      {
        name: 'a key with from= when allowFrom adds one',
        answers: () => ({ tools: ['bash'], allowFrom: ['127.0.0.1'], authorizedKeys: [`from="*" ${env.key.publicKey}`] }),
        says: () => ['has a from= option, and allowFrom adds one to every key'],
      },
    ];

    const scriptFile = (): string => {
      const p = path.join(env.jailRoot, 'hostdata', 'script.sh');
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, '#!/bin/sh\necho hi\n');
      chmodSync(p, 0o755);
      return p;
    };

    cases.forEach((cs, i) => {
      it(cs.name, async () => {
        const user = uniqueUser(`cr${i}`);
        const cfg = answersFile(env, { user, ...cs.answers() });
        const before = await snap();
        const r = await jw(env, ['apply', '--config', cfg, '--yes']);
        expectRefused(r, cs.says());
        expect(diffSnapshots(before, await snap())).toEqual([]);
        expect((await run(['getent', 'passwd', user])).exitCode).not.toBe(0);
        expectRefused(await jw(env, ['plan', '--config', cfg]), cs.says());
      });
    });

    it('a tmpfs of its own is fine as a bind source', async () => {
      const user = uniqueUser('ctf');
      const src = path.join(env.jailRoot, 'hostdata', 'scratch');
      mkdirSync(src, { recursive: true });
      await runOk(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'jwtest', src]);
      writeFileSync(path.join(src, 'seen.txt'), 'on tmpfs\n');
      await apply({ user, tools: ['sftp'], binds: [{ source: src, target: '/scratch', readOnly: true }] }, ['bind /scratch: readable']);
      await remove(user);
      await runOk(['umount', src]);
    }, 300_000);
  });

  it("the connection test fails on a key line sshd skips (two from=), which ssh-keygen -l accepts; sshd refuses that key indeed", async () => {
    const user = uniqueUser('ckey');
    await apply({ user, tools: ['sftp'] }, ['keys: every line parses as sshd reads its options']);
    const keys = path.join(KEYS_DIR, user);
    const good = readFileSync(keys, 'utf8');
    writeFileSync(keys, `from="127.0.0.1",from="::1" ${env.key.publicKey}\n`);
    const bad = await run(['ssh-keygen', '-l', '-f', keys]);
    expect(bad.exitCode, out(bad)).toBe(0); // ssh-keygen proves nothing here
    const login = await sftpAs(env, user, ['pwd']);
    expect(login.exitCode, out(login)).toBe(255);
    const t = await jw(env, ['test', user]);
    expect(t.exitCode, out(t)).toBe(1);
    expect(t.stdout).toContain(`✗ keys: every line parses as sshd reads its options: ${keys} line 1: multiple "from" clauses`);
    writeFileSync(keys, good);
    chmodSync(keys, 0o644);
    await remove(user);
  }, 300_000);

  it('rsync with a shell tool for an rsync user: md5sum given as an extra command runs through the gate (rclone needs it)', async () => {
    const user = uniqueUser('cmd5');
    await apply({ user, tools: ['rsync', 'sftp'], extraBinaries: ['md5sum', 'sha1sum'] }, ['extra: md5sum runs', 'extra: sha1sum runs', 'sftp: put/get round trip']);
    const put = await sftpAs(env, user, [`put ${path.join(env.work, 'id_ed25519.pub')} k.pub`]);
    expect(put.exitCode, out(put)).toBe(0);
    const sum = await sshAs(env, user, 'md5sum k.pub');
    expect(sum.exitCode, out(sum)).toBe(0);
    const want = (await runOk(['md5sum', path.join(env.work, 'id_ed25519.pub')])).stdout.split(' ')[0];
    expect(sum.stdout.split(' ')[0]).toBe(want);
    await remove(user);
  }, 300_000);
});
