// A cached Debian root of another arch (scripts/foreign-root.sh), run under qemu-user in
// namespaces of its own: an overlay on top of the cached root (which never changes), a
// private network namespace with only loopback (its sshd binds nothing of this host's),
// a private PID namespace (every process in it dies with it) and a private mount namespace
// (every mount goes with it). Commands run in it with nsenter + chroot; the test reads its
// files through /proc/<pid>/root.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run, type RunResult } from '../../src/host/run.ts';

export const FOREIGN_CACHE = process.env.JW_BED_CACHE ?? '/var/cache/jailwizard-test';
const SCRIPT = path.resolve('scripts/foreign-root.sh');
const RUNS = path.join(FOREIGN_CACHE, 'runs');
export const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ForeignRootSpec {
  name: 'debian13-arm64' | 'debian13-armhf';
  /** The binfmt_misc handler that runs its binaries. */
  qemu: 'qemu-aarch64' | 'qemu-arm';
}

/** Why this host cannot run the root (no root, no binfmt handler with F), or undefined. */
export function foreignRootMissing(spec: ForeignRootSpec): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot, namespaces)';
  const handler = `/proc/sys/fs/binfmt_misc/${spec.qemu}`;
  if (!existsSync(handler)) return `no binfmt_misc handler ${handler} (qemu-user-static, binfmt-support; mount binfmt_misc; update-binfmts --enable ${spec.qemu})`;
  const text = readFileSync(handler, 'utf8');
  if (!/^enabled/m.test(text)) return `the binfmt_misc handler ${spec.qemu} is disabled (update-binfmts --enable ${spec.qemu})`;
  if (!/^flags:.*F/m.test(text)) return `the binfmt_misc handler ${spec.qemu} lacks the F flag: its binaries would not run after chroot`;
  return undefined;
}

/** The root's directory if it is built and cached. */
export async function cachedForeignRoot(spec: ForeignRootSpec): Promise<string | undefined> {
  const r = await run(['bash', SCRIPT, '--check', spec.name], { env: { JW_BED_CACHE: FOREIGN_CACHE } });
  return r.exitCode === 0 ? r.stdout.trim().split('\n').pop() : undefined;
}

/** Builds the root unless cached; the build log's first line says which. */
export async function buildForeignRoot(spec: ForeignRootSpec): Promise<{ root: string; log: string }> {
  const r = await run(['bash', SCRIPT, spec.name], { timeoutMs: 90 * 60_000, env: { JW_BED_CACHE: FOREIGN_CACHE } });
  if (r.exitCode !== 0) throw new Error(`scripts/foreign-root.sh ${spec.name} exited ${r.exitCode}:\n${r.stderr.trim().split('\n').slice(-40).join('\n')}`);
  return { root: r.stdout.trim().split('\n').pop()!, log: r.stderr.trim() };
}

export interface RunningRoot {
  /** The PID (in this host's namespace) of the namespaces' first process. */
  pid: number;
  /** Where the overlay is mounted, inside the private mount namespace. */
  merged: string;
  /** A path inside the root as this process can open it. */
  view(p: string): string;
  /** Runs argv inside the root (chroot), in its namespaces, with a clean environment. */
  exec(argv: string[], o?: { timeoutMs?: number; env?: Record<string, string> }): Promise<RunResult>;
  /** Runs a host program in the root's network namespace only (this host's ssh client, say). */
  onItsNetwork(argv: string[], o?: { timeoutMs?: number }): Promise<RunResult>;
  stop(): Promise<void>;
}

// The namespaces' first process: loopback up, the overlay and /proc, /dev, /run mounted,
// then it waits for its stdin to close (the test ending, or dying) and so takes all with it.
const HOLDER = `set -e
lower=$1 dir=$2
ip link set lo up
m=$dir/merged
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$m"
mount -t proc proc "$m/proc"
mount --bind /dev "$m/dev"
mount --bind /dev/pts "$m/dev/pts"
mount -t tmpfs -o mode=0755 tmpfs "$m/run"
echo ready
cat >/dev/null || true
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Run dirs of earlier test runs whose namespaces are gone (a killed test): removed. */
function removeStaleRuns(): void {
  if (!existsSync(RUNS)) return;
  for (const id of readdirSync(RUNS)) {
    const dir = path.join(RUNS, id);
    const pidFile = path.join(dir, 'pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
    if (!Number.isInteger(pid) || !alive(pid)) rmSync(dir, { recursive: true, force: true });
  }
}

/** The child that `unshare --fork` made: the PID 1 of the new namespaces. */
async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (kids.length > 0) return Number(kids[0]);
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`unshare (pid ${pid}) made no child`);
}

export async function startForeignRoot(lower: string): Promise<RunningRoot> {
  mkdirSync(RUNS, { recursive: true, mode: 0o700 });
  removeStaleRuns();
  const dir = path.join(RUNS, `${process.pid}-${Date.now()}`);
  for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(dir, d), { recursive: true });
  writeFileSync(path.join(dir, 'lower'), lower);
  const holder: ChildProcess = spawn('unshare', ['--mount', '--net', '--pid', '--fork', '--kill-child', '--propagation', 'private', 'bash', '-c', HOLDER, 'holder', lower, dir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  holder.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the namespaces did not come up:\n${out}`)), 30_000);
    holder.stdout!.on('data', () => {
      if (out.includes('ready\n')) {
        clearTimeout(t);
        resolve();
      }
    });
    holder.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`the namespaces' holder exited ${code}:\n${out}`));
    });
  });
  const pid = await childOf(holder.pid!);
  writeFileSync(path.join(dir, 'pid'), String(pid));
  const merged = path.join(dir, 'merged');
  const enter = ['nsenter', '-t', String(pid), '-m', '-n', '-p', '--'];
  return {
    pid,
    merged,
    view: (p) => `/proc/${pid}/root${merged}${p}`,
    exec: (argv, o = {}) => {
      const env = { PATH: ROOT_PATH, HOME: '/root', LANG: 'C.UTF-8', ...o.env };
      return run([...enter, 'chroot', merged, 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], { timeoutMs: o.timeoutMs ?? 600_000 });
    },
    onItsNetwork: (argv, o = {}) => run(['nsenter', '-t', String(pid), '-n', '--', ...argv], { timeoutMs: o.timeoutMs ?? 120_000 }),
    stop: async () => {
      holder.stdin!.end();
      holder.kill('SIGTERM');
      for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      // The mount namespace went with its last process: merged is an empty dir again.
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
