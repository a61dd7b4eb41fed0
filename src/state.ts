// jailwizard's own state: the journal of the run in progress and one record per jail it
// manages. Everything lives under the state dir (/var/lib/jailwizard, or --state-dir).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Action } from './effects.ts';
import { UserError } from './errors.ts';
import type { Answers, Tool } from './types.ts';
import type { GateGrant } from './gate.ts';

export const DEFAULT_STATE_DIR = '/var/lib/jailwizard';

export function jailsDir(stateDir: string): string {
  return path.join(stateDir, 'jails');
}

export function recordPath(stateDir: string, user: string): string {
  return path.join(jailsDir(stateDir), `${user}.json`);
}

/** A file copied into the jail: where from, its content, and the host file's size and mtime
 * when copied (so `update` can tell "nothing changed" without hashing). */
export interface ManifestEntry {
  path: string;
  from: string;
  sha256: string;
  size?: number;
  mtimeMs?: number;
}

/** What jailwizard knows about a jail it made: enough to test, update and remove it. */
export interface JailRecord {
  version: 1;
  user: string;
  jail: string;
  tools: Tool[];
  answers: Answers;
  /** jailwizard created the account (remove deletes it) rather than adopting it. */
  createdUser: boolean;
  uid: number;
  gid: number;
  sshdConfig: string;
  dropIn: string;
  /** The Include line jailwizard added to a config that had none. */
  addedInclude?: string;
  /** Every action applied, in order: remove undoes them in reverse. */
  actions: Action[];
  /** Files copied from the host: the manifest for check and update. */
  manifest: ManifestEntry[];
  /** With answers.log: the host file where the jail's internal-sftp lines land (the syslog's auth log). */
  logFile?: string;
  /** With answers.log: the syslog daemon's config the socket was added to (update uses it again). */
  syslogConfig?: string;
  /** A user without bash: what the gate (ForceCommand) lets them run, as written in the drop-in. */
  gate?: GateGrant;
  appliedAt: string;
}

/** A record jailwizard cannot read is the admin's to look at, not a crash. */
function parseRecord(p: string): JailRecord {
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as JailRecord;
  } catch (e) {
    throw new UserError(`jailwizard's record ${p} is unreadable: ${(e as Error).message}`, 'restore it from a backup, or move it away if that jail is gone');
  }
}

export function readRecord(stateDir: string, user: string): JailRecord | undefined {
  const p = recordPath(stateDir, user);
  if (!existsSync(p)) return undefined;
  return parseRecord(p);
}

export function listRecords(stateDir: string): JailRecord[] {
  const dir = jailsDir(stateDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseRecord(path.join(dir, f)));
}

/** The managed jail at this path, if any (a jail path jailwizard made is not "someone else's dir"); optionally another user's. */
export function recordForJail(stateDir: string, jail: string, notUser?: string): JailRecord | undefined {
  return listRecords(stateDir).find((r) => r.jail === jail && r.user !== notUser);
}

/** The other users' records of a shared jail. */
export function sharersOf(stateDir: string, rec: { jail: string; user: string }): JailRecord[] {
  return listRecords(stateDir).filter((r) => r.jail === rec.jail && r.user !== rec.user && r.answers.shared);
}
