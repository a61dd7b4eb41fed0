// A private rsyslogd for tests: its own config, drop-in dir, auth log, pid file and work
// directory in a temp dir. It never takes over the host's /dev/log (SysSock.Use="off"),
// so the only sockets it listens on are the ones a drop-in adds.
//
// It is started the way a distro starts one, daemonized, with absolute paths and no -n:
// jailwizard restarts an rsyslogd by killing the pid in its pid file and running the same
// argv again (read from /proc/PID/cmdline), so the argv must work from any directory.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../../src/host/run.ts';
import { isRunning, livePid } from '../../src/host/proc.ts';

const readPid = (pidFile: string): number | undefined => livePid(pidFile, 'rsyslogd');

export const RSYSLOGD = '/usr/sbin/rsyslogd';

export interface PrivateRsyslog {
  /** The main config: pass it as jailwizard's --syslog-config. */
  configPath: string;
  /** Its IncludeConfig dir: files named *.conf here are read at start. */
  dropInDir: string;
  /** Where the auth and authpriv facilities land. */
  logFile: string;
  pidFile: string;
  dir: string;
  /** The pid of the rsyslogd running now (it may have been restarted by someone else). */
  pid(): number | undefined;
  /** Kills the rsyslogd named in the pid file now and starts it again with the same argv. */
  restart(): Promise<void>;
  /** Kills whatever rsyslogd the pid file names now, waits for it, removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startPrivateRsyslog(): Promise<PrivateRsyslog> {
  const dir = await mkdtemp(join(tmpdir(), 'jw-rsyslog-'));
  const configPath = join(dir, 'rsyslog.conf');
  const dropInDir = join(dir, 'rsyslog.d');
  const logFile = join(dir, 'auth.log');
  const pidFile = join(dir, 'rsyslogd.pid');
  const workDir = join(dir, 'work');
  const argv = [RSYSLOGD, '-f', configPath, '-i', pidFile];
  try {
    await mkdir(dropInDir, { mode: 0o755 });
    await mkdir(workDir, { mode: 0o700 });
    await writeFile(
      configPath,
      [
        '# jailwizard tests: a private rsyslogd that never touches the host\'s /dev/log.',
        `global(workDirectory="${workDir}")`,
        'module(load="imuxsock" SysSock.Use="off")',
        `$IncludeConfig ${dropInDir}/*.conf`,
        // The same shape as Debian's line, which jailwizard parses for the record's logFile.
        `auth,authpriv.*\t\t\t${logFile}`,
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    await runOk([RSYSLOGD, '-N1', '-f', configPath], { timeoutMs: 30_000 });
    await launch(argv, pidFile);
  } catch (e) {
    killFromPidFile(pidFile);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }

  let stopped = false;
  return {
    configPath,
    dropInDir,
    logFile,
    pidFile,
    dir,
    pid: () => readPid(pidFile),
    async restart() {
      const pid = killFromPidFile(pidFile);
      if (pid !== undefined) await waitUntil(() => !isRunning(pid), `rsyslogd ${pid} to exit`);
      await launch(argv, pidFile);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const pid = killFromPidFile(pidFile);
      if (pid !== undefined) await waitUntil(() => !isRunning(pid), `rsyslogd ${pid} to exit`).catch((e) => console.error(e));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs the daemonizing argv and waits until the pid file names a live rsyslogd. */
async function launch(argv: string[], pidFile: string): Promise<void> {
  await runOk(argv, { timeoutMs: 30_000 });
  await waitUntil(() => {
    const pid = readPid(pidFile);
    return pid !== undefined && isRunning(pid);
  }, `rsyslogd to write ${pidFile}`);
}

/** SIGTERMs the pid the file names now (if it is an rsyslogd); returns that pid. */
function killFromPidFile(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  if (pid === undefined) return undefined;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return undefined; // already gone
  }
  return pid;
}



/** Polls until a line of `file` contains `needle`; returns that line, or undefined after the timeout. */
export async function waitForLogLine(file: string, needle: string, timeoutMs = 5_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = existsSync(file) ? readFileSync(file, 'utf8').split('\n').find((l) => l.includes(needle)) : undefined;
    if (line !== undefined || Date.now() > deadline) return line;
    await sleep(100);
  }
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
