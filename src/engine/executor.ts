// The one executor. It interprets effects, journals each step before running it, emits
// progress events, and rolls back in reverse on a failure or a signal. A rollback never
// throws: what it cannot undo comes back as manual commands.
import { closeSync, constants, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Action, type Effect, type Plan, type Precondition, type Step, previewEffect } from '../model/effects.ts';
import { Journal, readUnfinished, type Backup, type JournalEntry } from './journal.ts';
import { run, runOk } from '../host/run.ts';
import { lastLine, parseEffective, readPid, runSshdCheck } from '../host/sshd-config.ts';
import { parseShow } from '../host/sshd-service.ts';
import { Interrupted, StepFailed, UserError, explain, signalExitCode } from '../model/errors.ts';
import { bugReport, isBug } from '../host/crash.ts';
import { INTERRUPT_SIGNALS, noteInterrupt } from '../host/interrupts.ts';
import { isMountPoint } from '../host/mountinfo.ts';
import { sha256 } from '../host/hash.ts';
import { octal } from '../model/mode.ts';
import { livePid } from '../host/proc.ts';
import { removeProbeFiles } from '../host/probe-files.ts';
import { waitForNewListener, listenerInodes, readBanner } from '../host/listen.ts';
import {
  UnsafePathError,
  changedNothing,
  type DirHandle,
  appendAt,
  copyFileAt,
  listAt,
  externalPath,
  lstatAt,
  mkdirAt,
  openAt,
  renameAt,
  rmdirAt,
  safeLstat,
  safeReadFile,
  safeSetOwnerMode,
  symlinkAt,
  unappendAt,
  unlinkAt,
  withDir,
  withEntry,
  withParent,
  withParentAsync,
  writeFileAt,
} from '../host/safe-fs.ts';

export type ExecEvent =
  | { type: 'step-start'; index: number; total: number; step: Step }
  | { type: 'progress'; index: number; done: number; total: number; bytes: number; totalBytes: number }
  | { type: 'step-done'; index: number }
  | { type: 'step-failed'; index: number; error: string }
  | { type: 'rollback-start'; reason: string }
  | { type: 'rollback-step'; title: string; ok: boolean; manual: string[] }
  | { type: 'rollback-done'; manual: string[] };

export type Listener = (e: ExecEvent) => void;

export { Interrupted, StepFailed, explain, signalExitCode };

/**
 * Test-only switches: fail at a step (1-based), so every rollback path is exercised; or
 * throw there as a bug in jailwizard's code would (its report names src/engine/executor.ts).
 */
function testHook(name: 'JAILWIZARD_FAIL_AT' | 'JAILWIZARD_BUG_AT'): number | undefined {
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
  /** Dirs a `rmdir --ignore-fail-on-non-empty` left in place: something else moved in after the preview. */
  readonly kept: string[] = [];

  private constructor(
    readonly stateDir: string,
    private emit: Listener,
    journal: Journal,
  ) {
    this.journal = journal;
  }

  /** A root-only dir for this run's own temporary files; it goes when the run ends, whichever way. */
  scratchDir(): string {
    return this.journal.scratchDir();
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

  /** Runs `body` reporting only what went wrong (a failed step, manual commands): bookkeeping such as the test key is not news. */
  async quietly<T>(body: () => Promise<T>): Promise<T> {
    const outer = this.emit;
    return this.withListener((e) => {
      if (e.type === 'step-failed' || (e.type === 'rollback-done' && e.manual.length > 0)) outer(e);
    }, body);
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

  /**
   * The interruption behind a failure, if any: the error itself, or a signal this run
   * received meanwhile (whatever failed then failed because of it).
   */
  interruption(e: unknown): Interrupted | undefined {
    if (e instanceof Interrupted) return e;
    if (e instanceof StepFailed && e.cause instanceof Interrupted) return e.cause;
    return this.aborted ? new Interrupted(this.aborted) : undefined;
  }

  /**
   * Ctrl+C, SIGTERM and SIGHUP (the admin's SSH dropped) stop the run between actions and
   * roll back; a child they killed is reported as the interruption by run().
   */
  private trapSignals(): void {
    for (const sig of INTERRUPT_SIGNALS) {
      const h = (): void => {
        noteInterrupt(sig);
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
    const bugAt = testHook('JAILWIZARD_BUG_AT');
    for (const [k, step] of plan.steps.entries()) {
      this.checkAborted();
      const n = ++this.stepCount;
      this.emit({ type: 'step-start', index: k + 1, total: plan.steps.length, step });
      await this.pauseAt(String(n), `before step ${n}`);
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
          if (bugAt === n && i === step.actions.length - 1) throw new TypeError(`forced bug at step ${n} (JAILWIZARD_BUG_AT)`);
          await checkPrecondition(a.pre);
          done.started = i + 1;
          await perform(a.effect);
          if (a.effect.kind === 'rmdir' && a.effect.ifEmpty && lexists(a.effect.path)) this.kept.push(a.effect.path);
          if (a.effect.kind === 'copy') bytes += a.effect.size;
          this.emit({ type: 'progress', index: k + 1, done: i + 1, total: step.actions.length, bytes, totalBytes });
        }
      } catch (e) {
        // A refusal or failure that came before the action changed anything needs no undo
        // (the undo would meet the same planted link and leave the rollback incomplete).
        if (done.started > 0 && refusedBeforeChange(step.actions[done.started - 1]!.effect, e)) done.started -= 1;
        const interrupted = this.interruption(e);
        if (interrupted) throw interrupted;
        // A bug's message alone would hide where it is: a few src/ frames and the trace file.
        const cause = isBug(e) ? new Error(bugReport(e)) : e;
        this.emit({ type: 'step-failed', index: k + 1, error: explain(cause) });
        throw new StepFailed(step.title, cause);
      }
      this.journal.append({ t: 'done', n });
      this.emit({ type: 'step-done', index: k + 1 });
    }
  }

  /**
   * Test-only switch: JAILWIZARD_PAUSE_AT names a moment (`N`: before step N; `client:K`:
   * while the connection test's K-th client runs) where the run waits, so a test can act
   * there without racing it: SIGUSR2 goes on, SIGINT/SIGTERM/SIGHUP roll back, kill -9 kills,
   * and after 60 s it goes on by itself.
   */
  async pauseAt(moment: string, what: string): Promise<void> {
    if (process.env.JAILWIZARD_PAUSE_AT !== moment) return;
    let go = (): void => {};
    const resumed = new Promise<void>((resolve) => (go = resolve));
    // Listening before saying so: a test signals as soon as it reads the line.
    process.on('SIGUSR2', go);
    this.wake = go;
    const t = setTimeout(go, 60_000);
    process.stderr.write(`jailwizard: paused ${what} (JAILWIZARD_PAUSE_AT)\n`);
    await resumed;
    clearTimeout(t);
    process.off('SIGUSR2', go);
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
      // When it cannot tell (a second signal killed getent), it undoes: undos are safe to retry.
      if (a.undoIf && !(await holds(a.undoIf).catch(() => true))) continue;
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
      withParent(u.path, (d, name) => {
        const now = lstatAt(d, name);
        if (b?.link !== undefined) {
          if (now) removeAt(d, name, now.isDirectory());
          symlinkAt(d, name, b.link);
        } else if (file && lexists(file)) {
          writeFileAt(d, name, readFileSync(file), b!.mode ?? 0o644, b!.uid ?? 0, b!.gid ?? 0);
        } else if (!b || (b.mode === undefined && b.link === undefined)) {
          // It did not exist before the action: remove what the action made, if it got that far.
          if (now) removeAt(d, name, now.isDirectory());
        }
      });
      return;
    }
    case 'rmdir':
      withParent(u.path, (d, name) => {
        if (lstatAt(d, name)) removeDirAt(d, name, u.ifEmpty);
      });
      return;
    case 'mkdir':
      // Undoing an rmdir that never ran (the step failed before it): nothing to do.
      if (safeLstat(u.path)?.isDirectory()) return;
      await perform(u);
      return;
    case 'unlink':
      withParent(u.path, (d, name) => {
        if (lstatAt(d, name)) unlinkAt(d, name);
      });
      return;
    case 'remove-probe-files':
      await removeProbeFiles(u);
      return;
    default:
      await perform(u);
  }
}

/** What an undo removes: an empty dir or anything else, the name itself (never what a link points to). */
function removeAt(d: Parameters<typeof unlinkAt>[0], name: string, isDir: boolean): void {
  if (isDir) rmdirAt(d, name);
  else unlinkAt(d, name);
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
    return safeLstat(p) !== undefined;
  } catch {
    return true; // something is there, behind a link jailwizard will not follow
  }
}

/** The largest file a precondition hashes or a config edit reads (a copied library is a few MB). */
const MAX_HASHED = 512 * 1024 * 1024;

async function holds(pre: Precondition): Promise<boolean> {
  switch (pre.kind) {
    case 'none':
      return true;
    case 'absent':
      return safeLstat(pre.path) === undefined;
    case 'dir':
      return safeLstat(pre.path)?.isDirectory() ?? false;
    case 'sha256': {
      const body = safeReadFile(pre.path, MAX_HASHED);
      return body !== undefined && sha256(body) === pre.sha256;
    }
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
  withParent(p, (d, name) => {
    const st = lstatAt(d, name);
    writeFileAt(d, name, content, st ? st.mode & 0o7777 : 0o644, st?.uid ?? 0, st?.gid ?? 0);
  });
}

/** A config file's text, read safely; '' when absent. */
function readText(p: string): string | undefined {
  return safeReadFile(p, MAX_HASHED)?.toString('utf8');
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

/** rmdir; with ifEmpty, a dir that holds something by now stays (what is in it is not jailwizard's). */
function removeDirAt(d: DirHandle, name: string, ifEmpty: boolean | undefined): void {
  try {
    rmdirAt(d, name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (ifEmpty && (code === 'ENOTEMPTY' || code === 'EEXIST')) return;
    throw err;
  }
}

/**
 * True when safe-fs says `err` came before `effect` made its one change (a refusal, a walk
 * that met a swapped link, an entry already gone): the effects that change one thing
 * through an fd or an *at call made after the walk.
 */
function refusedBeforeChange(effect: Effect, err: unknown): boolean {
  if (!changedNothing(err)) return false;
  if (effect.kind === 'run') return ['chown', 'chmod', 'setfacl'].includes(effect.argv[0] ?? '');
  return ['symlink', 'mknod', 'unlink', 'rmdir'].includes(effect.kind);
}

/**
 * `chown U:G PATH`, `chmod MODE PATH` and `setfacl -m SPEC PATH`, as the planners write them,
 * are done through an fd of PATH (safe-fs), never by following a link a user could plant.
 */
async function performOwnerMode(argv: readonly string[]): Promise<boolean> {
  const [cmd, a, b, c, ...rest] = argv;
  if (rest.length > 0) return false;
  if (cmd === 'chown' && c === undefined && a && b && /^\d+:\d+$/.test(a)) {
    const [uid, gid] = a.split(':').map(Number) as [number, number];
    safeSetOwnerMode(b, { uid, gid });
    return true;
  }
  if (cmd === 'chmod' && c === undefined && a && b && /^[0-7]{3,4}$/.test(a)) {
    safeSetOwnerMode(b, { mode: parseInt(a, 8) });
    return true;
  }
  if (cmd === 'setfacl' && a === '-m' && b && c) {
    const fd = withEntry(c, (d, name) => openAt(d, name, constants.O_RDONLY, 'dir').fd);
    try {
      await runOk(['setfacl', '-m', b, `/proc/${process.pid}/fd/${fd}`]);
    } finally {
      closeSync(fd);
    }
    return true;
  }
  return false;
}

/** Makes the missing dirs of `p` (root's, 0700: the state dir's removed/), each through its parent's fd. */
function ensureDirs(p: string): void {
  const missing: string[] = [];
  let cur = p;
  while (safeLstat(cur) === undefined) {
    missing.unshift(path.basename(cur));
    cur = path.dirname(cur);
  }
  for (const name of missing) {
    withDir(cur, (d) => mkdirAt(d, name, 0o700, 0, 0));
    cur = path.join(cur, name);
  }
}

export async function perform(e: Effect): Promise<void> {
  switch (e.kind) {
    case 'mkdir':
      withParent(e.path, (d, name) => mkdirAt(d, name, e.mode, e.uid, e.gid));
      return;
    case 'rmdir':
      withParent(e.path, (d, name) => removeDirAt(d, name, e.ifEmpty));
      return;
    case 'copy':
      withParent(e.path, (d, name) => copyFileAt(d, name, e.from, e.mode, e.uid, e.gid));
      return;
    case 'write':
      // Written beside and renamed, so sshd never reads a half-written file.
      withParent(e.path, (d, name) => writeFileAt(d, name, e.content, e.mode, e.uid, e.gid));
      return;
    case 'symlink':
      withParent(e.path, (d, name) => symlinkAt(d, name, e.target));
      return;
    case 'mknod':
      await withParentAsync(e.path, (d, name) => runOk(['mknod', '-m', octal(e.mode), externalPath(d, name), 'c', String(e.major), String(e.minor)]));
      return;
    case 'unlink':
      // Already gone (a daemon removed its own socket) is what was wanted.
      withParent(e.path, (d, name) => {
        if (lstatAt(d, name)) unlinkAt(d, name);
      });
      return;
    case 'restore':
    case 'remove-probe-files':
      throw new Error(`${e.kind} is only an undo`);
    case 'probe-files':
      return; // the connection test's clients make them; this only journals where
    case 'move':
      ensureDirs(path.dirname(e.to));
      try {
        withParent(e.from, (from, fromName) => withParent(e.to, (to, toName) => renameAt(from, fromName, to, toName)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await runOk(['mv', e.from, e.to]);
      }
      return;
    case 'quarantine':
      ensureDirs(e.to);
      withDir(e.dir, (d) =>
        withDir(e.to, (q) => {
          if (q.uid !== 0 || q.mode & 0o077) throw new UnsafePathError(q.path, 'a quarantine must be root\'s alone (mode 0700)');
          for (const name of listAt(d)) {
            if (lstatAt(d, name)?.uid !== e.uid) continue;
            renameAt(d, name, q, name);
            // The name may have changed hands between the lstat and the rename: what is not theirs goes back.
            const moved = lstatAt(q, name);
            if (moved && moved.uid !== e.uid && !lstatAt(d, name)) renameAt(q, name, d, name);
          }
        }),
      );
      return;
    case 'unquarantine':
      if (!safeLstat(e.from)) return;
      withDir(e.from, (q) =>
        withDir(e.dir, (d) => {
          for (const name of listAt(q)) if (!lstatAt(d, name)) renameAt(q, name, d, name);
        }),
      );
      withParent(e.from, (d, name) => {
        try {
          rmdirAt(d, name);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err;
        }
      });
      return;
    case 'append':
      withParent(e.path, (d, name) => appendAt(d, name, e.text, { mode: e.mode, uid: e.uid, gid: e.gid }));
      return;
    case 'unappend':
      withParent(e.path, (d, name) => {
        if (!unappendAt(d, name, e.text, e.removeIfEmpty)) throw new Error(`${e.path} no longer ends with what jailwizard appended; remove that line by hand`);
      });
      return;
    case 'run':
      if (await performOwnerMode(e.argv)) return;
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
      const text = readText(e.path) ?? '';
      replaceFile(e.path, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${e.line}\n`);
      return;
    }
    case 'line-remove': {
      const text = readText(e.path);
      if (text === undefined) return;
      const lines = text.split('\n');
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
