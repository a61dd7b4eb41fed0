// `jailwizard apply --config FILE`: validate everything, plan, show, confirm, execute with
// journal and rollback, then prove the jail with the real clients (or roll it all back).
import { EXIT } from '../errors.ts';
import { assertNoUnfinished } from '../executor.ts';
import { countActions, formatPlan, planToShellScript } from '../effects.ts';
import { loadAnswers } from '../answers.ts';
import { readRecord } from '../state.ts';
import { formatProbeTable } from '../verify.ts';
import { confirm } from '../prompt.ts';
import { printEvent, say, warn } from '../output.ts';
import { executeApply, makePlan, validateAnswers } from '../apply-run.ts';
import type { CommonOptions } from './common.ts';
import type { Answers } from '../types.ts';

export interface ApplyOptions extends CommonOptions {
  config: string;
  yes: boolean;
  dryRun: boolean;
  noTest: boolean;
}

export async function applyCommand(o: ApplyOptions): Promise<number> {
  const a = await loadAnswers(o.config);
  if (!o.dryRun) assertNoUnfinished(o.stateDir);
  await validateAnswers(a, o);
  const plan = await makePlan(a, o);

  if (o.dryRun) {
    process.stdout.write(planToShellScript(plan));
    return EXIT.ok;
  }
  if (plan.steps.length === 0) {
    say(`Nothing to do: ${a.user}'s jail ${a.jail} already matches ${o.config}.`);
    if (o.noTest) return EXIT.ok;
  } else {
    if (!o.noTest) plan.notes.push(testNote(a.user));
    say(formatPlan(plan));
    if (!(await confirm(`Apply these ${plan.steps.length} steps (${countActions(plan)} changes)?`, o.yes))) {
      say('Nothing changed.');
      return EXIT.ok;
    }
  }

  const outcome = await executeApply(a, o, plan, {
    listener: printEvent,
    async confirmNext(next) {
      say(formatPlan(next));
      return confirm(`Apply these ${next.steps.length} steps?`, o.yes);
    },
    onTestStart: () => say('Connection test with the real clients:'),
    onProbe: (r) => say(`  ${r.ok ? '✓' : '✗'} ${r.name}${r.ok ? '' : `: ${r.detail}`}`),
  });
  if (!outcome.ok) {
    if (outcome.probes.some((p) => !p.ok)) warn(formatProbeTable(outcome.probes));
    warn(`jailwizard: ${outcome.error}`);
    return outcome.exitCode;
  }
  summary(a, o);
  return EXIT.ok;
}

export function testNote(user: string): string {
  return `After the last step, the connection test authorizes a temporary key for ${user} (from 127.0.0.1 and ::1 only) and removes it again; if a probe fails, every step is rolled back.`;
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
