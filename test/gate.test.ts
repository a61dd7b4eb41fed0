// The gate (#12 item 9) run by the real dash, outside any jail: each client command is either
// run with exactly the words it should have, or refused with one line. The programs it runs
// are stand-ins here that print their argv (and git's config overrides); the end-to-end
// tests run it for real as sshd's ForceCommand in a jail. No host changes, no root needed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../src/host/run.ts';
import { GATE_PATH, gateCommand, gateScript, RSYNC_LONG_FLAGS, RSYNC_LONG_VALUES, type GateGrant } from '../src/plan/gate.ts';

let dir: string;
let gate: string;
let bin: string;
/** The stand-in programs, by name. */
const prog = (name: string) => path.join(bin, name);

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'jw-gate-'));
  bin = path.join(dir, 'bin');
  mkdirSync(bin);
  gate = path.join(dir, 'gate');
  writeFileSync(gate, gateScript(), { mode: 0o755 });
  const dump = '#!/bin/sh\nprintf "%s" "${0##*/}"\nfor a do printf " [%s]" "$a"; done\nprintf "\\n"\n[ -z "$GIT_CONFIG_COUNT" ] || env | grep "^GIT_CONFIG" | sort\n';
  for (const n of ['rsync', 'scp', 'sftp-server', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive', 'git', 'md5sum']) {
    writeFileSync(prog(n), dump);
    chmodSync(prog(n), 0o755);
  }
  // Files for the wildcard downloads, in the dir the gate runs in.
  mkdirSync(path.join(dir, 'home'));
  for (const f of ['a1.txt', 'a2.txt', 'b.log', 'x y.txt']) writeFileSync(path.join(dir, 'home', f), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));


/** The gate as sshd runs it: `sh -c "<ForceCommand>"`, with the client's command in SSH_ORIGINAL_COMMAND. */
async function gateRun(command: string | undefined, grant: GateGrant = { rsync: prog('rsync'), scp: prog('scp'), sftp: prog('sftp-server'), sftpSubsystem: '/usr/lib/openssh/sftp-server', git: bin, commands: [prog('md5sum')] }) {
  const line = gateCommand(grant).replace(GATE_PATH, gate);
  const env: Record<string, string | undefined> = { SSH_ORIGINAL_COMMAND: command };
  const r = await run(['/bin/sh', '-c', line], { env, cwd: path.join(dir, 'home') });
  return { code: r.exitCode, out: r.stdout.trim(), err: r.stderr.trim() };
}

const ran = (r: { code: number; out: string; err: string }) => (r.code === 0 ? r.out : `refused(${r.code}): ${r.err}`);

describe('the gate', () => {
  it('is a POSIX sh script dash parses', async () => {
    const r = await run(['/bin/sh', '-n', gate]);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('runs rsync --server as a client sends it, with the capability flags', async () => {
    expect(ran(await gateRun('rsync --server -vlogDtpre.iLsfxCIvu . up/'))).toBe('rsync [--server] [-vlogDtpre.iLsfxCIvu] [.] [up/]');
    expect(ran(await gateRun('rsync --server --sender -vlogDtpre.iLsfxCIvu --delete --partial-dir=.p -B1024 . b.log'))).toBe(
      'rsync [--server] [--sender] [-vlogDtpre.iLsfxCIvu] [--delete] [--partial-dir=.p] [-B1024] [.] [b.log]',
    );
    // rsync 3.2.4+ escapes blanks with a backslash; a download's wildcards are expanded here.
    expect(ran(await gateRun('rsync --server -re.iLsfxCIvu . x\\ y.txt'))).toBe('rsync [--server] [-re.iLsfxCIvu] [.] [x y.txt]');
    expect(ran(await gateRun('rsync --server --sender -re.iLsfxCIvu . a*.txt'))).toBe('rsync [--server] [--sender] [-re.iLsfxCIvu] [.] [a1.txt] [a2.txt]');
    // An upload's target is never globbed.
    expect(ran(await gateRun('rsync --server -re.iLsfxCIvu . a*.txt'))).toBe('rsync [--server] [-re.iLsfxCIvu] [.] [a*.txt]');
  });

  it("refuses rsync's program-running and daemon options, --protect-args, and anything not on the list", async () => {
    for (const c of [
      'rsync --server -e sh . x',
      'rsync --server -esh . x',
      'rsync --server -vlogDtpre.iLsfxCIvu --rsh=/bin/sh . x',
      'rsync --server --rsync-path=/bin/bash . x',
      'rsync --server --daemon --config=/home/u/rsyncd.conf .',
      'rsync --server --config=/home/u/x . x',
      'rsync --server -s . x',
      'rsync --server -vlogDtprse.iLsfxCIvu . x',
      'rsync --server --write-devices . x',
      'rsync --server --copy-devices . x',
      'rsync --server --no-munge-links . x',
      'rsync --server --debug=ALL . x',
      'rsync --server -B12x . x',
      'rsync --server -e.iL/s . x',
      'rsync -e sh host:x .',
      'rsync --server -r x',
      'rsync --server -r . -x',
      'rsync --server --delete',
    ]) {
      const r = await gateRun(c);
      expect(r.code, c).toBe(1);
      expect(r.err, c).toMatch(/^jailwizard: refused: /);
      expect(r.out, c).toBe('');
    }
  });

  it('knows every option rrsync lets through, in the form a client sends it', async () => {
    for (const o of RSYNC_LONG_FLAGS) expect(ran(await gateRun(`rsync --server --${o} . x`)), o).toBe(`rsync [--server] [--${o}] [.] [x]`);
    for (const o of RSYNC_LONG_VALUES) expect(ran(await gateRun(`rsync --server --${o}=1 . x`)), o).toBe(`rsync [--server] [--${o}=1] [.] [x]`);
  });

  it('runs scp -t and -f, with the paths the client quoted, and refuses the rest of scp', async () => {
    expect(ran(await gateRun("scp -t -- 'my file.txt'"))).toBe('scp [-t] [--] [my file.txt]');
    expect(ran(await gateRun('scp -v -r -p -d -t up'))).toBe('scp [-v] [-r] [-p] [-d] [-t] [up]');
    expect(ran(await gateRun('scp -f "x y.txt"'))).toBe('scp [-f] [x y.txt]');
    expect(ran(await gateRun('scp -f a?.txt'))).toBe('scp [-f] [a1.txt] [a2.txt]');
    for (const c of ['scp -S /bin/sh -t x', 'scp x y', 'scp -t a b', 'scp -t', 'scp -o ProxyCommand=sh -f x', 'scp -t -f x']) {
      expect(ran(await gateRun(c)), c).toMatch(/^refused\(1\): jailwizard: refused: /);
    }
  });

  it('runs the sftp-server for the Subsystem request (external or internal-sftp), without the client words', async () => {
    expect(ran(await gateRun('/usr/lib/openssh/sftp-server'))).toBe('sftp-server');
    expect(ran(await gateRun('internal-sftp'))).toBe('sftp-server');
    expect(ran(await gateRun(`${prog('sftp-server')} -d /etc`))).toBe('sftp-server');
  });

  it("runs git's server commands on one path, with config that would run programs turned off", async () => {
    const r = ran(await gateRun("git-upload-pack '/home/u/repo.git'"));
    expect(r.split('\n')).toEqual([
      'git-upload-pack [/home/u/repo.git]',
      'GIT_CONFIG_COUNT=4',
      'GIT_CONFIG_KEY_0=core.hooksPath',
      'GIT_CONFIG_KEY_1=core.fsmonitor',
      'GIT_CONFIG_KEY_2=core.alternateRefsCommand',
      'GIT_CONFIG_KEY_3=receive.denyCurrentBranch',
      'GIT_CONFIG_VALUE_0=/dev/null',
      'GIT_CONFIG_VALUE_1=false',
      'GIT_CONFIG_VALUE_2=: #',
      'GIT_CONFIG_VALUE_3=refuse',
    ]);
    expect(ran(await gateRun("git-receive-pack 'repo.git'")).split('\n')[0]).toBe('git-receive-pack [repo.git]');
    // git itself runs anything (git -c alias.x='!sh' x), and upload-archive runs tar filters from the repository's config.
    for (const c of ['git --version', "git -c alias.x='!sh' x", "git-upload-archive 'repo.git'", "git-upload-pack '--help'", 'git-upload-pack a b']) {
      expect(ran(await gateRun(c)), c).toMatch(/^refused\(1\): jailwizard: refused: /);
    }
  });

  it("with the real git: a push through the gate runs neither the repository's hooks nor its alternate-refs command", async () => {
    const g = path.join(dir, 'realgit');
    mkdirSync(g);
    const env = { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
    const git = (args: string[]) => run(['git', '-c', 'user.name=t', '-c', 'user.email=t@localhost', '-c', 'init.defaultBranch=main', ...args], { cwd: g, env });
    for (const a of [['init', '-q', '--bare', 'srv.git'], ['init', '-q', '--bare', 'alt.git'], ['init', '-q', 'src'], ['-C', 'src', 'commit', '-q', '--allow-empty', '-m', 'x']]) {
      expect((await git(a)).exitCode, a.join(' ')).toBe(0);
    }
    // The repository as a user who owns it would leave it: a hook, an alternate, a command for its refs.
    const srv = path.join(g, 'srv.git');
    writeFileSync(path.join(srv, 'hooks', 'pre-receive'), '#!/bin/sh\necho HOOK-RAN >&2\nexit 1\n', { mode: 0o755 });
    writeFileSync(path.join(srv, 'objects', 'info', 'alternates'), `${path.join(g, 'alt.git', 'objects')}\n`);
    expect((await git(['--git-dir', srv, 'config', 'core.alternateRefsCommand', 'echo ALT-RAN >&2; :'])).exitCode).toBe(0);
    // What sshd does: the client's command in SSH_ORIGINAL_COMMAND, the gate as ForceCommand.
    const wrapper = path.join(g, 'as-sshd');
    const force = gateCommand({ git: '/usr/bin', commands: [] }).replace(GATE_PATH, gate);
    writeFileSync(wrapper, `#!/bin/sh\nSSH_ORIGINAL_COMMAND="git-receive-pack '$1'" exec /bin/sh -c '${force}'\n`, { mode: 0o755 });
    const push = await git(['-C', 'src', 'push', '--receive-pack', wrapper, srv, 'main']);
    expect(push.exitCode, push.stderr).toBe(0);
    expect(push.stderr).not.toMatch(/HOOK-RAN|ALT-RAN/);
    // The same push straight to git-receive-pack runs both: the repository's config is what the gate turns off.
    writeFileSync(path.join(srv, 'hooks', 'pre-receive'), '#!/bin/sh\necho HOOK-RAN >&2\n', { mode: 0o755 });
    expect((await git(['-C', 'src', 'commit', '-q', '--allow-empty', '-m', 'y'])).exitCode).toBe(0);
    const direct = await git(['-C', 'src', 'push', srv, 'main']);
    expect(direct.stderr).toMatch(/HOOK-RAN/);
    expect(direct.stderr).toMatch(/ALT-RAN/);
  });

  it('runs the extra commands by name or path, with the arguments as given', async () => {
    expect(ran(await gateRun('md5sum b.log "x y.txt"'))).toBe('md5sum [b.log] [x y.txt]');
    expect(ran(await gateRun(`${prog('md5sum')} --version`))).toBe('md5sum [--version]');
  });

  it("refuses another tool's program, an uploaded one, the jail's ld.so, and any shell syntax", async () => {
    for (const c of [
      '/bin/bash -c id',
      'bash',
      'sh -c id',
      './up/x',
      '/home/u/x',
      '/lib64/ld-linux-x86-64.so.2 ./up/x',
      'git',
      'rsync --server . x; id',
      'rsync --server . x && id',
      'rsync --server . x | id',
      'rsync --server . $(id)',
      'rsync --server . `id`',
      'rsync --server . x > /tmp/y',
      'rsync --server . "$HOME"',
      'rsync --server . x\nid',
      "rsync --server . 'x",
      'rsync --server . "x',
      'rsync --server . x\\',
      '',
      '   ',
      "''",
    ]) {
      const r = await gateRun(c);
      expect(r.code, JSON.stringify(c)).toBe(1);
      expect(r.out, JSON.stringify(c)).toBe('');
      expect(r.err, JSON.stringify(c)).toMatch(/^jailwizard: refused: /);
    }
  });

  it('splits long commands in linear steps, and refuses one longer than 4096 characters', async () => {
    const long = `rsync --server . ${'a'.repeat(4000)}`;
    expect(ran(await gateRun(long))).toBe(`rsync [--server] [.] [${'a'.repeat(4000)}]`);
    expect(ran(await gateRun(`rsync --server . ${'a'.repeat(4100)}`))).toBe('refused(1): jailwizard: refused: a command longer than 4096 characters');
    // The worst shapes for dash (every character special) still finish: many words, many escapes.
    expect(ran(await gateRun(`md5sum ${'a '.repeat(2000)}`)).split(' [').length).toBe(2001);
    expect(ran(await gateRun(`md5sum ${'\\a'.repeat(1300)}`))).toBe(`md5sum [${'a'.repeat(1300)}]`);
  });

  it('a login without a command gets no shell, and says what the account may run', async () => {
    const r = await gateRun(undefined);
    expect(r.code).toBe(1);
    expect(r.err).toBe('jailwizard: refused: this account has no shell; it may run: rsync scp sftp git-upload-pack git-receive-pack md5sum');
  });

  it('a user with rsync alone may not run scp or the sftp-server', async () => {
    const only = { rsync: prog('rsync'), commands: [] };
    expect(ran(await gateRun('rsync --server . x', only))).toBe('rsync [--server] [.] [x]');
    expect(ran(await gateRun('scp -t x', only))).toMatch(/refused.*scp is not one of this account's tools/);
    expect(ran(await gateRun('/usr/lib/openssh/sftp-server', only))).toMatch(/refused/);
    expect(ran(await gateRun('internal-sftp', only))).toMatch(/refused.*sftp is not one of this account's tools/);
    expect(ran(await gateRun("git-upload-pack 'r.git'", only))).toMatch(/refused.*git is not one of this account's commands/);
  });

  it('refuses to be called with arguments it does not know', async () => {
    const r = await run(['/bin/sh', gate, '--shell=/bin/bash'], { env: { SSH_ORIGINAL_COMMAND: 'bash' } });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe('jailwizard: refused: the gate was called with --shell=/bin/bash');
    expect(() => gateCommand({ rsync: '/usr/bin/rsync; id', commands: [] })).toThrow(/not a plain path/);
  });
});
