// A private sshd for tests: the stock Debian config, on 127.0.0.1 at a free port, with
// its own host key, pidfile, log and drop-in directory. The host's /etc/ssh and port 22
// are never touched.
//
// PAM: the stock config (UsePAM yes) is kept. Key login was checked for real in the
// Debian 12 container (PID 1 is not systemd): pam_loginuid is `required` in
// /etc/pam.d/sshd and /proc/self/loginuid is writable here, so sessions open fine and
// nothing needs changing. Keeping PAM also keeps the production behaviour under test.
import { mkdtemp, mkdir, readFile, writeFile, rm, chmod } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../../src/host/run.ts';
import { isRunning } from '../../src/host/proc.ts';

export interface PrivateSshd {
  port: number;
  configPath: string;
  /** Files named *.conf here are included where the stock config includes sshd_config.d. */
  dropInDir: string;
  pidFile: string;
  logFile: string;
  dir: string;
  /** Validates the config, sends SIGHUP and waits until sshd listens again. */
  reload(): Promise<void>;
  /** Waits until every SIGHUP sent so far (by anyone) has been handled and the port accepts. */
  waitReady(): Promise<void>;
  /** Kills sshd, waits for it to exit, removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const STOCK_CONFIG = '/etc/ssh/sshd_config';
const INCLUDE_LINE = /^Include\s+\/etc\/ssh\/sshd_config\.d\/\*\.conf\s*$/m;

export async function startPrivateSshd(): Promise<PrivateSshd> {
  const dir = await mkdtemp(join(tmpdir(), 'jw-sshd-'));
  try {
    return await start(dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function start(dir: string): Promise<PrivateSshd> {
  const port = await freePort();
  const configPath = join(dir, 'sshd_config');
  const dropInDir = join(dir, 'sshd_config.d');
  const pidFile = join(dir, 'sshd.pid');
  const logFile = join(dir, 'sshd.log');
  const hostKey = join(dir, 'host_ed25519');

  await mkdir(dropInDir, { mode: 0o755 });
  await chmod(dropInDir, 0o755); // mkdir's mode is masked by the umask
  await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'jailwizard-test', '-f', hostKey]);

  const stock = await readFile(STOCK_CONFIG, 'utf8');
  if (!INCLUDE_LINE.test(stock)) throw new Error(`${STOCK_CONFIG} has no "Include /etc/ssh/sshd_config.d/*.conf" line`);
  // Our settings go first: sshd keeps the first value it reads for a keyword.
  const head = [`Port ${port}`, 'ListenAddress 127.0.0.1', `PidFile ${pidFile}`, `HostKey ${hostKey}`, ''].join('\n');
  await writeFile(configPath, head + stock.replace(INCLUDE_LINE, `Include ${dropInDir}/*.conf`), { mode: 0o644 });

  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation dir
  await runOk([SSHD, '-t', '-f', configPath]);
  // sshd daemonizes: this returns once the daemon is forked and the pidfile written.
  await runOk([SSHD, '-f', configPath, '-E', logFile], { timeoutMs: 30_000 });
  try {
    await waitForPort(port);
  } catch (e) {
    if (existsSync(pidFile)) process.kill(readPid(pidFile), 'SIGTERM'); // don't leave a daemon behind
    throw e;
  }

  let stopped = false;
  const sshd: PrivateSshd = {
    port,
    configPath,
    dropInDir,
    pidFile,
    logFile,
    dir,
    async reload() {
      await runOk([SSHD, '-t', '-f', configPath]);
      const before = countLines(logFile, LISTENING);
      process.kill(readPid(pidFile), 'SIGHUP');
      await waitUntil(() => countLines(logFile, LISTENING) > before, 'sshd to listen again after SIGHUP', logFile);
      await waitForPort(port);
    },
    async waitReady() {
      // Give a just-sent SIGHUP time to be logged before we count.
      await sleep(100);
      await waitUntil(
        () => countLines(logFile, LISTENING) === countLines(logFile, /Received SIGHUP; restarting/) + 1,
        'sshd to finish its SIGHUP restart',
        logFile,
      );
      await waitForPort(port);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (existsSync(pidFile)) {
        const pid = readPid(pidFile);
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await waitUntil(() => !isRunning(pid), `sshd ${pid} to exit`);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

const LISTENING = /Server listening on /;

function countLines(file: string, re: RegExp): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((l) => re.test(l)).length;
}

function readPid(pidFile: string): number {
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`bad pid in ${pidFile}`);
  return pid;
}


async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Waits until 127.0.0.1:port accepts TCP. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Polls cond; on timeout the error carries the tail of the sshd log, if given. */
async function waitUntil(cond: () => boolean, what: string, logFile?: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      const log = logFile && existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
      throw new Error(`timed out waiting for ${what}${log ? `\n${log}` : ''}`);
    }
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The sshd log, for failure messages. */
export async function sshdLog(s: PrivateSshd): Promise<string> {
  return readFile(s.logFile, 'utf8').catch(() => '');
}

/** ssh client options for tests: key only, no prompts, no known_hosts, quiet. */
export function sshClientOptions(identityFile: string): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    '-i', identityFile,
  ];
}

/** A fresh ed25519 client key pair in `dir`: the private key path and the public key line. */
export async function makeClientKey(dir: string, name = 'id_ed25519'): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = join(dir, name);
  await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'jailwizard-test', '-f', privateKey]);
  return { privateKey, publicKey: (await readFile(`${privateKey}.pub`, 'utf8')).trim() };
}
