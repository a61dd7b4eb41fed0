// Running the real jailwizard bundle against the private sshd, and the fixtures the
// end-to-end tests share.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { expect } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type RunResult } from '../../src/host/run.ts';
import { makeClientKey, sshClientOptions, startPrivateSshd, type PrivateSshd } from './sshd.ts';
import { TEST_PREFIX, cleanupTestUsers, removeTestJailRoot, testJailRoot } from './names.ts';
import { snapshotHost, type HostSnapshot } from './host-snapshot.ts';
import type { Answers } from '../../src/model/types.ts';

export const BIN = path.resolve('dist/jailwizard.mjs');

export interface TestEnv {
  sshd: PrivateSshd;
  stateDir: string;
  jailRoot: string;
  work: string;
  key: { privateKey: string; publicKey: string };
  /** --sshd-config and --state-dir for the private sshd. */
  common: string[];
}

export async function setupEnv(): Promise<TestEnv> {
  const sshd = await startPrivateSshd();
  const work = mkdtempSync(path.join(tmpdir(), 'jw-e2e-'));
  const stateDir = path.join(work, 'state');
  // jailwizard makes its own state dirs on first use; make them now so snapshots compare
  // the host, not jailwizard's bookkeeping.
  mkdirSync(path.join(stateDir, 'jails'), { recursive: true, mode: 0o700 });
  const key = await makeClientKey(work);
  return { sshd, stateDir, jailRoot: testJailRoot(), work, key, common: ['--sshd-config', sshd.configPath, '--state-dir', stateDir] };
}

/** Cleans up even after failures: users by test prefix, keys, jails, sshd, temp dirs. */
export async function teardownEnv(env: TestEnv | undefined): Promise<void> {
  await cleanupTestUsers().catch((e) => console.error(e));
  removeTestKeys();
  if (!env) return;
  await env.sshd.stop().catch((e) => console.error(e));
  removeTestJailRoot();
  rmSync(env.work, { recursive: true, force: true });
}

function removeTestKeys(): void {
  const dir = '/etc/ssh/authorized_keys';
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) if (n.startsWith(TEST_PREFIX)) rmSync(path.join(dir, n), { force: true });
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}

/** Removes the jails of these users that a failed test left behind (newest first); reports, never throws. */
export async function removeLeftJails(env: TestEnv, users: readonly string[]): Promise<void> {
  for (const user of [...users].reverse()) {
    if (!existsSync(path.join(env.stateDir, 'jails', `${user}.json`))) continue;
    const r = await jw(env, ['remove', user, '--yes']).catch((e: unknown) => e);
    if (!(r && typeof r === 'object' && 'exitCode' in r && r.exitCode === 0)) console.error(`cleanup: remove ${user}:`, r);
  }
}

export function jw(env: TestEnv, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return run([process.execPath, BIN, ...args, ...env.common], { env: opts.env, timeoutMs: opts.timeoutMs ?? 300_000 });
}

/** Writes an answers file for a test user and returns its path. */
export function answersFile(env: TestEnv, a: Partial<Answers> & { user: string }, name = `${a.user}.json`): string {
  const p = path.join(env.work, name);
  const full = { tools: ['sftp'], jail: path.join(env.jailRoot, a.user), authorizedKeys: [env.key.publicKey], ...a };
  writeFileSync(p, JSON.stringify(full, null, 2));
  return p;
}

/** Everything apply may touch, for the byte-identical checks. */
export function snapshot(env: TestEnv): Promise<HostSnapshot> {
  return snapshotHost({ files: [env.sshd.configPath], dirs: [env.sshd.dropInDir, env.jailRoot, path.join(env.stateDir, 'jails')] });
}

export function hasUnfinishedJournal(env: TestEnv): boolean {
  return existsSync(path.join(env.stateDir, 'journal', 'current.jsonl'));
}

/** Output of a command for assertion messages. */
export function out(r: RunResult): string {
  return `exit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

export interface ClientOptions {
  /** Source address to connect from (ssh -b / BindAddress), e.g. 127.0.0.2. */
  from?: string;
  /** More ssh options before the destination, e.g. ['-o', 'SendEnv=LANG']. */
  args?: string[];
  /** Environment of the client (undefined unsets a variable). */
  env?: Record<string, string | undefined>;
}

/** `ssh user@127.0.0.1 [command]` on the private sshd with the test key, never prompting. */
export function sshAs(env: TestEnv, user: string, command: string | undefined, o: ClientOptions = {}): Promise<RunResult> {
  const bind = o.from ? ['-b', o.from] : [];
  return run(['ssh', ...bind, ...(o.args ?? []), ...sshClientOptions(env.key.privateKey), '-p', String(env.sshd.port), `${user}@127.0.0.1`, ...(command === undefined ? [] : [command])], {
    timeoutMs: 30_000,
    env: o.env,
  });
}

let batches = 0;

/** One `sftp -b` batch as user on the private sshd with the test key (exit 1 when a command fails, 255 when the login does). */
export function sftpAs(env: TestEnv, user: string, commands: string[], o: ClientOptions = {}): Promise<RunResult> {
  const batch = path.join(env.work, `sftp-batch-${process.pid}-${++batches}`);
  writeFileSync(batch, commands.map((c) => `${c}\n`).join(''));
  const bind = o.from ? ['-o', `BindAddress=${o.from}`] : [];
  return run(['sftp', ...bind, ...(o.args ?? []), ...sshClientOptions(env.key.privateKey), '-P', String(env.sshd.port), '-b', batch, `${user}@127.0.0.1`], {
    timeoutMs: 30_000,
    env: o.env,
  });
}

export interface PausedRun {
  child: ChildProcess;
  /** Resolves once the run says it is paused at the moment asked for. */
  paused: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: () => string }>;
}

/**
 * Starts the bundle with JAILWIZARD_PAUSE_AT=moment (`N`: before step N; `client:K`: while
 * the connection test's K-th client runs). Once `paused` resolves the run waits: SIGUSR2
 * goes on, SIGTERM rolls back, SIGKILL kills it.
 */
export function startPaused(env: TestEnv, args: string[], moment: string): PausedRun {
  const child = spawn(process.execPath, [BIN, ...args, ...env.common], {
    env: { ...process.env, JAILWIZARD_PAUSE_AT: moment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  const output = (): string => `--- stdout\n${stdout}\n--- stderr\n${stderr}`;
  const paused = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (/jailwizard: paused .*\(JAILWIZARD_PAUSE_AT\)/.test(stderr)) resolve();
    });
    child.on('exit', () => reject(new Error(`jailwizard ${args.join(' ')} exited before pausing at ${moment}:\n${output()}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: () => string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, output })),
  );
  return { child, paused, exited };
}

/** The mount point's own options (field 6 of /proc/self/mountinfo; the last mount there wins), or undefined when nothing is mounted there. */
export function mountOptions(where: string): string[] | undefined {
  let found: string[] | undefined;
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[4] === where) found = f[5]!.split(',');
  }
  return found;
}

/** Bad input: exit 2, one `jailwizard: …` line naming what is wrong, one hint line, nothing on stdout. */
export function expectRefused(r: RunResult, says: string[]): void {
  expect(r.exitCode, out(r)).toBe(2);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines, out(r)).toHaveLength(2);
  expect(lines[0], out(r)).toMatch(/^jailwizard: \S/);
  expect(lines[1], out(r)).toMatch(/^ {2}hint: \S/);
  for (const s of says) expect(lines[0], out(r)).toContain(s);
  expect(r.stdout, out(r)).toBe('');
}

/**
 * For afterAll: removes the users a test file applied (newest first) that still have a record,
 * then unmounts what a failed test left under the jail root (teardown must never rm -rf
 * through a mount into host data) and drops its fstab lines.
 */
export async function removeApplied(env: TestEnv, users: readonly string[], fstab = '/etc/fstab'): Promise<void> {
  await removeLeftJails(env, users);
  await unmountLeftovers(env, fstab);
}

async function unmountLeftovers(env: TestEnv, fstab: string): Promise<void> {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
  for (const m of mounts.filter((x) => x.startsWith(`${env.jailRoot}/`)).reverse()) await run(['umount', m]);
  if (existsSync(fstab)) {
    const now = readFileSync(fstab, 'utf8');
    if (now.includes(env.jailRoot)) writeFileSync(fstab, now.split('\n').filter((l) => !l.includes(env.jailRoot)).join('\n'));
  }
}
