// The journal's lines, as written before each change and read back by rollback (the engine
// writes them; the state readers check them).
import type { Action } from './effects.ts';

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
