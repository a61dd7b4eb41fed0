// `jailwizard update [USER|--all] [--yes] [--install-hook]`: after package upgrades, bring
// the jail's binaries and libraries in line with the host (old jails kept working, new ones
// broke, and nobody knew which files had drifted).
import { lstatSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { EXIT, UserError, exitCodeFor, explain, formatUserError, interruptionOf } from '../model/errors.ts';
import { run } from '../host/run.ts';
import { assertNoUnfinished } from '../engine/executor.ts';
import { runPlan } from '../engine/run-plan.ts';
import type { Plan } from '../model/effects.ts';
import { gatherFacts } from '../host/facts.ts';
import { planApply } from '../plan/index.ts';
import { listRecords, readRecord, recordPath, rememberUpdate, type JailRecord, type UpdateOutcome } from '../host/state.ts';
import { printEvent, say, warn } from './output.ts';
import { fileState } from '../host/facts.ts';
import { askOnTerminal, type CommonOptions } from './common.ts';
import { sha256 } from '../host/hash.ts';

export const APT_HOOK = '/etc/apt/apt.conf.d/99jailwizard-update';

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

/** changed / added / removed, for the preview's first line. A link or file replaced in place (the host's layout changed) counts as changed. */
export function summarizeUpdate(plan: Plan): string {
  const actions = plan.steps.flatMap((s) => s.actions);
  const unlinked = new Set(actions.flatMap((a) => (a.effect.kind === 'unlink' ? [a.effect.path] : [])));
  const remade = new Set(actions.flatMap((a) => (a.effect.kind === 'copy' || a.effect.kind === 'symlink' ? [a.effect.path] : [])));
  let changed = 0;
  let added = 0;
  let removed = 0;
  for (const a of actions) {
    const e = a.effect;
    if (e.kind === 'copy' || e.kind === 'symlink') {
      if (a.pre.kind === 'sha256' || unlinked.has(e.path)) changed++;
      else if (e.kind === 'copy') added++;
    }
    if (e.kind === 'unlink' && !remade.has(e.path)) removed++;
  }
  return `${changed} changed, ${added} added, ${removed} removed`;
}

/** One line in the system log (journald or syslog), tagged jailwizard, so the apt hook's outcome is never silent. */
async function logToSystem(outcomes: UpdateOutcome[]): Promise<void> {
  const failed = outcomes.filter((x) => x.result === 'failed');
  const parts = outcomes.map((x) => `${x.user} ${x.result}${x.summary ? ` (${x.summary})` : ''}${x.reason ? `: ${x.reason}` : ''}`);
  const msg = `apt hook: update --all ${failed.length ? `FAILED for ${failed.map((x) => x.user).join(', ')}` : 'ok'}: ${parts.join('; ') || 'no jails'}`;
  const r = await run(['logger', '-t', 'jailwizard', '-p', failed.length ? 'user.err' : 'user.notice', '--', msg], { timeoutMs: 10_000 }).catch(() => undefined);
  if (!r || r.exitCode !== 0) warn(`jailwizard: could not write to the system log: ${r?.stderr.trim() ?? 'logger did not run'}`);
}

type UpdateOptions = CommonOptions & { all: boolean; yes: boolean; installHook: boolean; fromAptHook?: boolean };

export async function updateCommand(user: string | undefined, o: UpdateOptions): Promise<number> {
  if (o.installHook) return installHook(o);
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
        why: [
          'After each dpkg run, apt calls `jailwizard update --all`, so jails follow upgrades: a library upgraded on the host is upgraded in every jail.',
          'Its outcome goes to the system log (journalctl -t jailwizard); `jailwizard list` and `check` show a failed run with its reason.',
        ],
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

/** How one jail's update ended; `interrupted`: a signal stopped it, so the others are not tried. */
type OneOutcome = Omit<UpdateOutcome, 'user' | 'at' | 'via'> & { interrupted?: boolean };

async function updateOne(rec: JailRecord, o: UpdateOptions): Promise<OneOutcome> {
  if (unchangedSinceApply(rec)) {
    say(`${rec.user}: nothing to do; the jail's ${rec.manifest.length} files match the host.`);
    return { result: 'unchanged', exitCode: EXIT.ok };
  }
  assertNoUnfinished(o.stateDir);
  const facts = await gatherFacts(rec.answers, { sshdConfig: rec.sshdConfig, stateDir: o.stateDir });
  const plan = planApply(rec.answers, facts, { now: new Date().toISOString(), sha256 });
  if (plan.steps.length === 0) {
    // Same content, new mtimes (a reinstall): remember them, so the next run is quick.
    refreshManifestStats(rec, facts.closures.flatMap((c) => c.entries), o.stateDir);
    say(`${rec.user}: nothing to do; the jail matches the host.`);
    return { result: 'unchanged', exitCode: EXIT.ok };
  }
  const summary = summarizeUpdate(plan);
  say(`${rec.user}: ${summary}`);
  const outcome = await runPlan(plan, {
    stateDir: o.stateDir,
    command: 'update',
    user: rec.user,
    listener: printEvent,
    confirm: askOnTerminal(() => `Update ${rec.user}'s jail?`, o.yes),
    onFailure: (e) => warn(`jailwizard: ${rec.user}: ${explain(e)}`),
  });
  if (outcome.status === 'declined') return { result: 'declined', exitCode: exitCodeFor(outcome) };
  if (!outcome.error) {
    say(`${rec.user}: updated.`);
    return { result: 'updated', summary, exitCode: exitCodeFor(outcome) };
  }
  return { result: 'failed', reason: explain(outcome.error), exitCode: exitCodeFor(outcome), ...(interruptionOf(outcome.error) ? { interrupted: true } : {}) };
}

/** An apt hook so jails follow upgrades by themselves; `remove` of the last jail takes it away. */
async function installHook(o: CommonOptions & { yes: boolean }): Promise<number> {
  const script = realpathSync(process.argv[1] ?? '');
  if (script.includes('/_npx/')) {
    throw new UserError('jailwizard runs from npx\'s cache, which apt cannot rely on', 'install it for good first: npm install -g jailwizard');
  }
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  // Quiet on apt's terminal and never failing apt; its outcome goes to the system log
  // (logger -t jailwizard), and `list` and `check` show a failed run with its reason.
  const cmd = `${q(process.execPath)} ${q(script)} update --all --yes --from-apt-hook --state-dir ${q(o.stateDir)} >/dev/null 2>&1 || true`;
  const content = `// Written by jailwizard: refresh chroot jails after every package upgrade.\n// Removed by \`jailwizard remove\` of the last jail.\nDPkg::Post-Invoke { "${cmd.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"; };\n`;
  const have = fileState(APT_HOOK);
  if (have?.sha256 === sha256(content)) {
    say(`The apt hook ${APT_HOOK} is already installed.`);
    return EXIT.ok;
  }
  const outcome = await runPlan(aptHookPlan(content, have?.sha256), {
    stateDir: o.stateDir,
    command: 'update',
    user: 'apt-hook',
    listener: printEvent,
    confirm: askOnTerminal(() => 'Install it?', o.yes),
    onFailure: (e) => warn(`jailwizard: ${explain(e)}`),
  });
  return exitCodeFor(outcome);
}
