// `jailwizard check [USER|--all] [--json]`: the audit, for people and for monitoring.
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { EXIT, UserError } from '../model/errors.ts';
import { checkJail, type CheckReport } from '../workflows/check.ts';
import { listRecords, readRecord } from '../host/state.ts';
import { badStateFile } from '../host/state-check.ts';
import { say } from './output.ts';
import type { CommonOptions } from './common.ts';

function checksDir(stateDir: string): string {
  return path.join(stateDir, 'checks');
}

/** Where the last check of a user's jail is kept (`remove` forgets it). */
export function checkPath(stateDir: string, user: string): string {
  return path.join(checksDir(stateDir), `${user}.json`);
}

/** The last check of a jail, for `list`. */
export function lastCheck(stateDir: string, user: string): { at: string; ok: boolean; findings: number } | undefined {
  const p = checkPath(stateDir, user);
  if (!existsSync(p)) return undefined;
  let r: Partial<CheckReport> | undefined;
  try {
    r = JSON.parse(readFileSync(p, 'utf8')) as Partial<CheckReport>;
  } catch {
    r = undefined;
  }
  if (typeof r?.checkedAt !== 'string' || typeof r.ok !== 'boolean' || !Array.isArray(r.findings)) {
    throw badStateFile('the last check', p, 'it is not a report jailwizard check wrote', 'run `jailwizard check` again to replace it, or remove the file');
  }
  return { at: r.checkedAt, ok: r.ok, findings: r.findings.length };
}

export async function checkCommand(user: string | undefined, o: CommonOptions & { all: boolean; json: boolean }): Promise<number> {
  if (!user && !o.all) throw new UserError('check needs a user or --all', 'jailwizard check alice, or jailwizard check --all');
  const records = user ? [readRecord(o.stateDir, user)] : listRecords(o.stateDir);
  if (user && !records[0]) throw new UserError(`jailwizard manages no jail for ${user}`, 'see `jailwizard list`');
  const reports: CheckReport[] = [];
  for (const rec of records) if (rec) reports.push(await checkJail(rec, new Date().toISOString(), o.stateDir));
  // Remember the result for `list` (jailwizard's own bookkeeping, not a host change).
  mkdirSync(checksDir(o.stateDir), { recursive: true, mode: 0o700 });
  for (const r of reports) writeFileSync(checkPath(o.stateDir, r.user), `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
  if (o.json) say(JSON.stringify(user ? reports[0] : reports, null, 2));
  else {
    if (reports.length === 0) say('No jails managed by jailwizard.');
    for (const r of reports) {
      say(r.ok ? `✓ ${r.user}: ${r.jail} is sound.` : `✗ ${r.user}: ${r.jail}: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}`);
      for (const x of r.findings) {
        say(`    ✗ ${x.title}`);
        for (const e of x.evidence) say(`        ${e}`);
        if (x.hint) say(`        → ${x.hint}`);
      }
    }
  }
  return reports.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}
