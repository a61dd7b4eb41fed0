// The one executor. It interprets effects, journals each step before running it, emits
// progress events, and rolls back in reverse on a failure or a signal. A rollback never
// throws: what it cannot undo comes back as manual commands.
import { chmodSync, chownSync, copyFileSync, constants, existsSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { type Action, type Effect, type Plan, type Precondition, type Step, previewEffect } from './effects.ts';
import { Journal, readUnfinished, type Backup, type JournalEntry } from './journal.ts';
import { run, runOk } from './run.ts';
import { lastLine, parseEffective, readPid, runSshdCheck } from './sshd-config.ts';
import { UserError } from './errors.ts';
import { livePid } from './proc.ts';
import { waitForNewListener, listenerInodes, readBanner } from './listen.ts';
import { parseShow } from './sshd-service.ts';

export type ExecEvent =
  | { type: 'step-start'; index: number; total: number; step: Step }
  | { type: 'progress'; index: number; done: number; total: number; bytes: number; totalBytes: number }
  | { type: 'step-done'; index: number }
  | { type: 'step-failed'; index: number; error: string }
  | { type: 'rollback-start'; reason: string }
  | { type: 'rollback-step'; title: string; ok: boolean; manual: string[] }
  | { type: 'rollback-done'; manual: string[] };

export type Listener = (e: ExecEvent) => void;

export class StepFailed extends Error {
  constructor(
    readonly stepTitle: string,
    readonly cause: unknown,
  ) {
    super(`${stepTitle}: ${explain(cause)}`);
  }
}

export class Interrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** A failure in words a sysadmin can act on; ENOSPC in particular says the disk is full. */
export function explain(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { stderrTail?: string };
  if (err?.code === 'ENOSPC' || /No space left on device/i.test(String(err?.message))) {
    return `the disk is full (no space left on device${err.path ? ` writing ${err.path}` : ''})`;
  }
  if (err?.code && err.path) return `${err.code} on ${err.path}: ${err.message.replace(/^\w+: /, '')}`;
  return err instanceof Error ? err.message : String(e);
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGHUP: 129, SIGTERM: 143 };
export function signalExitCode(sig: NodeJS.Signals): number {
  return SIGNAL_EXIT[sig] ?? 1;
}

/** Test-only switches: fail or pause at a step (1-based), so every rollback path is exercised. */
function testHook(name: 'JAILWIZARD_FAIL_AT' | 'JAILWIZARD_PAUSE_AT'): number | undefined {
  const v = process.env[name];
  return v ? Number(v) : undefined;
}

export interface Done {
  step: Step;
  backups: Backup[];
  /** How many of the step's actions were started; only those are undone in this process. */
  started: number;
}

/**
 * One run of changes: begin() opens the journal, apply() runs plans, rollback() undoes
 * everything this run did, commit() closes the journal.
 */
export class Executor {
  private journal: Journal;
  private done: Done[] = [];
  private stepCount = 0;
  private aborted: NodeJS.Signals | undefined;
  private wake: (() => void) | undefined;
  private signalHandlers: [NodeJS.Signals, () => void][] = [];

  private constructor(
    readonly stateDir: string,
    private emit: Listener,
    journal: Journal,
  ) {
    this.journal = journal;
  }

  /** Runs `body` with another listener (e.g. quiet bookkeeping such as the test key). */
  async withListener<T>(listener: Listener, body: () => Promise<T>): Promise<T> {
    const saved = this.emit;
    this.emit = listener;
    try {
      return await body();
    } finally {
      this.emit = saved;
    }
  }

  /** Refuses (exit 2) while another run's journal is unfinished. */
  static begin(stateDir: string, command: string, user: string, emit: Listener = () => {}): Executor {
    assertNoUnfinished(stateDir);
    mkdirSync(path.join(stateDir, 'jails'), { recursive: true, mode: 0o700 });
    const ex = new Executor(stateDir, emit, Journal.begin(stateDir, command, user));
    ex.trapSignals();
    return ex;
  }

  get interruptedBy(): NodeJS.Signals | undefined {
    return this.aborted;
  }

  /** Ctrl+C, SIGTERM and SIGHUP (the admin's SSH dropped) stop the run between actions and roll back. */
  private trapSignals(): void {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const h = (): void => {
        this.aborted ??= sig;
        this.wake?.();
      };
      process.on(sig, h);
      this.signalHandlers.push([sig, h]);
    }
  }

  private releaseSignals(): void {
    for (const [sig, h] of this.signalHandlers) process.off(sig, h);
    this.signalHandlers = [];
  }

  private checkAborted(): void {
    if (this.aborted) throw new Interrupted(this.aborted);
  }

  /** Runs every step of the plan. On failure it throws StepFailed or Interrupted; the caller rolls back. */
  async apply(plan: Plan): Promise<void> {
    const failAt = testHook('JAILWIZARD_FAIL_AT');
    const pauseAt = testHook('JAILWIZARD_PAUSE_AT');
    for (const [k, step] of plan.steps.entries()) {
      this.checkAborted();
      const n = ++this.stepCount;
      this.emit({ type: 'step-start', index: k + 1, total: plan.steps.length, step });
      if (pauseAt === n) await this.pause(n);
      this.checkAborted();
      const backups = step.actions.flatMap((a) => (a.undo.some((u) => u.kind === 'restore') ? [this.journal.backup(restoreTarget(a))] : []));
      this.journal.append({ t: 'intent', n, title: step.title, actions: step.actions, backups });
      const done: Done = { step, backups, started: 0 };
      this.done.push(done);
      const totalBytes = step.actions.reduce((s, a) => s + (a.effect.kind === 'copy' ? a.effect.size : 0), 0);
      let bytes = 0;
      try {
        for (const [i, a] of step.actions.entries()) {
          this.checkAborted();
          if (failAt === n && i === step.actions.length - 1) throw new Error(`forced failure at step ${n} (JAILWIZARD_FAIL_AT)`);
          await checkPrecondition(a.pre);
          done.started = i + 1;
          await perform(a.effect);
          if (a.effect.kind === 'copy') bytes += a.effect.size;
          this.emit({ type: 'progress', index: k + 1, done: i + 1, total: step.actions.length, bytes, totalBytes });
        }
      } catch (e) {
        if (e instanceof Interrupted) throw e;
        this.emit({ type: 'step-failed', index: k + 1, error: explain(e) });
        throw new StepFailed(step.title, e);
      }
      this.journal.append({ t: 'done', n });
      this.emit({ type: 'step-done', index: k + 1 });
    }
  }

  private async pause(n: number): Promise<void> {
    process.stderr.write(`jailwizard: paused before step ${n} (JAILWIZARD_PAUSE_AT)\n`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 60_000);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** Undoes the last `count` steps this run applied (all by default); never throws. */
  async rollback(reason: string, count = this.done.length): Promise<string[]> {
    this.emit({ type: 'rollback-start', reason });
    const undoing = this.done.splice(this.done.length - count, count);
    const manual = await undoSteps(
      // Undo only the actions that started; a crash recovery from the journal undoes them all.
      undoing.map((d, i) => ({ n: this.stepCount - count + i + 1, step: { title: d.step.title, actions: d.step.actions.slice(0, d.started) }, backups: d.backups })),
      this.journal,
      this.emit,
    );
    this.emit({ type: 'rollback-done', manual });
    return manual;
  }

  /** Closes the journal: the run is complete (or fully rolled back). */
  finish(outcome: 'committed' | 'rolled-back' | 'rollback-incomplete'): void {
    this.journal.finish(outcome);
    this.releaseSignals();
  }
}

function restoreTarget(a: Action): string {
  const r = a.undo.find((u) => u.kind === 'restore') as Extract<Effect, { kind: 'restore' }>;
  return r.path;
}

export function assertNoUnfinished(stateDir: string): void {
  const u = readUnfinished(stateDir);
  if (!u) return;
  if (u.alive) throw new UserError(`another jailwizard (pid ${u.pid}) is running`, 'wait for it to finish');
  throw new UserError(
    'an earlier jailwizard run did not finish (killed or power cut); its changes are still on this host',
    'run `jailwizard rollback` to undo them first',
  );
}

// ---------------------------------------------------------------- undo

interface UndoStep {
  n: number;
  step: Pick<Step, 'title' | 'actions'>;
  backups: Backup[];
}

/** Undoes steps in reverse, each action in reverse; sshd reloads are deferred to the end. */
async function undoSteps(steps: UndoStep[], journal: Journal, emit: Listener): Promise<string[]> {
  const allManual: string[] = [];
  const deferred: Effect[] = [];
  for (const s of [...steps].reverse()) {
    const manual: string[] = [];
    for (const a of [...s.step.actions].reverse()) {
      if (a.undoIf && !(await holds(a.undoIf))) continue;
      for (const u of a.undo) {
        if (a.deferUndo) {
          deferred.push(u);
          continue;
        }
        try {
          await performUndo(u, s.backups, journal);
        } catch (e) {
          manual.push(`${previewEffect(u).join('\n')}    # failed: ${explain(e)}`);
        }
      }
    }
    journal.append({ t: 'undone', n: s.n, manual });
    emit({ type: 'rollback-step', title: s.step.title, ok: manual.length === 0, manual });
    allManual.push(...manual);
  }
  // One reload at the end, and only of a config sshd accepts.
  const reload = deferred.find((d) => d.kind === 'sshd-reload');
  if (reload && reload.kind === 'sshd-reload') {
    try {
      await perform(reload);
    } catch (e) {
      allManual.push(`${previewEffect(reload).join('\n')}    # failed: ${explain(e)}`);
    }
  }
  return allManual;
}

async function performUndo(u: Effect, backups: Backup[], journal: Journal): Promise<void> {
  switch (u.kind) {
    case 'restore': {
      const b = backups.find((x) => x.path === u.path);
      const file = b && journal.backupFile(b);
      if (b?.link !== undefined) {
        if (lexists(u.path)) rmSync(u.path, { force: true });
        symlinkSync(b.link, u.path);
      } else if (file && existsSync(file)) {
        const tmp = `${u.path}.jailwizard-restore`;
        copyFileSync(file, tmp);
        chownSync(tmp, b!.uid ?? 0, b!.gid ?? 0);
        chmodSync(tmp, b!.mode ?? 0o644);
        renameSync(tmp, u.path);
      } else if (!b || (b.mode === undefined && b.link === undefined)) {
        // It did not exist before the action: remove what the action made, if it got that far.
        rmSync(u.path, { force: true });
      }
      return;
    }
    case 'rmdir':
      if (existsSync(u.path)) rmdirSync(u.path);
      return;
    case 'mkdir':
      // Undoing an rmdir that never ran (the step failed before it): nothing to do.
      if (existsSync(u.path) && lstatSync(u.path).isDirectory()) return;
      await perform(u);
      return;
    case 'unlink':
      if (lexists(u.path)) unlinkSync(u.path);
      return;
    default:
      await perform(u);
  }
}

/** `jailwizard rollback`: finishes the undo of an unfinished journal. */
export async function rollbackUnfinished(stateDir: string, emit: Listener = () => {}): Promise<{ found: boolean; manual: string[] }> {
  const u = readUnfinished(stateDir);
  if (!u) return { found: false, manual: [] };
  if (u.alive) throw new UserError(`jailwizard pid ${u.pid} is still running`, 'let it finish, or stop it with Ctrl+C (it rolls back itself)');
  const undone = new Set(u.entries.flatMap((e) => (e.t === 'undone' ? [e.n] : [])));
  const steps: UndoStep[] = u.entries
    .filter((e): e is Extract<JournalEntry, { t: 'intent' }> => e.t === 'intent' && !undone.has(e.n))
    .map((e) => ({ n: e.n, step: { title: e.title, actions: e.actions }, backups: e.backups }));
  const journal = Journal.resume(stateDir);
  emit({ type: 'rollback-start', reason: 'an unfinished run' });
  const manual = await undoSteps(steps, journal, emit);
  emit({ type: 'rollback-done', manual });
  journal.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
  return { found: true, manual };
}

// ---------------------------------------------------------------- effects

export function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

async function holds(pre: Precondition): Promise<boolean> {
  switch (pre.kind) {
    case 'none':
      return true;
    case 'absent':
      return !lexists(pre.path);
    case 'dir':
      return existsSync(pre.path) && lstatSync(pre.path).isDirectory();
    case 'sha256':
      return existsSync(pre.path) && createHash('sha256').update(readFileSync(pre.path)).digest('hex') === pre.sha256;
    case 'user-absent':
    case 'user-present': {
      const exists = (await run(['getent', 'passwd', pre.user])).exitCode === 0;
      return pre.kind === 'user-present' ? exists : !exists;
    }
    case 'pid': {
      try {
        return Number(readFileSync(pre.pidFile, 'utf8').trim()) === pre.pid;
      } catch {
        return false;
      }
    }
  }
}

async function checkPrecondition(pre: Precondition): Promise<void> {
  if (await holds(pre)) return;
  const what =
    pre.kind === 'absent' ? `${pre.path} appeared` :
    pre.kind === 'sha256' ? `${pre.path} changed` :
    pre.kind === 'dir' ? `${pre.path} is gone` :
    pre.kind === 'pid' ? `sshd's pid in ${pre.pidFile} changed` :
    pre.kind === 'user-absent' ? `user ${pre.user} appeared` :
    pre.kind === 'user-present' ? `user ${pre.user} is gone` : 'the host changed';
  throw new Error(`the host changed since the plan was made: ${what}; run jailwizard again to see a fresh plan`);
}

/** Rewrites a file in place of the old one (same owner and mode), never half-written. */
function replaceFile(p: string, content: string): void {
  const st = existsSync(p) ? lstatSync(p) : undefined;
  const tmp = `${p}.jailwizard-new`;
  writeFileSync(tmp, content, { mode: 0o600 });
  setOwnerMode(tmp, st ? st.mode & 0o7777 : 0o644, st?.uid ?? 0, st?.gid ?? 0);
  renameSync(tmp, p);
}

/** The mount points in this mount namespace, from /proc/self/mountinfo (octal escapes decoded). */
export function mountPoints(): Set<string> {
  try {
    return new Set(
      readFileSync('/proc/self/mountinfo', 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))),
    );
  } catch {
    return new Set();
  }
}

export function isMountPoint(p: string): boolean {
  return mountPoints().has(p);
}


/** Stops the daemon named by its PidFile, waits for it to go, starts it with `argv`, waits for its new pid. */
async function restartDaemon(name: string, pidFile: string, argv: string[]): Promise<void> {
  const old = livePid(pidFile, name);
  if (old !== undefined) {
    process.kill(old, 'SIGTERM');
    for (let i = 0; i < 100 && livePid(pidFile, name) === old; i++) await new Promise((r) => setTimeout(r, 50));
    if (livePid(pidFile, name) === old) throw new Error(`${name} (pid ${old}) did not stop within 5 s`);
  }
  await runOk(argv, { timeoutMs: 30_000 });
  for (let i = 0; i < 100; i++) {
    const pid = livePid(pidFile, name);
    if (pid !== undefined && pid !== old) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not start again (no live pid in ${pidFile}); start it by hand: ${argv.join(' ')}`);
}

function setOwnerMode(p: string, mode: number, uid: number, gid: number): void {
  chownSync(p, uid, gid);
  chmodSync(p, mode); // after chown, which clears setuid bits; and beyond the umask
}

export async function perform(e: Effect): Promise<void> {
  switch (e.kind) {
    case 'mkdir':
      mkdirSync(e.path, { mode: 0o700 });
      setOwnerMode(e.path, e.mode, e.uid, e.gid);
      return;
    case 'rmdir':
      rmdirSync(e.path);
      return;
    case 'copy':
      copyFileSync(e.from, e.path, lexists(e.path) ? 0 : constants.COPYFILE_EXCL);
      setOwnerMode(e.path, e.mode, e.uid, e.gid);
      return;
    case 'write': {
      // Write beside and rename, so sshd never reads a half-written file.
      const tmp = `${e.path}.jailwizard-new`;
      writeFileSync(tmp, e.content, { mode: 0o600 });
      setOwnerMode(tmp, e.mode, e.uid, e.gid);
      renameSync(tmp, e.path);
      return;
    }
    case 'symlink':
      symlinkSync(e.target, e.path);
      return;
    case 'mknod':
      await runOk(['mknod', '-m', e.mode.toString(8).padStart(4, '0'), e.path, 'c', String(e.major), String(e.minor)]);
      return;
    case 'unlink':
      // Already gone (a daemon removed its own socket) is what was wanted.
      if (lexists(e.path)) unlinkSync(e.path);
      return;
    case 'restore':
      throw new Error('restore is only an undo');
    case 'move':
      mkdirSync(path.dirname(e.to), { recursive: true, mode: 0o700 });
      try {
        renameSync(e.from, e.to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await runOk(['mv', e.from, e.to]);
      }
      return;
    case 'run':
      await runOk(e.argv, { timeoutMs: 15 * 60_000 });
      return;
    case 'mount':
      await runOk(['mount', '--bind', e.source, e.target]);
      try {
        // A bind mount ignores flags on its first call: they only take with a remount.
        await runOk(['mount', '-o', ['remount', 'bind', ...e.options].join(','), e.target]);
      } catch (err) {
        await run(['umount', e.target]);
        throw err;
      }
      return;
    case 'umount':
      if (isMountPoint(e.target)) await runOk(['umount', e.target]);
      return;
    case 'line-add': {
      const text = existsSync(e.path) ? readFileSync(e.path, 'utf8') : '';
      replaceFile(e.path, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${e.line}\n`);
      return;
    }
    case 'line-remove': {
      if (!existsSync(e.path)) return;
      const lines = readFileSync(e.path, 'utf8').split('\n');
      const i = lines.lastIndexOf(e.line);
      if (i < 0) return;
      lines.splice(i, 1);
      replaceFile(e.path, lines.join('\n'));
      return;
    }
    case 'daemon-restart':
      await restartDaemon(e.name, e.pidFile, e.argv);
      return;
    case 'sshd-validate': {
      const r = await runSshdCheck(['-t', '-f', e.config]);
      if (r.exitCode !== 0) throw new Error(`sshd -t rejects the new config: ${lastLine(r.stderr)}`);
      return;
    }
    case 'sshd-expect': {
      const r = await runSshdCheck(['-T', '-f', e.config, '-C', `user=${e.user},host=localhost,addr=${e.addr}`]);
      if (r.exitCode !== 0) throw new Error(`sshd -T failed: ${lastLine(r.stderr)}`);
      const eff = parseEffective(r.stdout);
      const wrong = Object.entries(e.expect).filter(([k, v]) => eff.get(k)?.[0] !== v);
      if (wrong.length > 0) {
        throw new Error(`sshd's effective config for ${e.user} is not the jail's: ${wrong.map(([k, v]) => `${k} is ${eff.get(k)?.[0] ?? 'unset'}, expected ${v}`).join('; ')} (an earlier Match block may take precedence)`);
      }
      return;
    }
    case 'sshd-reload': {
      if (e.socket) {
        await applyToSocketActivated(e);
        return;
      }
      const before = listenerInodes(e.listen.map((l) => l.port));
      if (e.argv[0] === 'kill' && e.pidFile) {
        // `kill -HUP PID` as previewed, sent directly. The pid is read from PidFile again:
        // a rollback after a reboot must not signal whatever process now has the old pid.
        const pid = readPid(e.pidFile);
        if (pid === undefined) throw new Error(`sshd is not running (no live pid in ${e.pidFile}); start it to apply the change`);
        process.kill(pid, 'SIGHUP');
      } else await runOk(e.argv, { timeoutMs: 30_000 });
      await waitForNewListener(e.listen.map((l) => l.port), before);
      return;
    }
  }
}

/**
 * Socket activation: the stop of the service (KillMode=process: only the listener exits, the
 * sessions stay), then proof that the socket still answers as sshd. That first connection
 * starts sshd again, so it also proves the new config starts.
 */
async function applyToSocketActivated(e: Extract<Effect, { kind: 'sshd-reload' }>): Promise<void> {
  const unit = e.argv[e.argv.length - 1]!;
  const props = async (u: string): Promise<Record<string, string>> =>
    parseShow((await run(['systemctl', 'show', '-p', 'ActiveState', '-p', 'KillMode', '-p', 'Result', u], { timeoutMs: 10_000 })).stdout)[0] ?? {};
  const svc = await props(unit);
  if (svc.ActiveState === 'active' && svc.KillMode !== 'process') {
    throw new Error(`${unit} has KillMode=${svc.KillMode}: stopping it would end every SSH session; nothing was stopped`);
  }
  await runOk(e.argv, { timeoutMs: 60_000 });
  const sock = await props(e.socket!);
  if (sock.ActiveState !== 'active') throw new Error(`${e.socket} is ${sock.ActiveState ?? 'unknown'} after stopping ${unit}: sshd would not be reachable (systemctl start ${e.socket})`);
  const targets = e.socketListen?.length ? e.socketListen : e.listen;
  const errors: string[] = [];
  for (const t of targets) {
    try {
      await readBanner(t.host, t.port);
      errors.length = 0;
      break;
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(`after stopping ${unit}, ${e.socket} does not answer as sshd: ${errors.join('; ')}`);
  const after = await props(unit);
  if (after.ActiveState === 'failed') throw new Error(`${unit} failed to start with the new config (journalctl -u ${unit})`);
}
