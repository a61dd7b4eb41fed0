// The apply planner: answers plus read-only host facts in, a Plan of Steps out. Pure: it reads
// nothing and runs nothing, so its output can be snapshot-tested and previewed exactly.
// The plan is made by named stages, in order, over one context.
import type { Plan } from '../../effects.ts';
import type { HostFacts } from '../../host-facts.ts';
import { jailWide } from '../../plan-options.ts';
import { checkSharedJailPaths } from '../../shared-jail.ts';
import { platformNotes } from '../../platform.ts';
import type { Answers } from '../../types.ts';
import { accountStage, plannedUser } from './account.ts';
import { checkHost } from './check-host.ts';
import type { ApplyContext, ApplyStage, PlanOptions } from './context.ts';
import { copiesStage, staleStage } from './copies.ts';
import { jailRootStage } from './jail-root.ts';
import { keysStage } from './keys.ts';
import { devicesStage, etcStage, gateStage, layoutStep, optionFilesStage, userDirsStage } from './layout.ts';
import { loggingStage } from './logging.ts';
import { mountsStage, noexecStage } from './mounts.ts';
import { packagesStage } from './packages.ts';
import { recordStage } from './record.ts';
import { sshdStage } from './sshd.ts';
import { gateGrant } from './tools.ts';

/** The stages of an apply plan, in the order their steps run. */
export const APPLY_STAGES: readonly { name: string; stage: ApplyStage }[] = [
  { name: 'packages', stage: packagesStage },
  { name: 'account', stage: accountStage },
  { name: 'keys', stage: keysStage },
  { name: 'jail-root', stage: jailRootStage },
  { name: 'etc', stage: etcStage },
  { name: 'devices', stage: devicesStage },
  { name: 'user-dirs', stage: userDirsStage },
  { name: 'gate', stage: gateStage },
  { name: 'option-files', stage: optionFilesStage },
  { name: 'layout', stage: layoutStep },
  { name: 'copies', stage: copiesStage },
  { name: 'stale', stage: staleStage },
  { name: 'mounts', stage: mountsStage },
  { name: 'noexec', stage: noexecStage },
  { name: 'logging', stage: loggingStage },
  { name: 'sshd', stage: sshdStage },
  { name: 'record', stage: recordStage },
];

/** The context every stage works on; refuses bad input (exit 2) before anything is planned. */
export function applyContext(a: Answers, facts: HostFacts, opts: PlanOptions): ApplyContext {
  const wide = jailWide(a, facts.sharers.map((x) => x.record.answers));
  checkHost(a, facts, wide);
  const notes = platformNotes(a, facts.platform);
  const user = plannedUser(a, facts);
  checkSharedJailPaths(
    { answers: a, home: user.home },
    facts.sharers.map((x) => ({ answers: x.record.answers, home: x.account?.home ?? `/home/${x.record.user}` })),
  );
  return { a, facts, opts, wide, user, jail: a.jail, grant: gateGrant(a, facts), steps: [], notes, planned: new Set([a.jail]), layout: [], manifest: [] };
}

export function planApply(a: Answers, facts: HostFacts, opts: PlanOptions): Plan {
  const ctx = applyContext(a, facts, opts);
  for (const { stage } of APPLY_STAGES) if (stage(ctx) === 'stop') break;
  return { command: 'apply', user: a.user, steps: ctx.steps, notes: ctx.notes };
}
