// How the connection test runs the real clients (ssh, sftp, scp, rsync, and git over ssh):
// over one multiplexed SSH connection. A control master logs in once with the test's key,
// and every later session rides on it (`-o ControlPath=…`), so a probe costs a channel, not
// a key exchange and an authentication. The master's socket lives in the probes' own
// root-only dir under the journal's scratch dir, and the master's argv names that dir, so a
// rollback after a kill -9 stops it like any other leftover client (probe-files.ts) and the
// scratch dir, socket included, goes with the run.
//
// Some sessions must not ride on the master; ownConnection() says which, and why.
import { existsSync, readFileSync } from 'node:fs';
import { onInterrupt } from './interrupts.ts';
import { isRunning, pidsNaming } from './proc.ts';
import { run } from './run.ts';

export interface SshTarget {
  user: string;
  host: string;
  port: number;
  /** The private key that is authorized for the user; a path without whitespace. */
  identityFile: string;
  knownHostsFile?: string;
}

/** The master's name inside the probes' dir. */
const SOCKET_NAME = 'mux';
/**
 * sun_path holds 108 bytes with its NUL, and ssh first binds PATH.<16 random characters>
 * before renaming it to PATH: a longer path gets no master, and every client connects alone.
 */
const MAX_SOCKET_PATH = 90;
/** A master nobody closes (its run killed with -9 and never rolled back) ends this long after its last client. */
const PERSIST_S = 30;
const START_TIMEOUT_MS = 30_000;
/** How long close() waits for the master to exit after `-O exit` before it signals it. */
const EXIT_WAIT_MS = 3_000;
/** What the master's argv carries and no client's does: how clientPids() tells them apart. */
const MASTER_MARK = 'ControlMaster=yes';

/**
 * A session that needs a connection of its own (and a login of its own), never the master's:
 * - `-b ADDR`: allowFrom's refusal is a login from another source address, which sshd's
 *   Match … Address block must refuse at authentication; over the master it would be a
 *   session of a connection that was already let in from 127.0.0.1.
 * - no command: a login without a command (the gate must refuse a shell), and `-W`: port
 *   forwarding must be refused. Both are what a user's own fresh connection asks for, and
 *   over a master a refused forward reads "Session open refused by peer" instead of sshd's
 *   "administratively prohibited", which is how the probe tells a refusal from a failure.
 * Everything else (commands, sftp, scp, rsync, git) is a session like any other: sshd applied
 * the user's Match block (ChrootDirectory, ForceCommand, DisableForwarding…) to the master's
 * connection at its authentication, and every session on it runs under those settings.
 */
export function ownConnection(args: readonly string[], command: string | undefined): boolean {
  return command === undefined || args.includes('-b') || args.includes('-W');
}

/** ssh expands %-tokens in ControlPath: a literal % is written %%. */
function controlPathOption(socket: string): string {
  return `ControlPath=${socket.replace(/%/g, '%%')}`;
}

export class SshClients {
  /** The master's socket, or undefined when this dir cannot hold one (too long, or rsync could not pass it on). */
  readonly socket: string | undefined;
  private master: 'none' | 'up' | 'failed' = 'none';
  /** Stops watching for interrupts (see open()). */
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly t: SshTarget,
    /** A root-only dir of this run's own (the probes' dir under the journal's scratch dir). */
    dir: string,
  ) {
    const socket = `${dir}/${SOCKET_NAME}`;
    // rsync splits -e on whitespace and reads quotes: the socket path goes there too.
    this.socket = Buffer.byteLength(socket) <= MAX_SOCKET_PATH && !/[\s'"\\]/.test(socket) ? socket : undefined;
  }

  /** True once the master runs and the clients use it. */
  get multiplexed(): boolean {
    return this.master === 'up';
  }

  /** Options of every client, before the destination. `own`: a connection of its own, never the master's. */
  options(own = false): string[] {
    // ControlMaster=no always: no client becomes a master of its own (root's ~/.ssh/config
    // may say `ControlMaster auto`), and ControlPath=none keeps a config's path out too.
    const mux = this.master === 'up' && !own && this.socket ? controlPathOption(this.socket) : 'ControlPath=none';
    return ['-o', 'ControlMaster=no', '-o', mux, ...this.loginOptions()];
  }

  /** How every connection logs in: the key only, never a prompt, quiet. */
  private loginOptions(): string[] {
    const known = this.t.knownHostsFile
      ? ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${this.t.knownHostsFile}`]
      : ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
    return [
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      ...known,
      '-o', 'ConnectTimeout=5',
      '-o', 'LogLevel=ERROR',
      '-i', this.t.identityFile,
    ];
  }

  /** `user@host`, with IPv6 literals bracketed for scp/sftp/rsync remote specs. */
  remote(path?: string): string {
    const host = this.t.host.includes(':') ? `[${this.t.host}]` : this.t.host;
    return path === undefined ? `${this.t.user}@${host}` : `${this.t.user}@${host}:${path}`;
  }

  /** `ssh ARGS… user@host [COMMAND]`, over the master unless ownConnection() says otherwise. */
  sshArgv(args: readonly string[], command?: string): string[] {
    const own = ownConnection(args, command);
    return ['ssh', ...args, ...this.options(own), '-p', String(this.t.port), `${this.t.user}@${this.t.host}`, ...(command === undefined ? [] : [command])];
  }

  /** `sftp -b BATCH user@host`. */
  sftpArgv(batch: string): string[] {
    return ['sftp', ...this.options(), '-P', String(this.t.port), '-b', batch, this.remote()];
  }

  /** `rsync -e 'ssh …'`: rsync splits -e itself (no shell), so fixed options and paths without spaces only. */
  rsyncArgv(): string[] {
    const words = ['ssh', ...this.options(), '-p', String(this.t.port)];
    const bad = words.find((w) => /[\s'"\\]/.test(w));
    if (bad) throw new Error(`rsync cannot pass ${JSON.stringify(bad)} on to ssh (whitespace or quotes)`);
    return ['rsync', '-e', words.join(' ')];
  }

  /**
   * Starts the master once: it logs in with the key, then stays in the background (no
   * command, no terminal) until close(). False when it could not start; then every client
   * connects on its own, exactly as without a master, and reports its own failure.
   */
  async open(): Promise<boolean> {
    if (this.master !== 'none') return this.master === 'up';
    this.master = 'failed';
    if (!this.socket) return false;
    const r = await run(
      [
        'ssh', '-N',
        '-o', MASTER_MARK,
        '-o', controlPathOption(this.socket),
        '-o', `ControlPersist=${PERSIST_S}`,
        ...this.loginOptions(),
        '-p', String(this.t.port),
        `${this.t.user}@${this.t.host}`,
      ],
      { timeoutMs: START_TIMEOUT_MS },
    );
    // With ControlPersist the first process exits once the master runs in the background.
    if (r.exitCode === 0 && existsSync(this.socket)) this.master = 'up';
    else await this.stopLeftovers();
    // The master runs in a session of its own, so Ctrl+C, SIGTERM or SIGHUP to our group does
    // not reach it; and it holds the pipes of a client the signal killed, so that client's
    // run() would wait for it forever. An interrupt ends it at once.
    if (this.master === 'up') this.unwatch = onInterrupt(() => this.signalMasters());
    return this.master === 'up';
  }

  /** Closes the master (`-O exit`) and waits until it is gone; a master that lingers is signalled. Never throws. */
  async close(): Promise<void> {
    this.unwatch?.();
    if (!this.socket) return;
    const was = this.master;
    this.master = 'failed'; // no client uses it from here on
    if (was === 'up' && existsSync(this.socket)) {
      await run(['ssh', '-o', controlPathOption(this.socket), '-o', 'LogLevel=ERROR', '-O', 'exit', '-p', String(this.t.port), `${this.t.user}@${this.t.host}`], { timeoutMs: 10_000 }).catch(() => undefined);
    }
    await this.stopLeftovers();
  }

  /** SIGTERM to our master (synchronous: called from a signal's handler). */
  private signalMasters(): void {
    for (const pid of pidsNaming(controlPathOption(this.socket!)).filter((p) => isMaster(p) === true)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
    }
  }

  /** Every process whose argv names our socket is ours (a master, or a client of it): wait for them, then signal them. */
  private async stopLeftovers(): Promise<void> {
    const mine = (): number[] => pidsNaming(controlPathOption(this.socket!));
    for (const end = Date.now() + EXIT_WAIT_MS; mine().length > 0 && Date.now() < end; ) await sleep(10);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const left = mine();
      if (left.length === 0) return;
      for (const pid of left) {
        try {
          process.kill(pid, signal);
        } catch {
          // gone meanwhile
        }
      }
      for (const end = Date.now() + EXIT_WAIT_MS; left.some(isRunning) && Date.now() < end; ) await sleep(10);
    }
  }
}

/** The processes whose argv names `dir` that are clients, not a control master (which runs for the whole test). */
export function clientPids(dir: string): number[] {
  return pidsNaming(dir).filter((pid) => isMaster(pid) === false);
}

/** The control masters among the processes whose argv names `dir`. */
export function masterPids(dir: string): number[] {
  return pidsNaming(dir).filter((pid) => isMaster(pid) === true);
}

/** Whether a process is a control master of ours; undefined once it is gone. */
function isMaster(pid: number): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(MASTER_MARK);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
