// The append-only journal of the run in progress. Before a step runs, its intent (every
// action with its undo, and a backup of every file it will modify) is written and synced,
// so a kill -9 or a power cut can be undone later by `jailwizard rollback`.
//
// Once a run has committed or been rolled back, its backups have done their job and go;
// the small journal stays in history for the record, and history keeps only the newest
// runs (HISTORY_LIMITS). A run whose rollback was incomplete keeps its backups: the
// commands printed for the admin may need them.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
  readlinkSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Backup, JournalEntry } from '../model/journal.ts';

export type { Backup, JournalEntry };
import { duBytes } from '../host/disk-usage.ts';
import { checkJournal, journalOutcome } from '../host/state-check.ts';
import { at, copyOutAt, lstatAt, withParent } from '../host/safe-fs.ts';



export function journalDir(stateDir: string): string {
  return path.join(stateDir, 'journal');
}

function currentPath(stateDir: string): string {
  return path.join(journalDir(stateDir), 'current.jsonl');
}

export function historyDir(stateDir: string): string {
  return path.join(journalDir(stateDir), 'history');
}

/** Where a run keeps its own temporary files (the test key, the probes' payload); they go when the run ends. */
function scratchRoot(stateDir: string): string {
  return path.join(journalDir(stateDir), 'scratch');
}

/** How much history is kept: the newest runs, at most this many and this many bytes (the newest run always). */
export const HISTORY_LIMITS = { runs: 100, bytes: 50_000_000 };

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
    // Backups and scratch files of a run that finished long ago (or never wrote its end) are no one's now.
    for (const stale of ['backups', 'scratch']) rmSync(path.join(dir, stale), { recursive: true, force: true });
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

  /**
   * A new root-only dir for this run's own temporary files (the test key, the probes'
   * payload and downloads), under the journal: whatever way the run ends, even by
   * `jailwizard rollback` after a kill -9, finish() removes it.
   */
  scratchDir(): string {
    const root = scratchRoot(this.stateDir);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    const dir = path.join(root, `${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /**
   * Closes the journal and moves it into history. Its backups go, unless the rollback was
   * incomplete (then they stay beside it, for the manual commands); history is pruned.
   */
  finish(outcome: 'committed' | 'rolled-back' | 'rollback-incomplete'): string {
    this.append({ t: 'end', outcome, at: new Date().toISOString() });
    closeSync(this.fd);
    const dir = journalDir(this.stateDir);
    const histDir = historyDir(this.stateDir);
    mkdirSync(histDir, { recursive: true, mode: 0o700 });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
    const dest = path.join(histDir, `${name}.jsonl`);
    renameSync(currentPath(this.stateDir), dest);
    const backups = path.join(dir, 'backups');
    if (outcome === 'rollback-incomplete' && existsSync(backups)) renameSync(backups, path.join(histDir, `${name}-backups`));
    else rmSync(backups, { recursive: true, force: true });
    rmSync(scratchRoot(this.stateDir), { recursive: true, force: true });
    pruneHistory(this.stateDir);
    return dest;
  }
}

// ---------------------------------------------------------------- history

interface HistoryRun {
  name: string;
  journal?: string;
  backups?: string;
}

/** The runs in history, oldest first (names start with the ISO time the run ended). */
function historyRuns(stateDir: string): HistoryRun[] {
  const dir = historyDir(stateDir);
  if (!existsSync(dir)) return [];
  const runs = new Map<string, HistoryRun>();
  for (const n of readdirSync(dir)) {
    const m = /^(.+?)(\.jsonl|-backups)$/.exec(n);
    if (!m) continue; // not jailwizard's naming: not touched
    const run = runs.get(m[1]!) ?? { name: m[1]! };
    if (m[2] === '.jsonl') run.journal = path.join(dir, n);
    else run.backups = path.join(dir, n);
    runs.set(run.name, run);
  }
  return [...runs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** How a run in history ended, from the last line of its journal. */
function outcomeOf(journal: string): string | undefined {
  try {
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
    return journalOutcome(lines[lines.length - 1]!);
  } catch {
    return undefined;
  }
}

function runBytes(r: HistoryRun): number {
  return (r.journal ? duBytes(r.journal) : 0) + (r.backups ? duBytes(r.backups) : 0);
}

/**
 * Keeps history small: backups of runs that committed or were rolled back go (older
 * jailwizards kept them), and so do backups without a journal; then the newest runs are
 * kept within HISTORY_LIMITS, and the older ones are removed.
 */
export function pruneHistory(stateDir: string, limits = HISTORY_LIMITS): void {
  const runs = historyRuns(stateDir);
  for (const r of runs) {
    if (!r.backups) continue;
    const outcome = r.journal ? outcomeOf(r.journal) : undefined;
    if (!r.journal || outcome === 'committed' || outcome === 'rolled-back') {
      rmSync(r.backups, { recursive: true, force: true });
      r.backups = undefined;
    }
  }
  // The newest runs, without gaps: once one does not fit, it and every older run go.
  let count = 0;
  let bytes = 0;
  let full = false;
  for (const r of runs.filter((x) => x.journal).reverse()) {
    const size = runBytes(r);
    full ||= count > 0 && (count >= limits.runs || bytes + size > limits.bytes);
    if (!full) {
      count++;
      bytes += size;
      continue;
    }
    for (const p of [r.journal, r.backups]) if (p) rmSync(p, { recursive: true, force: true });
  }
}

/** What history holds now, for `list`. */
export function historyUsage(stateDir: string): { dir: string; runs: number; bytes: number; limits: typeof HISTORY_LIMITS } {
  const runs = historyRuns(stateDir).filter((r) => r.journal);
  return { dir: historyDir(stateDir), runs: runs.length, bytes: runs.reduce((n, r) => n + runBytes(r), 0), limits: HISTORY_LIMITS };
}

/** The unfinished journal, if any: its entries and whether the process that wrote it lives. */
export function readUnfinished(stateDir: string): { entries: JournalEntry[]; alive: boolean; pid: number } | undefined {
  const p = currentPath(stateDir);
  if (!existsSync(p)) return undefined;
  // Checked line by line; a last line torn by a power cut is left out (state-check.ts).
  const entries = checkJournal<JournalEntry>(readFileSync(p, 'utf8'), p);
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
