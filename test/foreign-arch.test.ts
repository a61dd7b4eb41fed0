// jailwizard on a real aarch64 userland: Debian 13 (trixie) for arm64, run on this x86_64
// host under qemu-user (binfmt_misc with the F flag). Inside that root, with its own arm64
// Node and npm, the packed tarball is installed as a user would; jailwizard applies a
// bash+rsync+scp+sftp jail, its own connection test runs the root's clients against the
// root's own sshd (loopback, in a private network namespace), this host's clients log in
// too, and remove leaves the root byte-identical. That proves the ELF closure and the
// loader paths (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu) on aarch64 binaries.
//
// Emulated, every command is slow (Node starts in seconds), so this is the core story only:
// apply with its connection test, a login from outside, remove. The root is cached in
// /var/cache/jailwizard-test (scripts/foreign-root.sh); the test changes only an overlay.
// In CI it always runs. Elsewhere it is skipped, with the reason printed, when this host
// cannot run it or the root is not built yet (JW_FOREIGN_BUILD=1 builds it).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readElf } from '../src/elf.ts';
import { run } from '../src/run.ts';
import { diffSnapshots, snapshotHost, type HostSnapshot } from './helpers/host-snapshot.ts';
import { buildForeignRoot, cachedForeignRoot, foreignRootMissing, startForeignRoot, type ForeignRootSpec, type RunningRoot } from './helpers/foreign-root.ts';
import { makeClientKey, sshClientOptions } from './helpers/sshd.ts';

const inCI = process.env.JW_TEST_CI === 'true' || process.env.CI === 'true';
const ARM64: ForeignRootSpec = { name: 'debian13-arm64', qemu: 'qemu-aarch64' };

async function skipReason(spec: ForeignRootSpec): Promise<string | undefined> {
  const missing = foreignRootMissing(spec);
  if (missing && inCI) throw new Error(`CI must run the ${spec.name} test, but: ${missing}`);
  if (missing) return missing;
  if (!inCI && process.env.JW_FOREIGN_BUILD !== '1' && !(await cachedForeignRoot(spec))) {
    return `the ${spec.name} root is not built yet (about half an hour under qemu): run \`bash scripts/foreign-root.sh ${spec.name}\` or set JW_FOREIGN_BUILD=1`;
  }
  return undefined;
}

const reason = await skipReason(ARM64);
if (reason) console.warn(`[jailwizard tests] skipped the ${ARM64.name} test: ${reason}`);

/** Durations of each stage, printed at the end (never asserted: the machine is shared). */
const timings: [string, number][] = [];
async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    timings.push([label, performance.now() - t]);
  }
}

const out = (r: { exitCode: number; stdout: string; stderr: string }): string => `exit ${r.exitCode}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-4000)}`;

describe.skipIf(reason !== undefined)(`jailwizard on ${ARM64.name} under qemu-user`, () => {
  const user = 'jwarm';
  const jail = `/srv/jails/${user}`;
  let root: RunningRoot | undefined;
  let work: string;
  let key: { privateKey: string; publicKey: string };
  let port: number;
  let before: HostSnapshot;
  let pkgVersion: string;

  /** What jailwizard may touch in the root: accounts, sshd's config, drop-ins and keys, the jail parent, homes. */
  const snapshot = (): Promise<HostSnapshot> =>
    snapshotHost({
      defaults: false,
      files: ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid', '/etc/shells'].map((f) => root!.view(f)),
      dirs: ['/etc/ssh', '/srv', '/home'].map((d) => root!.view(d)),
    });

  beforeAll(async () => {
    const built = await timed('root: build or find in the cache', () => buildForeignRoot(ARM64));
    console.log(`[${ARM64.name}] ${built.log.split('\n').pop()}`);
    root = await timed('root: overlay and namespaces up', () => startForeignRoot(built.root));
    work = mkdtempSync(path.join(tmpdir(), 'jw-foreign-'));
    key = await makeClientKey(work);
    pkgVersion = JSON.parse(readFileSync('package.json', 'utf8')).version;
  }, 95 * 60_000);

  afterAll(async () => {
    await root?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`[${ARM64.name}] timings:\n${timings.map(([l, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${l}`).join('\n')}`);
  }, 120_000);

  it('runs the root\'s own arm64 Node, emulated', async () => {
    const elf = readElf(root!.view('/usr/bin/node'));
    expect(elf?.arch).toBe('aarch64');
    expect(elf?.interp).toBe('/lib/ld-linux-aarch64.so.1');
    const r = await timed('node -p process.arch (cold)', () => root!.exec(['node', '-p', '`${process.arch} ${process.version}`']));
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout.trim()).toMatch(/^arm64 v20\./);
    await timed('node -e 0 (warm)', () => root!.exec(['node', '-e', '0']));
  }, 300_000);

  it('installs the packed tarball with the root\'s npm, as a user would', async () => {
    const pack = await timed('npm pack (host)', () => run(['npm', 'pack', '--pack-destination', work], { timeoutMs: 300_000 }));
    expect(pack.exitCode, out(pack)).toBe(0);
    const tgz = pack.stdout.trim().split('\n').pop()!;
    writeFileSync(root!.view(`/tmp/${tgz}`), readFileSync(path.join(work, tgz)));
    const r = await timed('npm install -g --offline (emulated)', () => root!.exec(['npm', 'install', '-g', '--offline', '--no-audit', '--no-fund', `/tmp/${tgz}`], { timeoutMs: 1_200_000 }));
    expect(r.exitCode, out(r)).toBe(0);
    const v = await timed('jailwizard --version (emulated)', () => root!.exec(['jailwizard', '--version']));
    expect(v.stdout.trim(), out(v)).toBe(pkgVersion);
  }, 1_500_000);

  it('starts the root\'s own sshd on loopback in its private network namespace', async () => {
    port = 2200 + Math.floor(Math.random() * 700);
    const cfg = root!.view('/etc/ssh/sshd_config');
    writeFileSync(cfg, `# foreign-arch test: its own loopback port (private network namespace)\nPort ${port}\nListenAddress 127.0.0.1\nPidFile /run/sshd.pid\n${readFileSync(cfg, 'utf8')}`);
    const mk = await root!.exec(['mkdir', '-p', '-m', '0755', '/run/sshd']);
    expect(mk.exitCode, out(mk)).toBe(0);
    const start = await timed('sshd start (emulated)', () => root!.exec(['/usr/sbin/sshd', '-E', '/var/log/jw-sshd.log']));
    expect(start.exitCode, out(start)).toBe(0);
    const listening = await root!.onItsNetwork(['bash', '-c', `for i in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && exit 0; sleep 0.2; done; exit 1`], { timeoutMs: 180_000 });
    expect(listening.exitCode, readFileSync(root!.view('/var/log/jw-sshd.log'), 'utf8')).toBe(0);
    // This host's port is not involved: nothing listens on it here for that sshd.
    const hostSide = await run(['bash', '-c', `(exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null`]);
    expect(hostSide.exitCode).not.toBe(0);
    before = await snapshot();
  }, 300_000);

  it('applies a bash+rsync+scp+sftp jail; its connection test passes against the root\'s sshd', async () => {
    writeFileSync(root!.view('/root/jail.yaml'), `user: ${user}\ntools: [bash, rsync, scp, sftp]\njail: ${jail}\nauthorizedKeys:\n  - ${key.publicKey}\ncreateUser: true\n`);
    const r = await timed('jailwizard apply --config --yes, with its connection test (emulated)', () => root!.exec(['jailwizard', 'apply', '--config', '/root/jail.yaml', '--yes'], { timeoutMs: 1_800_000 }));
    expect(r.exitCode, out(r)).toBe(0);
    // Its own connection test, with the root's arm64 clients: every probe passed, none failed.
    const probes = r.stdout.slice(r.stdout.indexOf('Connection test with the real clients:')).split('\n').filter((l) => /^\s+[✓✗]/.test(l));
    expect(probes.filter((l) => l.includes('✗')), out(r)).toEqual([]);
    expect(probes.map((l) => l.trim().slice(2))).toEqual(expect.arrayContaining(['ssh: shell sees the jail as /', 'sftp: put/get round trip', 'scp: round trip (SFTP protocol)', 'scp -O: round trip (legacy protocol)', 'rsync: upload/download round trip', 'escape: /etc/shadow unreadable (ssh)']));
    expect(r.stdout).toContain(`Done: ${user} is jailed in ${jail} with bash, rsync, scp, sftp.`);
    console.log(`[${ARM64.name}] apply's connection test: ${probes.length} probes passed`);
  }, 1_900_000);

  it('the jail holds an aarch64 closure with its loader paths; this host\'s clients log in', async () => {
    for (const [p, arch] of [['/usr/bin/bash', 'aarch64'], ['/usr/bin/rsync', 'aarch64'], ['/usr/lib/openssh/sftp-server', 'aarch64']] as const) {
      expect(readElf(root!.view(`${jail}${p}`))?.arch, p).toBe(arch);
    }
    // The loader by the path every arm64 binary names, through the jail's own symlinks.
    expect(readElf(root!.view(`${jail}/lib/ld-linux-aarch64.so.1`))?.soname).toBe('ld-linux-aarch64.so.1');
    expect(readElf(root!.view(`${jail}/usr/lib/aarch64-linux-gnu/libc.so.6`))?.arch).toBe('aarch64');
    const ssh = (cmd: string) =>
      root!.onItsNetwork(['ssh', '-o', 'ConnectTimeout=60', ...sshClientOptions(key.privateKey), '-p', String(port), `${user}@127.0.0.1`, cmd], { timeoutMs: 180_000 });
    const r = await timed('ssh login from this host, bash in the jail (emulated)', () => ssh('echo "$HOSTTYPE"; ls /'));
    expect(r.exitCode, out(r)).toBe(0);
    const [hosttype, ...listing] = r.stdout.trim().split('\n');
    expect(hosttype).toBe('aarch64');
    expect(listing.sort()).toEqual(expect.arrayContaining(['bin', 'dev', 'etc', 'home', 'lib', 'usr']));
    expect(listing).not.toContain('root');
    const shadow = await ssh('cat /etc/shadow');
    expect(shadow.exitCode).not.toBe(0);
    const rs = await timed('rsync from this host into the jail (emulated server)', async () => {
      writeFileSync(path.join(work, 'payload'), 'hello from x86_64\n');
      return root!.onItsNetwork(['rsync', '-e', `ssh -o ConnectTimeout=60 ${sshClientOptions(key.privateKey).join(' ')} -p ${port}`, path.join(work, 'payload'), `${user}@127.0.0.1:payload`], { timeoutMs: 180_000 });
    });
    expect(rs.exitCode, out(rs)).toBe(0);
    expect(readFileSync(root!.view(`${jail}/home/${user}/payload`), 'utf8')).toBe('hello from x86_64\n');
  }, 600_000);

  it('remove leaves the root byte-identical: accounts, sshd config and drop-ins, keys, the jail parent', async () => {
    const r = await timed('jailwizard remove --yes (emulated)', () => root!.exec(['jailwizard', 'remove', user, '--yes'], { timeoutMs: 1_200_000 }));
    expect(r.exitCode, out(r)).toBe(0);
    expect(diffSnapshots(before, await snapshot())).toEqual([]);
  }, 1_300_000);
});
