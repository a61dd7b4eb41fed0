// Every external command goes through here: an argv array, never a shell string.
// Here, too, a child that an interruption killed becomes that interruption (see interrupts.ts).
import { ExternalError, Interrupted } from '../model/errors.ts';
import { interruptCount, isInterruptSignal, lastInterrupt } from './interrupts.ts';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/**
 * Runs argv and reports the outcome; never throws for a non-zero exit. It throws
 * Interrupted when the child was killed by SIGINT, SIGTERM or SIGHUP (not by our own
 * timeout), or failed while jailwizard itself was interrupted: the terminal or a dropped
 * SSH session signals the whole process group, and a child that catches the signal (ssh,
 * rsync) exits with a code of its own. Callers never mistake that for the child's answer.
 */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const interruptsBefore = interruptCount();
  // Loaded on first use: commands that spawn nothing (update with nothing to do) skip it.
  const { execa } = await import('execa');
  const r = await execa(file, args, {
    reject: false,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    input: opts.input,
    timeout: opts.timeoutMs,
    env: opts.env,
    extendEnv: true,
    cwd: opts.cwd,
    stripFinalNewline: false,
  });
  if (r.failed && !r.timedOut) {
    if (isInterruptSignal(r.signal)) throw new Interrupted(r.signal);
    // The group's signal reaches us too; let its handler run before asking.
    await new Promise((resolve) => setImmediate(resolve));
    const ours = lastInterrupt();
    if (ours && interruptCount() > interruptsBefore) throw new Interrupted(ours);
  }
  return {
    exitCode: typeof r.exitCode === 'number' ? r.exitCode : r.timedOut ? 124 : 1,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? '') + (r.failed && r.exitCode === undefined ? String(r.message ?? '') : ''),
    timedOut: Boolean(r.timedOut),
  };
}

/** Runs argv and throws an ExternalError naming the command when it fails. */
export async function runOk(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, opts);
  if (r.exitCode !== 0) throw new ExternalError(argv, r.stderr || r.stdout, r.exitCode);
  return r;
}
