// Driving a program in a real terminal: tmux gives it a PTY of a chosen size, takes keys,
// and shows the screen as the admin would see it. Each session runs on its own tmux server
// (-L socket), so server options (escape-time, remain-on-exit) never touch anyone else's.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isRunning } from '../../src/host/proc.ts';
import path from 'node:path';
import { run, runOk } from '../../src/host/run.ts';
import { TEST_PREFIX } from './names.ts';

export interface TmuxOptions {
  /** argv of the program; it runs under a small sh in the pane, with the terminal as stdin/stdout/stderr. */
  cmd: string[];
  cols?: number;
  rows?: number;
  /** Overrides on top of the defaults (LANG=C.UTF-8, TERM=xterm-256color); undefined unsets. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Appends everything the program writes to the terminal (raw bytes, escapes included) to this file. */
  rawLog?: string;
  /** Part of the socket and session name; [a-z0-9-]. */
  label?: string;
}

export interface TmuxSession {
  readonly name: string;
  /** The program's own pid (the child of the pane's sh). */
  readonly pid: number;
  /** tmux key names: 'Enter', 'Escape', 'Up', 'Space', 'C-c', 'PageDown', … */
  send(...keys: string[]): Promise<void>;
  /** Literal text, as if typed (or pasted) in one go. */
  type(text: string): Promise<void>;
  /**
   * Bytes written to the program's terminal in ONE write, escapes and all: several keys
   * arriving in one read, as over a slow SSH link ('\u001b[B\r' is Down then Enter).
   */
  burst(bytes: string): Promise<void>;
  /** A paste, as a terminal pastes: inside ESC[200~ … ESC[201~ when the program asked for that. */
  paste(text: string): Promise<void>;
  /** The visible screen; join: glue lines the terminal wrapped; history: include scrollback. */
  screen(opts?: { join?: boolean; history?: boolean }): Promise<string>;
  /** Polls the screen every 50 ms until it shows `what`; fails with the last screen. */
  waitFor(what: string | RegExp | ((screen: string) => boolean), timeoutMs?: number, opts?: { join?: boolean; history?: boolean }): Promise<string>;
  /** The program's exit status once it has exited, else undefined (128+N when killed by signal N). */
  exitCode(): Promise<number | undefined>;
  /** Waits until the program exits and returns its status; fails with the last screen. */
  waitForExit(timeoutMs?: number): Promise<number>;
  /** Kills the session (and its server): the program gets SIGHUP, as when an SSH connection drops. */
  kill(): Promise<void>;
}

const POLL_MS = 50;
const DEFAULT_WAIT_MS = 15_000;

/** Sockets of this run that may still be alive; killAllTmux() ends them. */
const sockets = new Set<string>();
let counter = 0;

const NO_SSH = ['SSH_CONNECTION', 'SSH_CLIENT', 'SSH_TTY'];

/** Quotes one word for sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The environment a terminal program should see: no CI (Ink's CI mode prints only the last
 * frame; STYLE.md says delete it for a PTY child), no inherited locale or colour switches,
 * a UTF-8 locale and an xterm unless the test says otherwise.
 */
function envArgs(overrides: Record<string, string | undefined> = {}): string[] {
  // SSH_*: the wizard names the admin's own SSH session in its summary; a test run from an
  // SSH login must not hand its session to the program.
  const unset = ['CI', 'JW_TEST_CI', 'LC_ALL', 'LC_CTYPE', 'NO_COLOR', 'FORCE_COLOR', 'COLORTERM', 'TMUX', 'TMUX_PANE', ...NO_SSH];
  const values: Record<string, string | undefined> = { LANG: 'C.UTF-8', TERM: 'xterm-256color', ...overrides };
  const args = ['env'];
  for (const k of new Set([...unset, ...Object.keys(values)])) args.push('-u', k);
  for (const [k, v] of Object.entries(values)) if (v !== undefined) args.push(`${k}=${v}`);
  return args;
}

export async function startTmux(o: TmuxOptions): Promise<TmuxSession> {
  const label = o.label ?? 'tmux';
  if (!/^[a-z0-9-]+$/.test(label)) throw new Error(`startTmux: label ${JSON.stringify(label)} must be [a-z0-9-]`);
  const name = `${TEST_PREFIX}-${label}-${process.pid}-${++counter}`;
  const cols = o.cols ?? 80;
  const rows = o.rows ?? 24;
  const argv = [...envArgs(o.env), ...o.cmd];
  // The program runs under a small sh that records its exit status: tmux's own
  // #{pane_dead_status} is not reliable here (tmux 3.3a sometimes leaves the exited pane
  // process unreaped, so the status never arrives).
  const statusFile = path.join(tmpdir(), `${name}.status`);
  rmSync(statusFile, { force: true });
  const shell = `${o.cwd ? `cd ${shQuote(o.cwd)} && ` : ''}${argv.map(shQuote).join(' ')}; echo $? > ${shQuote(statusFile)}`;
  const tmux = (...args: string[]): string[] => ['tmux', '-L', name, ...args];

  sockets.add(name);
  // One command list, so the options and the pipe are in place before the program can
  // print: remain-on-exit keeps the last screen after the program exits, escape-time 0
  // stops tmux from merging Esc with the next key.
  // The server starts without the test's SSH session too: the program's ancestors (this
  // server) are where the wizard looks for the admin's session when its own env has none.
  await runOk([
    ...tmux('-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(cols), '-y', String(rows), shell),
    ';', 'set-option', '-g', 'remain-on-exit', 'on',
    ';', 'set-option', '-sg', 'escape-time', '0',
    ';', 'set-option', '-g', 'history-limit', '10000',
    ...(o.rawLog ? [';', 'pipe-pane', '-o', '-t', name, `cat >> ${shQuote(o.rawLog)}`] : []),
  ], { env: Object.fromEntries(NO_SSH.map((k) => [k, undefined])) });
  const shPid = Number((await runOk(tmux('display-message', '-p', '-t', name, '#{pane_pid}'))).stdout.trim());
  const pid = await childOf(shPid);

  const screen = async (opts: { join?: boolean; history?: boolean } = {}): Promise<string> => {
    const r = await run(tmux('capture-pane', '-p', '-t', name, ...(opts.join ? ['-J'] : []), ...(opts.history ? ['-S', '-'] : [])));
    if (r.exitCode !== 0) return `(no screen: ${r.stderr.trim()})`;
    return r.stdout.replace(/\n+$/, '\n');
  };
  const exitCode = async (): Promise<number | undefined> => {
    const text = existsSync(statusFile) ? readFileSync(statusFile, 'utf8') : '';
    return /^\d+\n$/.test(text) ? Number(text) : undefined; // the newline: sh finished writing
  };
  const matches = (s: string, what: string | RegExp | ((screen: string) => boolean)): boolean =>
    typeof what === 'string' ? s.includes(what) : what instanceof RegExp ? what.test(s) : what(s);

  return {
    name,
    pid,
    async send(...keys) {
      for (const k of keys) await runOk(tmux('send-keys', '-t', name, k));
    },
    async type(text) {
      await runOk(tmux('send-keys', '-t', name, '-l', text));
    },
    async burst(bytes) {
      // One send-keys command: tmux writes all of its keys to the pane at once.
      const hex = [...Buffer.from(bytes, 'utf8')].map((b) => b.toString(16).padStart(2, '0'));
      await runOk(tmux('send-keys', '-t', name, '-H', ...hex));
    },
    async paste(text) {
      // -p: bracketed, if the program switched bracketed paste on (tmux knows it from the output).
      await runOk(tmux('set-buffer', '-b', 'jwpaste', '--', text));
      await runOk(tmux('paste-buffer', '-p', '-d', '-b', 'jwpaste', '-t', name));
    },
    screen,
    async waitFor(what, timeoutMs = DEFAULT_WAIT_MS, opts = {}) {
      const deadline = Date.now() + timeoutMs;
      const wanted = typeof what === 'function' ? 'a condition' : String(what);
      for (;;) {
        // The status first: a screen captured after it is the program's last word.
        const code = await exitCode();
        const last = await screen(opts);
        if (matches(last, what)) return last;
        if (code !== undefined) {
          // A crash scrolls its first lines (the reason) off the screen: show the scrollback's tail.
          const tail = (await screen({ history: true })).trimEnd().split('\n').slice(-60).join('\n');
          throw new Error(`the program exited ${code} without showing ${wanted}; the end of its output:\n${tail}`);
        }
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${wanted}; the screen:\n${last}`);
        await sleep(POLL_MS);
      }
    },
    exitCode,
    async waitForExit(timeoutMs = DEFAULT_WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const code = await exitCode();
        if (code !== undefined) return code;
        if (Date.now() > deadline) throw new Error(`the program did not exit within ${timeoutMs} ms; the screen:\n${await screen()}`);
        await sleep(POLL_MS);
      }
    },
    async kill() {
      await killServer(name);
      rmSync(statusFile, { force: true });
    },
  };
}

/** Where tmux keeps the sockets of -L servers. */
function socketDir(): string {
  return path.join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`);
}

/** Kills one server and removes its socket file, which tmux leaves behind when killed. */
async function killServer(name: string): Promise<void> {
  await run(['tmux', '-L', name, 'kill-server']);
  rmSync(path.join(socketDir(), name), { force: true });
  sockets.delete(name);
}

/** Ends every tmux server this test run started, including ones a crashed test left. */
export async function killAllTmux(): Promise<void> {
  const names = new Set(sockets);
  const dir = socketDir();
  if (existsSync(dir)) for (const n of readdirSync(dir)) if (n.startsWith(`${TEST_PREFIX}-`)) names.add(n);
  for (const n of names) await killServer(n);
}

/** The pid of the only child of `parent` (the program its sh started), once it exists. */
export async function childOf(parent: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const n of readdirSync('/proc')) {
      if (!/^\d+$/.test(n)) continue;
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) return Number(n);
      } catch {
        // exited meanwhile
      }
    }
    if (Date.now() > deadline) throw new Error(`no child of process ${parent} after ${timeoutMs} ms`);
    await sleep(20);
  }
}


export async function waitForPidExit(pid: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still runs after ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { isRunning };
