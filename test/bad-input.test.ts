// "Bad input is refused before anything changes": every case below runs the real bundle
// as root and must end with exit 2, one `jailwizard: …` line naming the offending value,
// one `  hint: …` line, no stack trace, and a host that is byte-for-byte as it was.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, runOk, type RunResult } from '../src/host/run.ts';
import type { Answers } from '../src/model/types.ts';
import { diffSnapshots, type HostSnapshot } from './helpers/host-snapshot.ts';
import { BIN, answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { RUN_ID, TEST_PREFIX, uniqueUser } from './helpers/names.ts';
import { rootOrSkipReason } from './helpers/root.ts';

const reason = rootOrSkipReason();

/** What the cases need from the host, built once in beforeAll. */
interface Fixtures {
  env: TestEnv;
  /** A real, ordinary account (uid ≥ 1000) that plays the admin running jailwizard. */
  admin: string;
  /** Jail parents under env.jailRoot: world-writable, a symlink, group-writable, not root-owned. */
  ww: string;
  link: string;
  gw: string;
  notRoot: string;
  /** An existing non-empty directory jailwizard did not make. */
  full: string;
  /** The text of the test client's private key. */
  privateKey: string;
}

/**
 * How a case runs jailwizard:
 * - answers: an answers file for `user` (a fresh name unless given), merged onto valid
 *   defaults (tools [sftp], jail `<jailRoot>/<user>`, the test key), then `apply --config FILE --yes`;
 * - file: an answers file with exactly this text, then `apply --config FILE --yes`;
 * - argv: these arguments (the private sshd's --sshd-config and --state-dir are appended
 *   unless `raw`, which passes only --state-dir).
 */
type Input = (
  | { answers: Partial<Answers> }
  | { file: { ext: 'json' | 'yaml'; text: string } }
  | { argv: string[]; raw?: boolean }
) & { env?: Record<string, string> };

interface Case {
  name: string;
  input: (f: Fixtures, fresh: string) => Input;
  /** Fragments the `jailwizard: …` line must contain: the offending value and what is wrong. */
  says: (f: Fixtures, fresh: string) => string[];
}

const sftp = (jail: string): Partial<Answers> => ({ tools: ['sftp'], jail });

const CASES: Case[] = [
  // ---- user names that break shadow-utils' rules
  { name: 'user name with uppercase letters', input: () => ({ answers: { user: 'Alice' } }), says: () => ['"Alice"', 'uppercase'] },
  { name: 'user name that is all digits', input: () => ({ answers: { user: '1234' } }), says: () => ['"1234"', 'all digits'] },
  { name: 'user name with a dot', input: () => ({ answers: { user: 'a.b' } }), says: () => ['"a.b"', 'not allowed'] },
  { name: 'user name starting with "-"', input: () => ({ answers: { user: '-rf' } }), says: () => ['"-rf"', 'not allowed'] },
  { name: 'user name with a space', input: () => ({ answers: { user: 'bad name' } }), says: () => ['"bad name"'] },
  { name: 'user name longer than 32 characters', input: () => ({ answers: { user: 'x'.repeat(33) } }), says: () => ['x'.repeat(33), 'limit is 32'] },

  // ---- accounts that must never be jailed
  { name: 'root', input: () => ({ answers: { user: 'root' } }), says: () => ['"root"', 'uid 0'] },
  { name: 'a system account (daemon)', input: () => ({ answers: { user: 'daemon' } }), says: () => ['"daemon"', 'system account'] },
  { name: 'nobody', input: () => ({ answers: { user: 'nobody' } }), says: () => ['"nobody"', '65534'] },
  {
    name: 'the admin running the tool (SUDO_USER)',
    input: (f) => ({ answers: { user: f.admin }, env: { SUDO_USER: f.admin } }),
    says: (f) => [`"${f.admin}"`, 'the admin running jailwizard', 'SUDO_USER'],
  },
  {
    name: 'the admin running the tool (login name)',
    input: (f) => ({ answers: { user: f.admin }, env: { LOGNAME: f.admin } }),
    says: (f) => [`"${f.admin}"`, 'the admin running jailwizard', 'LOGNAME'],
  },

  // ---- jail paths
  { name: 'relative jail', input: (_, u) => ({ answers: sftp(`jails/${u}`) }), says: (_, u) => [`"jails/${u}"`, 'absolute'] },
  { name: 'jail containing ".."', input: (f, u) => ({ answers: sftp(`${f.env.jailRoot}/../${u}`) }), says: (f, u) => [`${f.env.jailRoot}/../${u}`, '".."'] },
  { name: 'jail "/"', input: () => ({ answers: sftp('/') }), says: () => ['jail path "/"', 'whole system'] },
  { name: 'jail under a world-writable parent', input: (f, u) => ({ answers: sftp(`${f.ww}/${u}`) }), says: (f) => [`parent ${f.ww} `, 'world-writable'] },
  { name: 'jail under a symlinked parent', input: (f, u) => ({ answers: sftp(`${f.link}/${u}`) }), says: (f) => [`parent ${f.link} `, 'symlink'] },
  { name: 'jail that is an existing non-empty dir', input: (f) => ({ answers: sftp(f.full) }), says: (f) => [`"${f.full}"`, 'non-empty', 'did not create'] },
  { name: 'jail under a group-writable parent (planner)', input: (f, u) => ({ answers: sftp(`${f.gw}/${u}`) }), says: (f) => [`${f.gw} `, 'mode 0775'] },
  { name: 'jail under a parent not owned by root (planner)', input: (f, u) => ({ answers: sftp(`${f.notRoot}/${u}`) }), says: (f) => [`${f.notRoot} `, 'uid 65534'] },

  // ---- tools, keys, arch
  { name: 'unknown tool', input: () => ({ answers: { tools: ['sftp', 'telnet' as never] } }), says: () => ['"telnet"', 'unknown tool'] },
  { name: 'garbage instead of a key', input: () => ({ answers: { authorizedKeys: ['this is not a key'] } }), says: () => ['this is not a key', 'not a valid public key'] },
  {
    name: 'truncated key',
    input: (f) => ({ answers: { authorizedKeys: [truncate(f.env.key.publicKey)] } }),
    says: (f) => [truncate(f.env.key.publicKey).slice(0, 30), 'not a valid public key'],
  },
  { name: 'private key', input: (f) => ({ answers: { authorizedKeys: [f.privateKey] } }), says: () => ['-----BEGIN OPENSSH PRIVATE KEY-----', 'private key'] },
  { name: 'arch with no binaries (aarch64 on x86_64)', input: () => ({ answers: { tools: ['bash'], arch: 'aarch64' } }), says: () => ['aarch64', 'bash'] },

  // ---- the answers file itself
  {
    name: 'unknown key in the answers file',
    input: (f, u) => ({ file: { ext: 'json', text: JSON.stringify({ user: u, tools: ['sftp'], jail: `${f.env.jailRoot}/${u}`, shell: '/bin/bash' }) } }),
    says: () => ['unknown key "shell"'],
  },
  {
    name: 'misspelt key in the answers file',
    input: (f, u) => ({ file: { ext: 'yaml', text: `user: ${u}\ntools: [sftp]\njail: ${f.env.jailRoot}/${u}\nauthorized_keys: []\n` } }),
    says: () => ['unknown key "authorized_keys"', 'did you mean "authorizedKeys"'],
  },
  {
    name: 'malformed JSON answers file',
    input: (_, u) => ({ file: { ext: 'json', text: `{"user": "${u}", "tools": ["sftp"],}\n` } }),
    says: (f, u) => [answersPath(f, u, 'json'), 'line 1', 'JSON syntax error'],
  },
  {
    name: 'malformed YAML answers file',
    input: (_, u) => ({ file: { ext: 'yaml', text: `user: ${u}\ntools: [sftp\njail: /srv/jails/${u}\n` } }),
    says: (f, u) => [answersPath(f, u, 'yaml'), 'YAML syntax error'],
  },
  {
    name: 'missing answers file',
    input: (f) => ({ argv: ['apply', '--config', `${f.env.work}/no-such-answers.yaml`, '--yes'] }),
    says: (f) => [`${f.env.work}/no-such-answers.yaml`, 'no such file'],
  },

  // ---- the command line
  {
    name: 'unknown CLI option',
    input: (f, u) => ({ argv: ['apply', '--config', answersFile(f.env, { user: u }), '--yes', '--frobnicate'] }),
    says: () => ["'--frobnicate'", 'Unknown option'],
  },
  { name: 'apply without --config', input: () => ({ argv: ['apply', '--yes'] }), says: () => ['apply needs --config'] },
  {
    name: 'nonexistent --sshd-config',
    input: (f, u) => ({ argv: ['apply', '--config', answersFile(f.env, { user: u }), '--yes', '--sshd-config', `${f.env.work}/no-sshd_config`], raw: true }),
    says: (f) => [`${f.env.work}/no-sshd_config`, 'does not exist'],
  },

  // ---- refusals that need host facts (the planner)
  { name: 'createUser false for a user that does not exist', input: () => ({ answers: { createUser: false } }), says: (_, u) => [`user ${u} `, 'createUser is false'] },
  { name: 'a system group (adm)', input: () => ({ answers: { group: 'adm' } }), says: () => ['group adm ', 'system group'] },
  { name: 'a group that does not exist', input: () => ({ answers: { group: `${TEST_PREFIX}nogroup` } }), says: () => [`group ${TEST_PREFIX}nogroup `, 'does not exist'] },

  // ---- commands for users jailwizard does not manage
  { name: 'remove a user that does not exist', input: (_, u) => ({ argv: ['remove', u, '--yes'] }), says: (_, u) => [`manages no jail for ${u}`] },
  { name: 'remove an existing user jailwizard did not jail', input: (f) => ({ argv: ['remove', f.admin, '--yes'] }), says: (f) => [`manages no jail for ${f.admin}`] },
  { name: 'test a user jailwizard does not manage', input: (_, u) => ({ argv: ['test', u] }), says: (_, u) => [`manages no jail for ${u}`] },
];

/** The key type and the first 30 characters of its base64: a key ssh-keygen cannot read. */
function truncate(publicKey: string): string {
  const [type, b64] = publicKey.split(' ');
  return `${type} ${b64!.slice(0, 30)}`;
}

function answersPath(f: Fixtures, user: string, ext: string): string {
  return path.join(f.env.work, `${user}.${ext}`);
}

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

// ---- "nothing changed", while other test runs may share this host
//
// Another vitest process or `scripts/bench.mjs` may add and remove its own `jwt<hex4>…`
// or `jwbench<hex4>…` users, groups and keys while a case runs. Those changes are not
// ours, so they are left out; everything else must be identical, including every account
// that is not a test account of another run.

const ACCOUNT_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid'];
const KEYS_DIR = '/etc/ssh/authorized_keys';
/** A user, group or key file name of another test or bench run (not this one's RUN_ID). */
const OTHER_RUN = `(?:jwt(?!${RUN_ID})|jwbench)[0-9a-f]{4}`;
const OTHER_RUN_NAME = `${OTHER_RUN}[a-z0-9_-]*`;
const OTHER_RUN_PATH = new RegExp(`/${OTHER_RUN}`);

interface Observed {
  snap: HostSnapshot;
  /** Account files without other runs' lines and group members. */
  accounts: Map<string, string>;
}

async function observe(env: TestEnv): Promise<Observed> {
  const accounts = new Map<string, string>();
  for (const file of ACCOUNT_FILES) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '<absent>';
    const mine = text
      .split('\n')
      .filter((l) => !new RegExp(`^${OTHER_RUN_NAME}:`).test(l))
      .map((l) => l.replace(new RegExp(`,?${OTHER_RUN_NAME}`, 'g'), ''));
    accounts.set(file, mine.join('\n'));
  }
  return { snap: await snapshot(env), accounts };
}

/** diffSnapshots, less the changes other test runs made meanwhile. */
function changes(a: Observed, b: Observed): string[] {
  const all = diffSnapshots(a.snap, b.snap);
  const pathOf = (line: string) => line.trimStart().split(/:? /)[0]!;
  let d = all.filter((l) => !(ACCOUNT_FILES.includes(pathOf(l)) && a.accounts.get(pathOf(l)) === b.accounts.get(pathOf(l))));
  d = d.filter((l) => !(pathOf(l).startsWith(`${KEYS_DIR}/`) && OTHER_RUN_PATH.test(pathOf(l))));
  // The keys dir itself comes and goes with another run's first and last key.
  const othersKeys = all.some((l) => pathOf(l).startsWith(`${KEYS_DIR}/`) && OTHER_RUN_PATH.test(pathOf(l)));
  if (othersKeys) d = d.filter((l) => pathOf(l) !== KEYS_DIR);
  return d;
}

/** Everything in jailwizard's state dir: a refused run must not even start a journal. */
function stateFiles(env: TestEnv): string[] {
  return existsSync(env.stateDir) ? readdirSync(env.stateDir, { recursive: true }).map(String).sort() : [];
}

async function userExists(name: string): Promise<boolean> {
  const r = await run(['getent', 'passwd', '--', name]);
  if (r.exitCode !== 0 && r.exitCode !== 2) throw new Error(`getent passwd ${name}: ${out(r)}`);
  return r.exitCode === 0;
}

/** Writes the case's answers file (if any) and returns the argv, env, user and jail it uses. */
function prepare(f: Fixtures, input: Input, fresh: string): { argv: string[]; raw: boolean; env?: Record<string, string>; user?: string; jail?: string } {
  if ('answers' in input) {
    const a = { user: fresh, ...input.answers };
    const jail = a.jail ?? path.join(f.env.jailRoot, a.user);
    const file = answersFile(f.env, a, `${fresh}.json`);
    return { argv: ['apply', '--config', file, '--yes'], raw: false, env: input.env, user: a.user, jail };
  }
  if ('file' in input) {
    const file = answersPath(f, fresh, input.file.ext);
    writeFileSync(file, input.file.text);
    return { argv: ['apply', '--config', file, '--yes'], raw: false, env: input.env, user: fresh };
  }
  return { argv: input.argv, raw: input.raw ?? false, env: input.env, user: ['remove', 'test'].includes(input.argv[0]!) ? input.argv[1] : fresh };
}

describe.skipIf(reason)('bad input is refused before anything changes (exit 2, one line and a hint)', () => {
  let f: Fixtures | undefined;

  beforeAll(async () => {
    const env = await setupEnv();
    // Assigned at once, so afterAll cleans up even if a fixture below fails.
    f = { env } as Fixtures;
    const admin = uniqueUser('admin');
    await runOk(['useradd', '-M', '-s', '/bin/bash', admin]);

    const under = (name: string) => path.join(env.jailRoot, name);
    const ww = under('ww');
    mkdirSync(ww);
    chmodSync(ww, 0o1777);
    const real = under('real');
    mkdirSync(real);
    chmodSync(real, 0o755);
    const link = under('link');
    symlinkSync(real, link);
    const gw = under('gw');
    mkdirSync(gw);
    chmodSync(gw, 0o775);
    const notRoot = under('notroot');
    mkdirSync(notRoot);
    chmodSync(notRoot, 0o755);
    chownSync(notRoot, 65534, 65534);
    const full = under('full');
    mkdirSync(full);
    chmodSync(full, 0o755);
    writeFileSync(path.join(full, 'notes.txt'), 'somebody else was here\n');

    Object.assign(f, { admin, ww, link, gw, notRoot, full, privateKey: readFileSync(env.key.privateKey, 'utf8') });
  });

  afterAll(async () => {
    await teardownEnv(f?.env);
  });

  test('the table covers every kind of bad input once', () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  test.each(CASES.map((c, i) => ({ ...c, i })))('$name', async ({ input, says, i }) => {
    const fx = f!;
    const fresh = uniqueUser(`bad${i}`);
    const { argv, raw, env, user, jail } = prepare(fx, input(fx, fresh), fresh);
    const userBefore = user !== undefined && (await userExists(user));
    const jailBefore = jail !== undefined && jail.startsWith('/') && lexists(jail);
    const before = await observe(fx.env);
    const stateBefore = stateFiles(fx.env);

    const r: RunResult = raw
      ? await run([process.execPath, BIN, ...argv, '--state-dir', fx.env.stateDir], { env, timeoutMs: 120_000 })
      : await jw(fx.env, argv, { env });
    const why = `${argv.join(' ')}\n${out(r)}`;

    // 1. Exit 2.
    expect(r.exitCode, why).toBe(2);
    // 2. Exactly one error line and one hint line; the error names the offending value.
    const lines = r.stderr.replace(/\n$/, '').split('\n');
    expect(lines, why).toHaveLength(2);
    expect(lines[0], why).toMatch(/^jailwizard: \S/);
    expect(lines[1], why).toMatch(/^ {2}hint: \S/);
    for (const part of says(fx, fresh)) expect(lines[0], why).toContain(part);
    // 3. No stack trace, and no plan or progress on stdout.
    expect(r.stderr, why).not.toMatch(/^\s+at /m);
    expect(r.stdout, why).toBe('');
    // 4. Nothing changed: host files, no journal or state, no user, no jail.
    expect(changes(before, await observe(fx.env)), why).toEqual([]);
    expect(hasUnfinishedJournal(fx.env), why).toBe(false);
    expect(stateFiles(fx.env), `${why}\njailwizard's state dir`).toEqual(stateBefore);
    if (user !== undefined) expect(await userExists(user), `${why}\nuser ${user}`).toBe(userBefore);
    if (jail !== undefined && jail.startsWith('/')) expect(lexists(jail), `${why}\njail ${jail}`).toBe(jailBefore);
  });
});
