// The append-only journal of the run in progress. Before a step runs, its intent (every
// action with its undo, and a backup of every file it will modify) is written and synced,
// so a kill -9 or a power cut can be undone later by `jailwizard rollback`.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Action } from './effects.ts';
import { at, copyOutAt, lstatAt, withParent } from './safe-fs.ts';

export interface Backup {
  path: string;
  /** Relative to the journal dir; absent when the path did not exist before. */
  file?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** A symlink's target, to put the link back. */
  link?: string;
}

export type JournalEntry =
  | { t: 'begin'; command: string; user: string; pid: number; at: string }
  | { t: 'intent'; n: number; title: string; actions: Action[]; backups: Backup[] }
  | { t: 'done'; n: number }
  | { t: 'undone'; n: number; manual: string[] }
  | { t: 'end'; outcome: 'committed' | 'rolled-back' | 'rollback-incomplete'; at: string };

export function journalDir(stateDir: string): string {
  return path.join(stateDir, 'journal');
}

function currentPath(stateDir: string): string {
  return path.join(journalDir(stateDir), 'current.jsonl');
}

export class Journal {
  private fd: number;
  private backupsMade = 0;

  private constructor(
    readonly stateDir: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens a new journal; the caller has checked that none is unfinished. */
  static begin(stateDir: string, command: string, user: string): Journal {
    const dir = journalDir(stateDir);
    mkdirSync(path.join(dir, 'backups'), { recursive: true, mode: 0o700 });
    const j = new Journal(stateDir, openSync(currentPath(stateDir), 'wx', 0o600));
    j.append({ t: 'begin', command, user, pid: process.pid, at: new Date().toISOString() });
    return j;
  }

  /** Re-opens an unfinished journal to finish its rollback. */
  static resume(stateDir: string): Journal {
    return new Journal(stateDir, openSync(currentPath(stateDir), 'a', 0o600));
  }

  append(e: JournalEntry): void {
    writeSync(this.fd, `${JSON.stringify(e)}\n`);
    fsyncSync(this.fd);
  }

  /**
   * Copies a file that an action will modify or delete into the journal, synced. It is read
   * through safe-fs: a link is saved as a link, never followed, and a FIFO is never opened.
   */
  backup(p: string): Backup {
    try {
      return withParent(p, (d, name) => {
        const st = lstatAt(d, name);
        if (!st) return { path: p };
        if (st.isSymbolicLink()) return { path: p, link: readlinkSync(at(d, name), 'utf8') };
        if (!st.isFile()) return { path: p, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
        const file = path.join('backups', String(this.backupsMade++));
        const copied = copyOutAt(d, name, path.join(journalDir(this.stateDir), file));
        return { path: p, file, mode: copied.mode & 0o7777, uid: copied.uid, gid: copied.gid };
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { path: p };
      throw e;
    }
  }

  backupFile(b: Backup): string | undefined {
    return b.file ? path.join(journalDir(this.stateDir), b.file) : undefined;
  }

  /** Closes the journal and moves it (and its backups) into history. */
  finish(outcome: 'committed' | 'rolled-back' | 'rollback-incomplete'): string {
    this.append({ t: 'end', outcome, at: new Date().toISOString() });
    closeSync(this.fd);
    const dir = journalDir(this.stateDir);
    const histDir = path.join(dir, 'history');
    mkdirSync(histDir, { recursive: true, mode: 0o700 });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
    const dest = path.join(histDir, `${name}.jsonl`);
    renameSync(currentPath(this.stateDir), dest);
    if (existsSync(path.join(dir, 'backups'))) renameSync(path.join(dir, 'backups'), path.join(histDir, `${name}-backups`));
    return dest;
  }
}

/** The unfinished journal, if any: its entries and whether the process that wrote it lives. */
export function readUnfinished(stateDir: string): { entries: JournalEntry[]; alive: boolean; pid: number } | undefined {
  const p = currentPath(stateDir);
  if (!existsSync(p)) return undefined;
  const entries: JournalEntry[] = [];
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A line torn by a power cut: everything before it is intact and enough to undo.
      break;
    }
  }
  const begin = entries.find((e) => e.t === 'begin') as Extract<JournalEntry, { t: 'begin' }> | undefined;
  const pid = begin?.pid ?? 0;
  let alive = false;
  if (pid > 0 && pid !== process.pid) {
    // A live pid only counts if it is still a jailwizard: pids are reused after a reboot.
    try {
      alive = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('jailwizard');
    } catch {
      alive = false;
    }
  }
  return { entries, alive, pid };
}
