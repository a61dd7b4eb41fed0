// Reading processes from /proc: which pid a PidFile names, whether it still runs, and which
// processes a rollback must wait for.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** True while the process exists and is not a zombie (a PID 1 that does not reap leaves those). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * The running process a PidFile names, if it is `name` (comm, at most 15 characters): a stale
 * PidFile (after a crash or reboot) may name another process by now.
 */
export function livePid(pidFile: string, name: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1) return undefined;
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== name.slice(0, 15)) return undefined;
    return isRunning(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pids in /proc, ours left out. */
function otherPids(): number[] {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

/** Live processes whose command line mentions `text` (a path only our own children were given). */
export function pidsNaming(text: string): number[] {
  return otherPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && isRunning(pid);
    } catch {
      return false;
    }
  });
}

/** Live processes of `uid` whose root dir is `root`: sessions chrooted there. */
export function pidsChrootedIn(root: string, uid: number): number[] {
  return otherPids().filter((pid) => {
    try {
      const uidLine = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
      if (Number(uidLine?.split(/\s+/)[1]) !== uid) return false;
      return readlinkSync(`/proc/${pid}/root`) === root && isRunning(pid);
    } catch {
      return false;
    }
  });
}

/**
 * The systemd service a process runs in, from its cgroup (v2 `0::`, or v1's `name=systemd`
 * hierarchy), e.g. rsyslog.service; undefined outside a service.
 */
export function serviceOf(pid: number): string | undefined {
  try {
    return serviceFromCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return undefined; // gone
  }
}

/** The service named by the text of /proc/PID/cgroup, if any. */
export function serviceFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^(?:0:|\d+:name=systemd):(.*)$/.exec(line);
    const unit = m?.[1]!.split('/').filter(Boolean).pop();
    if (unit?.endsWith('.service')) return unit;
  }
  return undefined;
}
