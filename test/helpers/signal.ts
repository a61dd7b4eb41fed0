// Signals as a dropped SSH session or a terminal sends them: to jailwizard's whole process
// group, while a child of a chosen kind runs. The child is held by something the test owns
// (a FIFO it reads, a lock it waits for), so the signal lands while it runs: no timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { BIN, type TestEnv } from './jw.ts';
import { runOk } from '../../src/host/run.ts';

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Resolves once jailwizard says it paused before step `pauseAt`. */
  paused: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  stdout(): string;
  stderr(): string;
}

/** jailwizard in a process group of its own (as under a login shell), optionally paused before a step. */
export function startGroup(env: TestEnv, args: string[], o: { pauseAt?: number } = {}): Started {
  const child = spawn(process.execPath, [BIN, ...args, ...env.common], {
    env: { ...process.env, ...(o.pauseAt ? { JAILWIZARD_PAUSE_AT: String(o.pauseAt) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const paused = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (o.pauseAt && stderr.includes(`paused before step ${o.pauseAt}`)) resolve();
    });
    void exited.then(() => reject(new Error(`jailwizard exited before pausing:\n${stdout}\n${stderr}`)));
  });
  paused.catch(() => {});
  return { child, pid: child.pid!, paused, exited, output: () => `--- stdout\n${stdout}\n--- stderr\n${stderr}`, stdout: () => stdout, stderr: () => stderr };
}

/** Goes on after JAILWIZARD_PAUSE_AT. */
export function resume(s: Started): void {
  process.kill(s.pid, 'SIGUSR2');
}

/** SIGINT/SIGTERM/SIGHUP to the whole group, as a terminal or a dropped session does. */
export function signalGroup(s: Started, sig: NodeJS.Signals): void {
  process.kill(-s.pid, sig);
}

export interface Proc {
  pid: number;
  comm: string;
  argv: string[];
}

/** Every live descendant of pid, from /proc. */
export function descendants(pid: number): Proc[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: Proc[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      try {
        out.push({ pid: c, comm: readFileSync(`/proc/${c}/comm`, 'utf8').trim(), argv: readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').filter(Boolean) });
      } catch {
        continue;
      }
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Polls a condition (never a fixed sleep); fails with `what` and the output after timeoutMs. */
export async function waitFor<T>(probe: () => T | undefined, what: string, s?: Started, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${s ? `\n${s.output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function mkfifo(p: string): Promise<void> {
  await runOk(['mkfifo', '-m', '0644', p]);
}

/**
 * Once a reader has opened the FIFO, opens its write end and keeps it open without writing:
 * the reader then blocks in read() until the returned fd is closed. undefined: no reader yet.
 */
export function holdFifoReader(p: string): number | undefined {
  try {
    return openSync(p, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENXIO') return undefined;
    throw e;
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * Holds the lock that useradd, userdel and passwd take (glibc's lckpwdf: a POSIX write lock on
 * /etc/.pwd.lock) until release(). useradd then waits for it (up to 15 s, lckpwdf's own limit).
 */
export async function holdPasswdLock(): Promise<{ release(): Promise<void> }> {
  const lock = '/etc/.pwd.lock';
  const existed = existsSync(lock);
  const py = spawn('/usr/bin/python3', ['-c', `import fcntl,sys\nf=open(${JSON.stringify(lock)},'a')\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\nsys.stdin.read()`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const gone = new Promise<void>((resolve) => py.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    py.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('locked')) resolve();
    });
    void gone.then(() => reject(new Error('python3 could not take the passwd lock')));
  });
  return {
    async release() {
      py.stdin!.end();
      await gone;
      // Leave /etc as it was: lckpwdf makes the file itself, we only borrowed it.
      if (!existed) await runOk(['rm', '-f', lock]);
    },
  };
}
