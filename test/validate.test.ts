import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UserError } from '../src/model/errors.ts';
import {
  ancestorsOf,
  checkArch,
  checkAuthorizedKey,
  checkJailPath,
  checkTools,
  checkUserAllowed,
  checkUserName,
  readLoginDefs,
  splitKeys,
  type JailFsInfo,
  type UserHost,
} from '../src/host/validate.ts';
import { parsePasswd, readPasswd } from '../src/host/accounts.ts';
import { isRoot, rootOrSkipReason } from './helpers/root.ts';

/** Runs fn, expects a one-line UserError mentioning every part, with a hint. */
function expectUserError(fn: () => unknown, ...parts: string[]): UserError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  return checkErr(err, parts);
}

async function expectUserErrorAsync(p: Promise<unknown>, ...parts: string[]): Promise<UserError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  return checkErr(err, parts);
}

function checkErr(err: unknown, parts: string[]): UserError {
  expect(err).toBeInstanceOf(UserError);
  const u = err as UserError;
  expect(u.message).not.toContain('\n');
  for (const p of parts) expect(u.message).toContain(p);
  expect(u.hint).toBeTruthy();
  return u;
}

describe('checkUserName', () => {
  test.each(['alice', '_svc', 'web-01', 'backup_web', 'machine$', 'a', 'x'.repeat(32)])('accepts %s', (n) => {
    expect(() => checkUserName(n)).not.toThrow();
  });
  test('uppercase: hint gives the lowercase name', () => {
    const e = expectUserError(() => checkUserName('Alice'), '"Alice"', 'uppercase');
    expect(e.hint).toContain('"alice"');
  });
  test('all digits', () => expectUserError(() => checkUserName('1234'), '"1234"', 'all digits'));
  test('too long', () => expectUserError(() => checkUserName('x'.repeat(33)), 'x'.repeat(33), '32'));
  test('empty', () => expectUserError(() => checkUserName(''), 'empty'));
  test.each([
    ['-x', '"-"'],
    ['9lives', '"9"'],
    ['a.b', '"."'],
    ['a b', '" "'],
    ['a:b', '":"'],
    ['a$b', '"$"'],
    ['é', '"é"'],
    ['al/ice', '"/"'],
  ])('refuses %s', (n, bad) => {
    expectUserError(() => checkUserName(n), JSON.stringify(n), bad);
  });
});

describe('host readers', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jw-validate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('parsePasswd skips comments, NIS lines and junk', () => {
    const p = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# comment\n+::::::\nbad line\nalice:x:1001:1001:Alice A,,,:/home/alice:/bin/bash\n');
    expect(p).toEqual([
      { name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: '/bin/bash' },
      { name: 'alice', uid: 1001, gid: 1001, gecos: 'Alice A,,,', home: '/home/alice', shell: '/bin/bash' },
    ]);
  });
  test('readPasswd reads the real file', () => {
    expect(readPasswd().find((p) => p.name === 'root')?.uid).toBe(0);
  });
  test('readLoginDefs: values, defaults, missing file', () => {
    const f = join(dir, 'login.defs');
    writeFileSync(f, '# UID_MIN 5\nUID_MIN\t\t 2000\nGID_MIN 3000\n');
    expect(readLoginDefs(f)).toEqual({ UID_MIN: 2000, UID_MAX: 60000 });
    expect(readLoginDefs(join(dir, 'nope'))).toEqual({ UID_MIN: 1000, UID_MAX: 60000 });
    expect(readLoginDefs()).toEqual({ UID_MIN: 1000, UID_MAX: 60000 }); // Debian 12's values
  });
});

describe('checkUserAllowed', () => {
  const passwd = parsePasswd(
    [
      'root:x:0:0:root:/root:/bin/bash',
      'toor:x:0:0:second root:/root:/bin/bash',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      'admin:x:1000:1000:Admin:/home/admin:/bin/bash',
      'alice:x:1001:1001::/home/alice:/bin/bash',
      'huge:x:70000:70000::/home/huge:/bin/bash',
    ].join('\n'),
  );
  const host = (env: NodeJS.ProcessEnv = {}, ttyUid?: number): UserHost => ({
    passwd,
    loginDefs: { UID_MIN: 1000, UID_MAX: 60000 },
    env,
    ttyUid,
  });

  test('a regular user, and a user that does not exist yet', () => {
    expect(() => checkUserAllowed('alice', host())).not.toThrow();
    expect(() => checkUserAllowed('newbie', host())).not.toThrow();
  });
  test('root and another uid-0 account', () => {
    expectUserError(() => checkUserAllowed('root', host()), '"root"', 'uid 0');
    expectUserError(() => checkUserAllowed('toor', host()), '"toor"', 'uid 0');
  });
  test('system accounts below UID_MIN and above UID_MAX', () => {
    expectUserError(() => checkUserAllowed('daemon', host()), '"daemon"', 'uid 1', 'system account');
    expectUserError(() => checkUserAllowed('huge', host()), '"huge"', 'uid 70000', '1000..60000');
  });
  test('UID_MIN comes from login.defs', () => {
    expectUserError(() => checkUserAllowed('alice', { ...host(), loginDefs: { UID_MIN: 2000, UID_MAX: 60000 } }), '"alice"', 'uid 1001');
  });
  test('nobody', () => expectUserError(() => checkUserAllowed('nobody', host()), '"nobody"', '65534'));
  test('the admin, found through SUDO_USER, DOAS_USER, LOGNAME, USER or the tty owner', () => {
    expectUserError(() => checkUserAllowed('admin', host({ SUDO_USER: 'admin', USER: 'root' })), '"admin"', 'SUDO_USER');
    expectUserError(() => checkUserAllowed('admin', host({ DOAS_USER: 'admin' })), 'DOAS_USER');
    expectUserError(() => checkUserAllowed('admin', host({ LOGNAME: 'admin' })), 'LOGNAME');
    expectUserError(() => checkUserAllowed('admin', host({ USER: 'admin' })), 'USER');
    expectUserError(() => checkUserAllowed('admin', host({ USER: 'root', LOGNAME: 'root' }, 1000)), 'owner of this terminal');
  });
  test('root in LOGNAME/USER or a root-owned tty does not count as an admin name', () => {
    expect(() => checkUserAllowed('alice', host({ USER: 'root', LOGNAME: 'root', SUDO_USER: 'admin' }, 0))).not.toThrow();
  });
});

describe('ancestorsOf', () => {
  test('lists every parent sshd checks', () => {
    expect(ancestorsOf('/srv/jails/alice')).toEqual(['/', '/srv', '/srv/jails']);
    expect(ancestorsOf('/srv/jails/alice/')).toEqual(['/', '/srv', '/srv/jails']);
    expect(ancestorsOf('/jail')).toEqual(['/']);
    expect(ancestorsOf('/')).toEqual([]);
  });
});

describe('checkJailPath: pure refusals', () => {
  // Nothing exists in this fake filesystem except a sane root.
  const fakeFs: JailFsInfo = {
    isManagedJail: () => false,
    lstat: (p) => (p === '/' ? { mode: 0o40755, isDirectory: () => true, isSymbolicLink: () => false } : undefined),
    readdir: () => [],
  };
  test('accepts a new path, with or without a trailing slash', () => {
    expect(() => checkJailPath('/srv/jails/alice', fakeFs)).not.toThrow();
    expect(() => checkJailPath('/srv/jails/alice/', fakeFs)).not.toThrow();
    expect(() => checkJailPath('/home/jails/alice', fakeFs)).not.toThrow();
  });
  test('relative', () => expectUserError(() => checkJailPath('srv/jails/alice', fakeFs), '"srv/jails/alice"', 'relative'));
  test('dot components', () => {
    expectUserError(() => checkJailPath('/srv/../etc', fakeFs), '"/srv/../etc"', '..');
    expectUserError(() => checkJailPath('/srv/./jails/a', fakeFs), '"/srv/./jails/a"');
  });
  test('double slash', () => expectUserError(() => checkJailPath('/srv//jails/a', fakeFs), '"/srv//jails/a"', '//'));
  test('root', () => expectUserError(() => checkJailPath('/', fakeFs), '"/"'));
  test.each(['/etc', '/usr/', '/bin', '/home', '/root', '/var', '/boot', '/dev', '/proc', '/sys', '/run', '/tmp', '/srv', '/srv/', '/var/www'])(
    'system directory %s',
    (p) => {
      expectUserError(() => checkJailPath(p, fakeFs), `"${p}"`, 'system directory');
    },
  );
  test.each([
    ['/tmp/jail', '/tmp'],
    ['/proc/1/root', '/proc'],
    ['/sys/x', '/sys'],
    ['/dev/shm/j', '/dev'],
    ['/run/user/j', '/run'],
    ['/etc/jails/a', '/etc'],
    ['/usr/jail', '/usr'],
  ])('under a system tree: %s', (p, tree) => {
    expectUserError(() => checkJailPath(p, fakeFs), `"${p}"`, `under ${tree}`);
  });
  test.each(['/srv/my jail', '/srv/jails/%u', '/srv/a:b', '/srv/"x"', '/srv/a\nb'])('odd character in %j', (p) => {
    expectUserError(() => checkJailPath(p, fakeFs), JSON.stringify(p), 'contains');
  });
  test('a relative path with a newline still gives a one-line message', () => {
    expectUserError(() => checkJailPath('a\nb', fakeFs), '"a\\nb"', 'relative');
  });
  test('a world-writable ancestor, from an injected lstat', () => {
    const fs: JailFsInfo = {
      ...fakeFs,
      lstat: (p) => (p === '/' || p === '/data' ? { mode: p === '/' ? 0o40755 : 0o41777, isDirectory: () => true, isSymbolicLink: () => false } : undefined),
    };
    expectUserError(() => checkJailPath('/data/jails/a', fs), '"/data/jails/a"', '/data is world-writable');
  });
});

describe('checkJailPath: a real tree under /srv', () => {
  const skip = rootOrSkipReason();
  const base = `/srv/jwtest-validate-${randomBytes(4).toString('hex')}`;
  const notManaged: JailFsInfo = { isManagedJail: () => false };

  beforeAll(() => {
    if (skip) return;
    mkdirSync(`${base}/jails/empty`, { recursive: true });
    mkdirSync(`${base}/jails/full/sub`, { recursive: true });
    mkdirSync(`${base}/open`, { mode: 0o777 });
    chmodSync(`${base}/open`, 0o1777);
    mkdirSync(`${base}/groupw`);
    chmodSync(`${base}/groupw`, 0o775);
    symlinkSync(`${base}/jails`, `${base}/link`);
    symlinkSync(`${base}/jails/empty`, `${base}/jails/linkjail`);
    writeFileSync(`${base}/jails/file`, 'x');
  });
  afterAll(() => {
    if (!skip) rmSync(base, { recursive: true, force: true });
  });

  test.skipIf(!isRoot)('new and empty jails are fine; group-writable parents are for later steps', () => {
    expect(() => checkJailPath(`${base}/jails/new`, notManaged)).not.toThrow();
    expect(() => checkJailPath(`${base}/jails/empty`, notManaged)).not.toThrow();
    expect(() => checkJailPath(`${base}/groupw/alice`, notManaged)).not.toThrow();
    expect(() => checkJailPath(`${base}/missing/deeper/alice`, notManaged)).not.toThrow();
  });
  test.skipIf(!isRoot)('world-writable parent', () => {
    const e = expectUserError(() => checkJailPath(`${base}/open/alice`, notManaged), `${base}/open/alice`, `${base}/open is world-writable`);
    expect(e.hint).toContain('sshd');
  });
  test.skipIf(!isRoot)('/var/tmp is world-writable', () => expectUserError(() => checkJailPath('/var/tmp/jails/a', notManaged), '/var/tmp is world-writable'));
  test.skipIf(!isRoot)('symlinked parent', () => expectUserError(() => checkJailPath(`${base}/link/alice`, notManaged), `${base}/link is a symlink`));
  test.skipIf(!isRoot)('the jail itself is a symlink', () => expectUserError(() => checkJailPath(`${base}/jails/linkjail`, notManaged), 'is a symlink'));
  test.skipIf(!isRoot)('exists and is not a directory', () => expectUserError(() => checkJailPath(`${base}/jails/file`, notManaged), `${base}/jails/file`, 'not a directory'));
  test.skipIf(!isRoot)('a parent is a file', () => expectUserError(() => checkJailPath(`${base}/jails/file/a`, notManaged), `parent ${base}/jails/file is not a directory`));
  test.skipIf(!isRoot)('non-empty dir: refused unless jailwizard made it', () => {
    expectUserError(() => checkJailPath(`${base}/jails/full`, notManaged), `${base}/jails/full`, 'non-empty');
    const seen: string[] = [];
    const managed: JailFsInfo = { isManagedJail: (p) => (seen.push(p), p === `${base}/jails/full`) };
    expect(() => checkJailPath(`${base}/jails/full/`, managed)).not.toThrow();
    expect(seen).toEqual([`${base}/jails/full`]);
  });
});

describe('checkTools', () => {
  test('accepts known tools', () => expect(() => checkTools(['bash', 'sftp'])).not.toThrow());
  test('unknown tool lists the valid ones', () => {
    const e = expectUserError(() => checkTools(['bash', 'vim']), '"vim"');
    expect(e.hint).toBe('valid tools: bash, rsync, scp, sftp');
  });
  test('empty and duplicate', () => {
    expectUserError(() => checkTools([]), 'no tools');
    expectUserError(() => checkTools(['rsync', 'rsync']), '"rsync"', 'twice');
  });
});

describe('checkArch', () => {
  test('auto, or an arch every tool has', () => {
    expect(() => checkArch('auto', 'x86_64', { bash: [] })).not.toThrow();
    expect(() => checkArch('x86_64', 'x86_64', { bash: ['x86_64'], rsync: ['x86_64', 'i386'] })).not.toThrow();
    expect(() => checkArch('i386', 'x86_64', { rsync: ['x86_64', 'i386'] })).not.toThrow();
  });
  test('no binaries for the arch', () => {
    const e = expectUserError(() => checkArch('aarch64', 'x86_64', { bash: ['x86_64'] }), 'no aarch64 binaries for bash on this host');
    expect(e.hint).toContain('arch: auto');
    expect(e.hint).toContain('x86_64');
    expectUserError(() => checkArch('i386', 'x86_64', { bash: ['x86_64', 'i386'], scp: ['x86_64'] }), 'no i386 binaries for scp');
  });
  test('unknown arch', () => expectUserError(() => checkArch('amd64', 'x86_64', {}), '"amd64"'));
});

describe('splitKeys', () => {
  test('splits a raw-mode paste, whose lines end with \\r', () => {
    expect(splitKeys('ssh-ed25519 AAAA a\rssh-ed25519 AAAA b\r')).toEqual(['ssh-ed25519 AAAA a', 'ssh-ed25519 AAAA b']);
  });
  test('one key per line, no blanks or comments', () => {
    expect(splitKeys('# my keys\n\nssh-ed25519 AAAA a\r\n  ssh-rsa AAAA b  \n#ssh-rsa AAAA old\n')).toEqual(['ssh-ed25519 AAAA a', 'ssh-rsa AAAA b']);
    expect(splitKeys('\n \n')).toEqual([]);
  });
});

describe('checkAuthorizedKey with the real ssh-keygen', () => {
  let dir: string;
  const pub = (name: string) => readFileSync(join(dir, `${name}.pub`), 'utf8').trim();
  const priv = (name: string) => readFileSync(join(dir, name), 'utf8');
  let hasDsa = false;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jw-keys-'));
    const gen = (...args: string[]) => execFileSync('ssh-keygen', ['-q', '-N', '', ...args], { stdio: 'ignore' });
    gen('-t', 'ed25519', '-C', 'alice@laptop two words', '-f', join(dir, 'ed'));
    gen('-t', 'rsa', '-b', '2048', '-C', '', '-f', join(dir, 'rsa'));
    try {
      gen('-t', 'dsa', '-f', join(dir, 'dsa')); // Gone from newer OpenSSH; tested when available.
      hasDsa = true;
    } catch {
      hasDsa = false;
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('ed25519', async () => {
    const info = await checkAuthorizedKey(pub('ed'));
    expect(info).toEqual({ type: 'ED25519', bits: 256, fingerprint: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/), comment: 'alice@laptop two words' });
    const direct = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'ed.pub')], { encoding: 'utf8' });
    expect(direct).toContain(info.fingerprint);
  });
  test('rsa 2048 with an empty comment', async () => {
    expect(await checkAuthorizedKey(pub('rsa'))).toMatchObject({ type: 'RSA', bits: 2048, comment: '' });
  });
  test('options such as from="..." are accepted (ssh-keygen -l reads authorized_keys lines)', async () => {
    const line = `from="127.0.0.1",no-pty,principals="a \\"ssh-rsa AAAAB3 x\\", hi" ${pub('ed')}`;
    expect(await checkAuthorizedKey(line)).toMatchObject({ type: 'ED25519', comment: 'alice@laptop two words' });
    expect(await checkAuthorizedKey(`restrict,pty ${pub('rsa')}`)).toMatchObject({ type: 'RSA' });
  });
  test('options that fight the jail (command=, environment=…) and an option given twice, which ssh-keygen -l takes', async () => {
    await expectUserErrorAsync(checkAuthorizedKey(`command="a b",from="*" ${pub('ed')}`), 'has a command= option');
    await expectUserErrorAsync(checkAuthorizedKey(`from="*",from="10.0.0.1" ${pub('ed')}`), 'multiple "from" clauses');
    await expectUserErrorAsync(checkAuthorizedKey(`no-pty,no-pty ${pub('ed')}`), 'the option pty twice');
  });
  test('an unknown option, which sshd would skip the line for', async () => {
    const e = await expectUserErrorAsync(checkAuthorizedKey(`form="127.0.0.1" ${pub('ed')}`), 'unknown option "form"');
    expect(e.hint).toContain('from');
  });
  test('a truncated key', async () => {
    const full = pub('ed');
    const cut = full.slice(0, full.indexOf(' ', 20) - 15);
    await expectUserErrorAsync(checkAuthorizedKey(cut), cut.slice(0, 20), 'not a valid public key');
  });
  test('a private key', async () => {
    const e = await expectUserErrorAsync(checkAuthorizedKey(priv('ed')), '-----BEGIN OPENSSH PRIVATE KEY', 'private key');
    expect(e.hint).toContain("that's a private key; paste the .pub");
    await expectUserErrorAsync(checkAuthorizedKey(priv('rsa').split('\n')[0]!), 'private key');
  });
  test('garbage, empty, several lines', async () => {
    await expectUserErrorAsync(checkAuthorizedKey('hello world'), '"hello world"', 'not a valid public key');
    await expectUserErrorAsync(checkAuthorizedKey('ssh-ed25519 AAAAnotbase64!!'), 'not a valid public key');
    await expectUserErrorAsync(checkAuthorizedKey('   '), 'empty');
    await expectUserErrorAsync(checkAuthorizedKey(`${pub('ed')}\n${pub('rsa')}`), 'more than one line');
  });
  test('an RFC 4716 public key', async () => {
    const rfc = execFileSync('ssh-keygen', ['-e', '-f', join(dir, 'ed.pub')], { encoding: 'utf8' });
    const e = await expectUserErrorAsync(checkAuthorizedKey(rfc), 'RFC 4716');
    expect(e.hint).toContain('ssh-keygen -i');
  });
  test('a DSA key, which sshd refuses', async () => {
    if (!hasDsa) return;
    const e = await expectUserErrorAsync(checkAuthorizedKey(pub('dsa')), 'DSA');
    expect(e.hint).toContain('ed25519');
  });
  test('the temp key file is removed', async () => {
    const ours = () => readdirSync(tmpdir()).filter((f) => f.startsWith('jailwizard-key-'));
    const before = ours();
    await checkAuthorizedKey(pub('ed'));
    await checkAuthorizedKey('garbage').catch(() => undefined);
    expect(ours()).toEqual(before);
  });
});
