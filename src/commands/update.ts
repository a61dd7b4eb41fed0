// `jailwizard update [USER|--all] [--yes] [--install-hook]`: after package upgrades, bring
// the jail's binaries and libraries in line with the host (old jails kept working, new ones
// broke, and nobody knew which files had drifted).
import { lstatSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { EXIT, UserError } from '../errors.ts';
import { Executor, assertNoUnfinished, explain, signalExitCode } from '../executor.ts';
import { formatPlan, type Plan } from '../effects.ts';
import { gatherFacts } from '../host-facts.ts';
import { planApply } from '../plan.ts';
import { listRecords, readRecord, recordPath, type JailRecord } from '../state.ts';
import { confirm } from '../prompt.ts';
import { printEvent, say, warn } from '../output.ts';
import { fileState } from '../host-facts.ts';
import type { CommonOptions } from './common.ts';

export const APT_HOOK = '/etc/apt/apt.conf.d/99jailwizard-update';
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

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

function refreshManifestStats(rec: JailRecord, entries: { path: string; size: number; mtimeMs?: number }[], stateDir: string): void {
  const byFrom = new Map(entries.map((e) => [e.path, e]));
  const manifest = rec.manifest.map((m) => ({ ...m, size: byFrom.get(m.from)?.size ?? m.size, mtimeMs: byFrom.get(m.from)?.mtimeMs ?? m.mtimeMs }));
  writeFileSync(recordPath(stateDir, rec.user), `${JSON.stringify({ ...rec, manifest }, null, 2)}\n`, { mode: 0o600 });
}

/** changed / added / removed, for the preview's first line. */
export function summarizeUpdate(plan: Plan): string {
  let changed = 0;
  let added = 0;
  let removed = 0;
  for (const a of plan.steps.flatMap((s) => s.actions)) {
    if (a.effect.kind === 'copy') a.pre.kind === 'sha256' ? changed++ : added++;
    if (a.effect.kind === 'unlink') removed++;
  }
  return `${changed} changed, ${added} added, ${removed} removed`;
}

export async function updateCommand(user: string | undefined, o: CommonOptions & { all: boolean; yes: boolean; installHook: boolean }): Promise<number> {
  if (o.installHook) return installHook(o);
  if (!user && !o.all) throw new UserError('update needs a user or --all', 'jailwizard update alice, or jailwizard update --all');
  const records = user ? [readRecord(o.stateDir, user)] : listRecords(o.stateDir);
  if (user && !records[0]) throw new UserError(`jailwizard manages no jail for ${user}`, 'see `jailwizard list`');
  let code: number = EXIT.ok;
  for (const [i, rec] of records.entries()) {
    if (!rec) continue;
    if (unchangedSinceApply(rec)) {
      say(`${rec.user}: nothing to do; the jail's ${rec.manifest.length} files match the host.`);
      continue;
    }
    assertNoUnfinished(o.stateDir);
    const facts = await gatherFacts(rec.answers, { sshdConfig: rec.sshdConfig, stateDir: o.stateDir });
    const plan = planApply(rec.answers, facts, { now: new Date().toISOString(), sha256 });
    if (plan.steps.length === 0) {
      // Same content, new mtimes (a reinstall): remember them, so the next run is quick.
      refreshManifestStats(rec, facts.closures.flatMap((c) => c.entries), o.stateDir);
      say(`${rec.user}: nothing to do; the jail matches the host.`);
      continue;
    }
    say(`${rec.user}: ${summarizeUpdate(plan)}`);
    say(formatPlan(plan));
    if (!(await confirm(`Update ${rec.user}'s jail?`, o.yes))) {
      say('Nothing changed.');
      continue;
    }
    const ex = Executor.begin(o.stateDir, 'update', rec.user, printEvent);
    try {
      await ex.apply(plan);
      ex.finish('committed');
      say(`${rec.user}: updated.`);
    } catch (e) {
      const interrupted = ex.interruption(e);
      const error = interrupted ? interrupted.message : explain(e);
      warn(`jailwizard: ${rec.user}: ${error}`);
      const manual = await ex.rollback(error);
      ex.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
      code = manual.length ? EXIT.rollbackIncomplete : EXIT.failed;
      // Ctrl+C or SIGTERM means stop: this jail is rolled back, the others stay as they are.
      if (interrupted) {
        const left = records.slice(i + 1).filter(Boolean).length;
        if (left > 0) warn(`Stopped: ${left} more jail${left === 1 ? ' was' : 's were'} not updated.`);
        return manual.length ? EXIT.rollbackIncomplete : signalExitCode(interrupted.signal);
      }
    }
  }
  return code;
}

/** The one step that writes the apt hook (over the file with `haveSha256`, if there is one). */
export function aptHookPlan(content: string, haveSha256: string | undefined): Plan {
  return {
    command: 'apply',
    user: 'apt-hook',
    notes: [],
    steps: [
      {
        id: 'apt-hook',
        title: `Install the apt hook ${APT_HOOK}`,
        why: ['After each dpkg run, apt calls `jailwizard update --all`, so jails follow upgrades: a library upgraded on the host is upgraded in every jail.'],
        actions: [
          {
            effect: { kind: 'write', path: APT_HOOK, content, mode: 0o644, uid: 0, gid: 0 },
            undo: [{ kind: 'restore', path: APT_HOOK }],
            pre: haveSha256 ? { kind: 'sha256', path: APT_HOOK, sha256: haveSha256 } : { kind: 'absent', path: APT_HOOK },
          },
        ],
      },
    ],
  };
}

/** An apt hook so jails follow upgrades by themselves; `remove` of the last jail takes it away. */
async function installHook(o: CommonOptions & { yes: boolean }): Promise<number> {
  const script = realpathSync(process.argv[1] ?? '');
  if (script.includes('/_npx/')) {
    throw new UserError('jailwizard runs from npx\'s cache, which apt cannot rely on', 'install it for good first: npm install -g jailwizard');
  }
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `${q(process.execPath)} ${q(script)} update --all --yes --state-dir ${q(o.stateDir)} >/dev/null 2>&1 || true`;
  const content = `// Written by jailwizard: refresh chroot jails after every package upgrade.\n// Removed by \`jailwizard remove\` of the last jail.\nDPkg::Post-Invoke { "${cmd.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"; };\n`;
  const have = fileState(APT_HOOK);
  if (have?.sha256 === sha256(content)) {
    say(`The apt hook ${APT_HOOK} is already installed.`);
    return EXIT.ok;
  }
  const plan = aptHookPlan(content, have?.sha256);
  say(formatPlan(plan));
  if (!(await confirm('Install it?', o.yes))) return EXIT.ok;
  assertNoUnfinished(o.stateDir);
  const ex = Executor.begin(o.stateDir, 'update', 'apt-hook', printEvent);
  try {
    await ex.apply(plan);
    ex.finish('committed');
    return EXIT.ok;
  } catch (e) {
    const interrupted = ex.interruption(e);
    const error = interrupted ? interrupted.message : explain(e);
    warn(`jailwizard: ${error}`);
    const manual = await ex.rollback(error);
    ex.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
    return manual.length ? EXIT.rollbackIncomplete : interrupted ? signalExitCode(interrupted.signal) : EXIT.failed;
  }
}

