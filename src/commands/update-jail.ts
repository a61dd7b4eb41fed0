// `update` for a jail whose files drifted from the host: gather the facts, plan as apply
// would, and run the plan with journal and rollback; and `update --install-hook`. Loaded by
// update.ts only when its quick look (sizes and mtimes) finds a change.
import { realpathSync, writeFileSync } from 'node:fs';
import { EXIT, UserError, exitCodeFor, explain, interruptionOf } from '../model/errors.ts';
import { assertNoUnfinished } from '../engine/executor.ts';
import { runPlan } from '../engine/run-plan.ts';
import type { Plan } from '../model/effects.ts';
import { fileState, gatherFacts } from '../host/facts.ts';
import { planApply } from '../plan/index.ts';
import { recordPath, type JailRecord, type UpdateOutcome } from '../host/state.ts';
import { printEvent, say, warn } from './output.ts';
import { askOnTerminal, type CommonOptions } from './common.ts';
import { sha256 } from '../host/hash.ts';

export const APT_HOOK = '/etc/apt/apt.conf.d/99jailwizard-update';

export type UpdateOptions = CommonOptions & { all: boolean; yes: boolean; installHook: boolean; fromAptHook?: boolean };

/** How one jail's update ended; `interrupted`: a signal stopped it, so the others are not tried. */
export type OneOutcome = Omit<UpdateOutcome, 'user' | 'at' | 'via'> & { interrupted?: boolean };

/** Brings a jail whose files may have drifted in line with the host: facts, plan, runPlan. */
export async function refreshJail(rec: JailRecord, o: UpdateOptions): Promise<OneOutcome> {
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

/** An apt hook so jails follow upgrades by themselves; `remove` of the last jail takes it away. */
export async function installHook(o: CommonOptions & { yes: boolean }): Promise<number> {
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
