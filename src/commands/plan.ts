// `jailwizard plan --config FILE [--json]`: what apply would do on this host, without doing
// it. Nothing is changed and nothing is journaled, so CI and Ansible's check mode can ask.
import { EXIT, exitMeaning } from '../model/errors.ts';
import { formatPlan, previewAction, type Plan } from '../model/effects.ts';
import { loadAnswers } from '../host/answers-file.ts';
import { checkedPlan } from '../workflows/apply.ts';
import { say } from './output.ts';
import { VERSION } from './apply.ts';
import type { CommonOptions } from './common.ts';

export interface PlanOptions extends CommonOptions {
  config: string;
  json: boolean;
}

export interface PlanJson {
  command: 'plan';
  version: string;
  user: string;
  /** Whether apply would change anything. */
  changed: boolean;
  /** Each step with the exact commands it runs (big file bodies summarised, as in the preview). */
  steps: { id: string; title: string; why: string[]; commands: string[] }[];
  notes: string[];
  exit: { code: number; meaning: string };
  error: null;
}

export function planToJson(plan: Plan): PlanJson {
  return {
    command: 'plan',
    version: VERSION,
    user: plan.user,
    changed: plan.steps.length > 0,
    steps: plan.steps.map((s) => ({ id: s.id, title: s.title, why: s.why, commands: s.actions.flatMap((a) => previewAction(a, false)) })),
    notes: plan.notes,
    exit: { code: EXIT.ok, meaning: exitMeaning(EXIT.ok) },
    error: null,
  };
}

export async function planCommand(o: PlanOptions): Promise<number> {
  const a = await loadAnswers(o.config);
  const { plan } = await checkedPlan(a, o);
  if (o.json) {
    process.stdout.write(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
    return EXIT.ok;
  }
  if (plan.steps.length === 0) {
    say(`Nothing to do: ${a.user}'s jail ${a.jail} already matches ${o.config}.`);
    return EXIT.ok;
  }
  process.stdout.write(formatPlan(plan));
  say(`apply would run ${plan.steps.length} step${plan.steps.length === 1 ? '' : 's'}; nothing was changed. The same as a script: jailwizard apply --config ${o.config} --dry-run`);
  return EXIT.ok;
}
