// `jailwizard apply --config FILE`: validate everything, plan, show, confirm, execute with
// journal and rollback, then prove the jail with the real clients (or roll it all back).
import { createHash } from 'node:crypto';
import { EXIT, UserError } from '../errors.ts';
import { Executor, Interrupted, StepFailed, assertNoUnfinished, explain, signalExitCode } from '../executor.ts';
import { countActions, formatPlan, planToShellScript, type Plan } from '../effects.ts';
import { binaryArches, gatherFacts, hostArch } from '../host-facts.ts';
import { loadAnswers } from '../answers.ts';
import { planApply, toolBinaries } from '../plan.ts';
import { readRecord, recordForJail } from '../state.ts';
import { checkArch, checkAuthorizedKey, checkJailPath, checkUserAllowed, checkUserName, readUserHost } from '../validate.ts';
import { formatProbeTable } from '../verify.ts';
import { confirm } from '../prompt.ts';
import { printEvent, say, warn } from '../output.ts';
import { checkSshdConfigPath, type CommonOptions } from './common.ts';
import { verifyJail } from './test.ts';
import type { Answers, Arch, Tool } from '../types.ts';

export interface ApplyOptions extends CommonOptions {
  config: string;
  yes: boolean;
  dryRun: boolean;
  noTest: boolean;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Every refusal that needs no plan: bad input never gets as far as a change. */
export async function validateAnswers(a: Answers, o: CommonOptions): Promise<void> {
  checkUserName(a.user);
  checkUserAllowed(a.user, readUserHost());
  const managed = recordForJail(o.stateDir, a.jail);
  if (managed && managed.user !== a.user) {
    throw new UserError(`jail ${a.jail} belongs to ${managed.user}`, 'choose another path; one jail per user');
  }
  checkJailPath(a.jail, { isManagedJail: (p) => recordForJail(o.stateDir, p) !== undefined });
  await Promise.all(a.authorizedKeys.map((k) => checkAuthorizedKey(k)));
  checkSshdConfigPath(o.sshdConfig);
  if (a.arch !== 'auto') {
    const groups = toolBinaries(a.tools, '/usr/lib/openssh/sftp-server');
    const found: Partial<Record<Tool, Arch[]>> = {};
    for (const g of groups) {
      const tool = g.name === 'shell' ? 'bash' : g.name;
      const arches = [...binaryArches(g.binaries).values()].filter((x): x is Arch => !x.startsWith('other'));
      found[tool] = [...new Set([...(found[tool] ?? []), ...arches])];
    }
    checkArch(a.arch, hostArch(), found);
  }
}

async function makePlan(a: Answers, o: CommonOptions): Promise<Plan> {
  const facts = await gatherFacts(a, { sshdConfig: o.sshdConfig, stateDir: o.stateDir });
  return planApply(a, facts, { now: new Date().toISOString(), sha256 });
}

export async function applyCommand(o: ApplyOptions): Promise<number> {
  const a = await loadAnswers(o.config);
  if (!o.dryRun) assertNoUnfinished(o.stateDir);
  await validateAnswers(a, o);
  let plan = await makePlan(a, o);

  if (o.dryRun) {
    process.stdout.write(planToShellScript(plan));
    return EXIT.ok;
  }
  if (plan.steps.length === 0) {
    say(`Nothing to do: ${a.user}'s jail ${a.jail} already matches ${o.config}.`);
    if (o.noTest) return EXIT.ok;
  } else {
    if (!o.noTest) plan.notes.push(`After the last step, the connection test authorizes a temporary key for ${a.user} (from 127.0.0.1 and ::1 only) and removes it again; if a probe fails, every step is rolled back.`);
    say(formatPlan(plan));
    if (!(await confirm(`Apply these ${plan.steps.length} steps (${countActions(plan)} changes)?`, o.yes))) {
      say('Nothing changed.');
      return EXIT.ok;
    }
  }

  const ex = Executor.begin(o.stateDir, 'apply', a.user, printEvent);
  try {
    // A first plan that installs packages is followed by a second one for their files,
    // previewed (and confirmed) once they exist.
    for (let round = 0; plan.steps.length > 0 && round < 3; round++) {
      await ex.apply(plan);
      if (plan.steps[0]?.id !== 'packages') break;
      plan = await makePlan(a, o);
      if (plan.steps.length === 0) break;
      say(formatPlan(plan));
      if (!(await confirm(`Apply these ${plan.steps.length} steps?`, o.yes))) throw new StepFailed('confirmation', new Error('declined by the admin'));
    }
    if (!o.noTest) {
      const rec = readRecord(o.stateDir, a.user);
      if (!rec) throw new StepFailed('connection test', new Error('the jail record is missing'));
      say('Connection test with the real clients:');
      const results = await verifyJail(ex, rec, (r) => say(`  ${r.ok ? '✓' : '✗'} ${r.name}${r.ok ? '' : `: ${r.detail}`}`));
      const failed = results.filter((r) => !r.ok);
      if (failed.length > 0) {
        warn(formatProbeTable(results));
        throw new StepFailed('connection test', new Error(`${failed.length} probe(s) failed: ${failed.map((f) => f.name).join('; ')}`));
      }
    }
    ex.finish('committed');
    summary(a, o);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof StepFailed || e instanceof Interrupted)) warn(`jailwizard: ${explain(e)}`);
    else if (e instanceof StepFailed) warn(`jailwizard: ${e.message}`);
    else warn(`jailwizard: ${e.message}; rolling back`);
    const manual = await ex.rollback(explain(e));
    ex.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
    if (manual.length) return EXIT.rollbackIncomplete;
    if (e instanceof Interrupted) return signalExitCode(e.signal);
    if (e instanceof UserError) throw e;
    return EXIT.failed;
  }
}

function summary(a: Answers, o: CommonOptions): void {
  const rec = readRecord(o.stateDir, a.user);
  say('');
  say(`Done: ${a.user} is jailed in ${a.jail} with ${a.tools.join(', ')}.`);
  const who = `${a.user}@<this host>`;
  if (a.tools.includes('sftp') || a.tools.includes('scp')) say(`  Connect: sftp ${who}`);
  if (a.tools.includes('bash')) say(`  Shell:   ssh ${who}`);
  if (a.tools.includes('rsync')) say(`  rsync:   rsync -av FILES ${who}:`);
  say(`  Undo:    jailwizard remove ${a.user}${o.stateDir !== '/var/lib/jailwizard' ? ` --state-dir ${o.stateDir}` : ''}`);
  if (rec && a.authorizedKeys.length === 0) say(`  No keys yet: add them to /etc/ssh/authorized_keys/${a.user} (root-owned).`);
}
