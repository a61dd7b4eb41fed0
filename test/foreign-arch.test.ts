// jailwizard on a real aarch64 userland: Debian 13 (trixie) for arm64, run on this x86_64
// host under qemu-user (binfmt_misc with the F flag); and the same on armhf (32-bit ARM,
// the Raspberry Pi of one of the original recipes) when asked for. Inside that root, with
// its own Node and npm, the packed tarball is installed as a user would; jailwizard applies a
// bash+rsync+scp+sftp jail, its own connection test runs the root's clients against the
// root's own sshd (loopback, in a private network namespace), this host's clients log in
// too, and remove leaves the root byte-identical. That proves the ELF closure and the
// loader paths (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu; on armhf
// /lib/ld-linux-armhf.so.3, /usr/lib/arm-linux-gnueabihf) on that arch's binaries.
//
// Emulated, every command is slow (Node starts in seconds), so this is the core story only:
// apply with its connection test, a login from outside, remove. The root is cached in
// /var/cache/jailwizard-test (scripts/foreign-root.sh); the test changes only an overlay.
// arm64 always runs in CI. Elsewhere it is skipped, with the reason printed, when this host
// cannot run it or the root is not built yet (JW_FOREIGN_BUILD=1 builds it). armhf runs
// only with JW_TEST_ARMHF=1 (its root takes as long again to build cold, see .ci/run).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readElf } from '../src/host/elf.ts';
import { run } from '../src/host/run.ts';
import { diffSnapshots, snapshotHost, type HostSnapshot } from './helpers/host-snapshot.ts';
import { buildForeignRoot, cachedForeignRoot, foreignRootMissing, startForeignRoot, type ForeignRootSpec, type RunningRoot } from './helpers/foreign-root.ts';
import { makeClientKey, sshClientOptions } from './helpers/sshd.ts';

const inCI = process.env.JW_TEST_CI === 'true' || process.env.CI === 'true';

/** One root and what its binaries must look like. */
interface Story {
  spec: ForeignRootSpec;
  elfArch: 'aarch64' | 'armhf';
  /** Node's process.arch there. */
  nodeArch: string;
  loader: string;
  libDir: string;
  /** bash's $HOSTTYPE there. */
  hosttype: RegExp;
}
const ARM64: Story = { spec: { name: 'debian13-arm64', qemu: 'qemu-aarch64' }, elfArch: 'aarch64', nodeArch: 'arm64', loader: '/lib/ld-linux-aarch64.so.1', libDir: '/usr/lib/aarch64-linux-gnu', hosttype: /^aarch64$/ };
const ARMHF: Story = { spec: { name: 'debian13-armhf', qemu: 'qemu-arm' }, elfArch: 'armhf', nodeArch: 'arm', loader: '/lib/ld-linux-armhf.so.3', libDir: '/usr/lib/arm-linux-gnueabihf', hosttype: /^arm/ };

async function skipReason(spec: ForeignRootSpec): Promise<string | undefined> {
  if (spec.name === 'debian13-armhf' && process.env.JW_TEST_ARMHF !== '1') return 'armhf runs only with JW_TEST_ARMHF=1';
  const missing = foreignRootMissing(spec);
  if (missing && inCI) throw new Error(`CI must run the ${spec.name} test, but: ${missing}`);
  if (missing) return missing;
  if (!inCI && process.env.JW_FOREIGN_BUILD !== '1' && !(await cachedForeignRoot(spec))) {
    return `the ${spec.name} root is not built yet (30–60 minutes under qemu): run \`bash scripts/foreign-root.sh ${spec.name}\` or set JW_FOREIGN_BUILD=1`;
  }
  return undefined;
}

const out = (r: { exitCode: number; stdout: string; stderr: string }): string => `exit ${r.exitCode}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-4000)}`;

/** The core story on one root: Node, npm install, sshd, apply with its test, a login, remove. */
function story(st: Story, reason: string | undefined): void {
  describe.skipIf(reason !== undefined)(`jailwizard on ${st.spec.name} under qemu-user`, () => {
    const spec = st.spec;
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
      const built = await timed('root: build or find in the cache', () => buildForeignRoot(spec));
      console.log(`[${spec.name}] ${built.log.split('\n').pop()}`);
      root = await timed('root: overlay and namespaces up', () => startForeignRoot(built.root));
      work = mkdtempSync(path.join(tmpdir(), 'jw-foreign-'));
      key = await makeClientKey(work);
      pkgVersion = JSON.parse(readFileSync('package.json', 'utf8')).version;
    }, 95 * 60_000);

    afterAll(async () => {
      await root?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
      console.log(`[${spec.name}] timings:\n${timings.map(([l, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${l}`).join('\n')}`);
    }, 120_000);

    it(`runs the root's own ${st.nodeArch} Node, emulated`, async () => {
      const elf = readElf(root!.view('/usr/bin/node'));
      expect(elf?.arch).toBe(st.elfArch);
      expect(elf?.interp).toBe(st.loader);
      const r = await timed('node -p process.arch (cold)', () => root!.exec(['node', '-p', '`${process.arch} ${process.version}`']));
      expect(r.exitCode, out(r)).toBe(0);
      expect(r.stdout.trim()).toMatch(new RegExp(`^${st.nodeArch} v20\\.`));
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
      console.log(`[${spec.name}] apply's connection test: ${probes.length} probes passed`);
    }, 1_900_000);

    it(`the jail holds an ${st.elfArch} closure with its loader paths; this host's clients log in`, async () => {
      for (const p of ['/usr/bin/bash', '/usr/bin/rsync', '/usr/lib/openssh/sftp-server']) {
        const elf = readElf(root!.view(`${jail}${p}`));
        expect(elf?.arch, p).toBe(st.elfArch);
        expect(elf?.interp, p).toBe(st.loader);
      }
      // The loader by the path every binary names, through the jail's own symlinks.
      expect(readElf(root!.view(`${jail}${st.loader}`))?.soname).toBe(path.basename(st.loader));
      expect(readElf(root!.view(`${jail}${st.libDir}/libc.so.6`))?.arch).toBe(st.elfArch);
      const ssh = (cmd: string) =>
        root!.onItsNetwork(['ssh', '-o', 'ConnectTimeout=60', ...sshClientOptions(key.privateKey), '-p', String(port), `${user}@127.0.0.1`, cmd], { timeoutMs: 180_000 });
      const r = await timed('ssh login from this host, bash in the jail (emulated)', () => ssh('echo "$HOSTTYPE"; ls /'));
      expect(r.exitCode, out(r)).toBe(0);
      const [hosttype, ...listing] = r.stdout.trim().split('\n');
      expect(hosttype).toMatch(st.hosttype);
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
}

for (const st of [ARM64, ARMHF]) {
  const reason = await skipReason(st.spec);
  if (reason) console.warn(`[jailwizard tests] skipped the ${st.spec.name} test: ${reason}`);
  story(st, reason);
}
