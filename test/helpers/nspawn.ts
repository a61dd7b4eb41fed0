// The test bed: Debian roots booted with systemd as PID 1 in systemd-nspawn, as a fresh
// server runs. Each container boots an overlay on top of a cached root (scripts/bed-root.sh
// builds it once), so the cached root never changes and every test file starts clean.
//
// What works on this machine (measured): SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0 (the host has a
// cgroup-v1 hybrid), --register=no --keep-unit (there is no host D-Bus), and ALWAYS
// --private-network: without it the container's sshd would bind this host's port 22.
// Commands run through `nsenter -t <container PID 1> -a`; a container stops by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import path from 'node:path';
import { isRunning } from '../../src/host/proc.ts';
import { run, runOk, type RunOptions, type RunResult } from '../../src/host/run.ts';
import { isRoot } from './root.ts';

export type BedRootName = 'debian12-amd64' | 'debian13-amd64';

export const BED_CACHE = process.env.JW_BED_CACHE ?? '/var/cache/jailwizard-test';
/** Overlays of running containers (upper/work dirs and the merged root). */
const SCRATCH = '/var/tmp/jailwizard-bed';
const REPO = path.resolve(import.meta.dirname, '../..');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function inCi(): boolean {
  return process.env.JW_TEST_CI === 'true' || process.env.CI === 'true';
}

/**
 * Why booted roots cannot run here, printed when the tests are skipped; undefined when they
 * can. In CI nothing may be skipped: a missing piece is an error there.
 */
export function bedSkipReason(): string | undefined {
  const missing = ['systemd-nspawn', 'debootstrap', 'nsenter', 'tmux'].filter((c) => !['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(path.join(d, c))));
  const reason = !isRoot
    ? 'booted roots need root (debootstrap, mount, systemd-nspawn)'
    : missing.length > 0
      ? `booted roots need ${missing.join(', ')} (bash .ci/run installs systemd-container and debootstrap)`
      : process.env.JW_SKIP_BED === '1' && !inCi()
        ? 'JW_SKIP_BED=1'
        : undefined;
  if (reason === undefined) return undefined;
  if (inCi()) throw new Error(`CI must run the booted-root tests, but ${reason}`);
  console.warn(`[jailwizard tests] skipped: ${reason}`);
  return reason;
}

/** Builds the cached root once (minutes on a new machine), then returns its path at once. */
export async function cachedRoot(name: BedRootName): Promise<string> {
  const r = await run(['bash', path.join(REPO, 'scripts/bed-root.sh'), name], { timeoutMs: 40 * 60_000 });
  if (r.exitCode !== 0) throw new Error(`scripts/bed-root.sh ${name} failed (exit ${r.exitCode}):\n${r.stderr.slice(-4000)}`);
  console.log(r.stderr.trim());
  return r.stdout.trim().split('\n').pop()!;
}

export interface ExecOptions extends RunOptions {
  /** Extra environment inside (the base is PATH, HOME=/root, LANG=C.UTF-8, TERM=dumb). */
  env?: Record<string, string>;
}

export interface Container {
  readonly rootName: BedRootName;
  /** The container's / as a host path (the overlay's merged dir). */
  readonly root: string;
  /** The container's PID 1, as the host sees it. */
  pid(): number;
  /** argv inside the container (all its namespaces), as root with a clean environment. */
  exec(argv: string[], o?: ExecOptions): Promise<RunResult>;
  /** exec, failing with the command's output unless it exits 0. */
  execOk(argv: string[], o?: ExecOptions): Promise<RunResult>;
  /** The argv that runs `argv` inside (for tmux). */
  execArgv(argv: string[], env?: Record<string, string>): string[];
  /** A host path for a path inside the container. */
  hostPath(p: string): string;
  /** `systemctl reboot` inside, then boots the same root again; resolves when it is running. */
  reboot(): Promise<void>;
  /** Powers off, unmounts the overlay and removes the scratch dir. */
  stop(): Promise<void>;
  /** Seconds the last boot took until `systemctl is-system-running` said running/degraded. */
  readonly bootSeconds: number;
}

/** Stops what a killed earlier run left: containers whose owner process is gone. */
async function reapLeftovers(): Promise<void> {
  if (!existsSync(SCRATCH)) return;
  for (const n of readdirSync(SCRATCH)) {
    const dir = path.join(SCRATCH, n);
    const owner = Number(readIf(path.join(dir, 'owner')));
    if (owner && isRunning(owner)) continue;
    const nspawn = Number(readIf(path.join(dir, 'nspawn.pid')));
    if (nspawn && isRunning(nspawn) && readIf(`/proc/${nspawn}/cmdline`).includes(dir)) {
      process.kill(nspawn, 'SIGKILL');
      await waitGone(nspawn, 10_000);
    }
    await unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

function readIf(p: string): string {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/** Mount points under dir (deepest first) from the kernel's table. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

async function unmountUnder(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) {
    const r = await run(['umount', m]);
    if (r.exitCode !== 0) await run(['umount', '-l', m]);
  }
}

let counter = 0;

/** Boots a container of the named root (built first if needed) and waits until it runs. */
export async function bootContainer(rootName: BedRootName, label: string): Promise<Container> {
  const lower = await cachedRoot(rootName);
  await reapLeftovers();
  const id = `${label}-${process.pid}-${++counter}`;
  const dir = path.join(SCRATCH, id);
  const root = path.join(dir, 'root');
  for (const d of ['upper', 'work', 'root']) mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
  writeFileSync(path.join(dir, 'owner'), String(process.pid));
  await runOk(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work`, root]);

  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let leader = 0;
  let bootSeconds = 0;
  const machine = `jw-${id}`.slice(0, 60);

  const start = async (): Promise<void> => {
    const log = openSync(path.join(dir, 'console.log'), 'a');
    const started = Date.now();
    child = spawn(
      'systemd-nspawn',
      ['-D', root, '-b', '-M', machine, '--register=no', '--keep-unit', '--private-network', '--console=passive', '--hostname', rootName],
      { stdio: ['ignore', log, log], env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '0' } },
    );
    closeSync(log);
    const c = child;
    exited = new Promise((resolve) => c.once('exit', (code) => resolve(code)));
    writeFileSync(path.join(dir, 'nspawn.pid'), String(c.pid));
    leader = await leaderOf(c.pid!, () => c.exitCode !== null);
    // running, or degraded (a unit failed: shown, since a test may care).
    const deadline = Date.now() + 180_000;
    for (;;) {
      const r = await execIn(['systemctl', 'is-system-running'], { timeoutMs: 20_000 });
      const state = r.stdout.trim();
      if (state === 'running') break;
      if (state === 'degraded') {
        console.warn(`[bed ${rootName}] degraded after boot:\n${(await execIn(['systemctl', '--failed', '--no-pager'])).stdout}`);
        break;
      }
      if (c.exitCode !== null || Date.now() > deadline) {
        throw new Error(`${rootName} did not boot (state ${state || r.stderr.trim()}); console:\n${readIf(path.join(dir, 'console.log')).slice(-3000)}`);
      }
      await new Promise((r2) => setTimeout(r2, 250));
    }
    bootSeconds = (Date.now() - started) / 1000;
  };

  const execArgv = (argv: string[], env: Record<string, string> = {}): string[] => {
    const vars = { PATH, HOME: '/root', LANG: 'C.UTF-8', TERM: 'dumb', ...env };
    return ['nsenter', '-t', String(leader), '-a', 'env', '-i', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`), ...argv];
  };
  const execIn = (argv: string[], o: ExecOptions = {}): Promise<RunResult> => run(execArgv(argv, o.env), { ...o, env: undefined, timeoutMs: o.timeoutMs ?? 300_000 });

  const waitExit = async (ms: number): Promise<boolean> => {
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    return done;
  };

  await start();
  const c: Container = {
    rootName,
    root,
    pid: () => leader,
    get bootSeconds() {
      return bootSeconds;
    },
    exec: execIn,
    async execOk(argv, o) {
      const r = await execIn(argv, o);
      if (r.exitCode !== 0) throw new Error(`in ${rootName}: ${argv.join(' ')} exited ${r.exitCode}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`);
      return r;
    },
    execArgv,
    hostPath: (p) => path.join(root, p),
    async reboot() {
      await execIn(['systemctl', 'reboot'], { timeoutMs: 30_000 });
      // systemd-nspawn exits (133) when its container reboots; the caller boots it again.
      if (!(await waitExit(120_000))) throw new Error(`${rootName} did not go down within 120 s of systemctl reboot`);
      await start();
    },
    async stop() {
      if (child && child.exitCode === null) {
        // SIGTERM to systemd-nspawn: a clean poweroff of the container; SIGKILL if it hangs.
        child.kill('SIGTERM');
        if (!(await waitExit(90_000))) {
          child.kill('SIGKILL');
          await waitExit(10_000);
        }
      }
      await unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return c;
}

/** The container's PID 1: the child of systemd-nspawn whose pid in its own namespace is 1. */
async function leaderOf(nspawnPid: number, gone: () => boolean): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    for (const n of readdirSync('/proc')) {
      if (!/^\d+$/.test(n)) continue;
      const status = readIf(`/proc/${n}/status`);
      if (new RegExp(`^PPid:\\s+${nspawnPid}$`, 'm').test(status) && /^NSpid:\s+\d+\s+1$/m.test(status)) return Number(n);
    }
    if (gone()) throw new Error('systemd-nspawn exited before the container started');
    if (Date.now() > deadline) throw new Error(`no container PID 1 under systemd-nspawn ${nspawnPid} after 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The packed tarball (`npm pack`, as a release would be), built once per test file into its
 * own scratch dir (containers come and go; the tarball stays until the process exits, and a
 * later run removes it if this one was killed).
 */
let packed: Promise<string> | undefined;
export function packTarball(): Promise<string> {
  packed ??= (async () => {
    const dir = path.join(SCRATCH, `pack-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'owner'), String(process.pid));

    const r = await runOk(['npm', 'pack', '--pack-destination', dir, '--json'], { cwd: REPO, timeoutMs: 300_000 });
    const name = (JSON.parse(r.stdout) as { filename: string }[])[0]!.filename;
    return path.join(dir, name);
  })();
  return packed;
}

/** Removes this process's packed tarball (a test file's last afterAll). */
export async function removePackedTarball(): Promise<void> {
  if (!packed) return;
  const tgz = await packed.catch(() => undefined);
  packed = undefined;
  if (tgz) rmSync(path.dirname(tgz), { recursive: true, force: true });
}

/** `npm install -g --offline` of the packed tarball inside, as an admin would; returns the seconds it took. */
export async function installJailwizard(c: Container, tarball: string): Promise<number> {
  const inside = `/root/${path.basename(tarball)}`;
  writeFileSync(c.hostPath(inside), readFileSync(tarball));
  const t = Date.now();
  await c.execOk(['npm', 'install', '-g', '--offline', '--no-audit', '--no-fund', inside], { timeoutMs: 600_000 });
  return (Date.now() - t) / 1000;
}
