// jailwizard's own state: the journal of the run in progress and one record per jail it
// manages. Everything lives under the state dir (/var/lib/jailwizard, or --state-dir).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Action } from '../model/effects.ts';
import { checkShape } from './answers.ts';
import { badStateFile, checkRecord, checkRetiredUids, checkUpdateOutcome } from './state-check.ts';
import type { Answers, Tool } from '../model/types.ts';
import type { GateGrant } from '../model/types.ts';
import { withRoles } from '../model/action-role.ts';

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

/** A record jailwizard cannot read or use is the admin's to look at, not a crash. */
function parseRecord(p: string): JailRecord {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw badStateFile("jailwizard's record", p, (e as Error).message, 'restore it from a backup, or move it out of the state dir if that jail is gone');
  }
  // A record of an older jailwizard has no roles on its actions: they are worked out here, once.
  return withRoles(checkRecord<JailRecord>(data, p, checkShape));
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

/**
 * uids of jail users that remove deleted while files of theirs may remain (a quarantine, a
 * bind source, a backup). jailwizard never gives one of them to a new user: that user would
 * own those files.
 */
export interface RetiredUid {
  uid: number;
  user: string;
  jail: string;
  removedAt: string;
}

export function retiredUidsPath(stateDir: string): string {
  return path.join(stateDir, 'retired-uids.json');
}

/** The retired uids and the file's text (remove rewrites it); a broken file is the admin's to look at. */
export function readRetiredUids(stateDir: string): { list: RetiredUid[]; text?: string } {
  const p = retiredUidsPath(stateDir);
  if (!existsSync(p)) return { list: [] };
  const text = readFileSync(p, 'utf8');
  return { list: checkRetiredUids<RetiredUid>(text, p), text };
}

/** Where a removed user's entries in the jail's shared dirs go: root's alone, beside the jail, so a rename (same filesystem) does it. */
export function quarantineDir(jail: string): string {
  return path.join(path.dirname(jail), `.${path.basename(jail)}.jailwizard-removed`);
}

/** How one jail's update ended: what `list` and `check` show, and the apt hook logs. */
export interface UpdateOutcome {
  user: string;
  at: string;
  /** 'apt-hook' when dpkg ran it (DPkg::Post-Invoke), else 'command'. */
  via: 'apt-hook' | 'command';
  result: 'unchanged' | 'updated' | 'declined' | 'failed';
  /** Why it failed, in one line. */
  reason?: string;
  summary?: string;
  exitCode: number;
}

function updatesDir(stateDir: string): string {
  return path.join(stateDir, 'updates');
}

/** The last update of a jail (by the hook or by hand), if any ran since it was applied. */
export function lastUpdate(stateDir: string, user: string): UpdateOutcome | undefined {
  const p = path.join(updatesDir(stateDir), `${user}.json`);
  if (!existsSync(p)) return undefined;
  return checkUpdateOutcome<UpdateOutcome>(readFileSync(p, 'utf8'), p);
}

export function rememberUpdate(stateDir: string, o: UpdateOutcome): void {
  // jailwizard's own bookkeeping, like `check`'s results: not a host change.
  mkdirSync(updatesDir(stateDir), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(updatesDir(stateDir), `${o.user}.json`), `${JSON.stringify(o, null, 2)}\n`, { mode: 0o600 });
}

/** A removed jail's update history goes with it (a new jail of the same name starts clean). */
export function forgetUpdate(stateDir: string, user: string): void {
  rmSync(path.join(updatesDir(stateDir), `${user}.json`), { force: true });
}
