// `jailwizard update [USER|--all] [--yes] [--install-hook]`: after package upgrades, bring
// the jail's binaries and libraries in line with the host (old jails kept working, new ones
// broke, and nobody knew which files had drifted).
//
// This module is what a run with nothing to do needs (records, stat and readlink); the
// planner and the executor (update-jail.ts) load only for a jail that has drifted.
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { EXIT, UserError, exitCodeFor, formatUserError } from '../model/errors.ts';
import { run } from '../host/run.ts';
import { listRecords, readRecord, rememberUpdate, type JailRecord, type UpdateOutcome } from '../host/state.ts';
import { say, warn } from './output.ts';
import type { OneOutcome, UpdateOptions } from './update-jail.ts';

/**
 * Nothing to do, known without hashing: every copied file's host source has the size and
 * mtime it had when copied, its copy is in the jail, and every symlink still points the same way.
 */
export function unchangedSinceApply(rec: JailRecord): boolean {
  try {
    for (const m of rec.manifest) {
      if (m.size === undefined || m.mtimeMs === undefined) return false;
      const host = statSync(m.from);
      if (host.size !== m.size || host.mtimeMs !== m.mtimeMs) return false;
      if (lstatSync(m.path).size !== m.size) return false;
    }
    for (const a of rec.actions) {
      const e = a.effect;
      if (e.kind !== 'symlink' || !e.path.startsWith(`${rec.jail}/`)) continue;
      if (readlinkSync(e.path.slice(rec.jail.length)) !== e.target) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** One line in the system log (journald or syslog), tagged jailwizard, so the apt hook's outcome is never silent. */
async function logToSystem(outcomes: UpdateOutcome[]): Promise<void> {
  const failed = outcomes.filter((x) => x.result === 'failed');
  const parts = outcomes.map((x) => `${x.user} ${x.result}${x.summary ? ` (${x.summary})` : ''}${x.reason ? `: ${x.reason}` : ''}`);
  const msg = `apt hook: update --all ${failed.length ? `FAILED for ${failed.map((x) => x.user).join(', ')}` : 'ok'}: ${parts.join('; ') || 'no jails'}`;
  const r = await run(['logger', '-t', 'jailwizard', '-p', failed.length ? 'user.err' : 'user.notice', '--', msg], { timeoutMs: 10_000 }).catch(() => undefined);
  if (!r || r.exitCode !== 0) warn(`jailwizard: could not write to the system log: ${r?.stderr.trim() ?? 'logger did not run'}`);
}

export async function updateCommand(user: string | undefined, o: UpdateOptions): Promise<number> {
  if (o.installHook) return (await import('./update-jail.ts')).installHook(o);
  if (!user && !o.all) throw new UserError('update needs a user or --all', 'jailwizard update alice, or jailwizard update --all');
  const records = user ? [readRecord(o.stateDir, user)] : listRecords(o.stateDir);
  if (user && !records[0]) throw new UserError(`jailwizard manages no jail for ${user}`, 'see `jailwizard list`');
  let code: number = EXIT.ok;
  const outcomes: UpdateOutcome[] = [];
  for (const [i, rec] of records.entries()) {
    if (!rec) continue;
    // One jail's failure does not keep the others from following the upgrade.
    let outcome: OneOutcome;
    try {
      outcome = await updateOne(rec, o);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      warn(`jailwizard: ${rec.user}: ${formatUserError(e).replace(/^jailwizard: /, '')}`);
      outcome = { result: 'failed', reason: e.message, exitCode: exitCodeFor(e) };
    }
    const { interrupted, ...rest } = outcome;
    const full: UpdateOutcome = { user: rec.user, at: new Date().toISOString(), via: o.fromAptHook ? 'apt-hook' : 'command', ...rest };
    outcomes.push(full);
    if (full.result !== 'declined') rememberUpdate(o.stateDir, full);
    code = Math.max(code, full.exitCode);
    // Ctrl+C or SIGTERM means stop: this jail is rolled back, the others stay as they are.
    if (interrupted) {
      const left = records.slice(i + 1).filter(Boolean).length;
      if (left > 0) warn(`Stopped: ${left} more jail${left === 1 ? ' was' : 's were'} not updated.`);
      code = full.exitCode;
      break;
    }
  }
  if (o.fromAptHook) await logToSystem(outcomes);
  return code;
}

async function updateOne(rec: JailRecord, o: UpdateOptions): Promise<OneOutcome> {
  if (unchangedSinceApply(rec)) {
    say(`${rec.user}: nothing to do; the jail's ${rec.manifest.length} files match the host.`);
    return { result: 'unchanged', exitCode: EXIT.ok };
  }
  return (await import('./update-jail.ts')).refreshJail(rec, o);
}
