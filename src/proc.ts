// Reading processes from /proc: which pid a PidFile names, and whether it still runs.
import { readFileSync } from 'node:fs';

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
