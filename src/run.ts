// Every external command goes through here: an argv array, never a shell string.
import { ExternalError } from './errors.ts';

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

/** Runs argv and reports the outcome; never throws for a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  // Loaded on first use: commands that spawn nothing (update with nothing to do) skip it.
  const { execa } = await loadExeca();
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

type Execa = typeof import('execa');

/** The bundle's start-up guard keeps execa as a part of its own (scripts/build.mjs). */
function loadExeca(): Promise<Execa> {
  const fromGuard = (globalThis as { __jailwizardExeca?: () => Promise<Execa> }).__jailwizardExeca;
  return fromGuard ? fromGuard() : import('execa');
}
