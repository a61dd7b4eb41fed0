// The apply planner: answers plus read-only host facts in, a Plan of Steps out. Pure: it reads
// nothing and runs nothing, so its output can be snapshot-tested and previewed exactly.
// The plan is made by named stages, in order, over one context.
import type { Plan } from '../../model/effects.ts';
import type { ActionRole } from '../../model/effects.ts';
import type { HostFacts } from '../../host/facts.ts';
import { jailWide } from '../options.ts';
import { checkSharedJailPaths } from '../shared-jail.ts';
import { platformNotes } from '../../host/platform.ts';
import type { Answers } from '../../model/types.ts';
import { accountStage, plannedUser } from './account.ts';
import { checkHost } from './check-host.ts';
import type { ApplyContext, ApplyStage, PlanOptions } from './context.ts';
import { copiesStage, staleStage } from './copies.ts';
import { jailRootStage } from './jail-root.ts';
import { keysStage } from './keys.ts';
import { devicesStage, etcStage, gateStage, layoutStep, optionFilesStage, userDirsStage } from './layout.ts';
import { loggingStage } from './logging.ts';
import { mountsStage, noexecStage, unmountStage } from './mounts.ts';
import { packagesStage } from './packages.ts';
import { recordStage } from './record.ts';
import { sshdStage } from './sshd.ts';
import { gateGrant } from './tools.ts';

/**
 * The stages of an apply plan, in the order their steps run. `role`: what the actions of the
 * steps a stage adds are part of (unless the stage says otherwise for one), for remove.
 */
export const APPLY_STAGES: readonly { name: string; role: ActionRole; stage: ApplyStage }[] = [
  { name: 'packages', role: 'package', stage: packagesStage },
  { name: 'account', role: 'user', stage: accountStage },
  { name: 'keys', role: 'keys', stage: keysStage },
  { name: 'jail-root', role: 'jail', stage: jailRootStage },
  { name: 'etc', role: 'jail', stage: etcStage },
  { name: 'devices', role: 'jail', stage: devicesStage },
  { name: 'user-dirs', role: 'jail', stage: userDirsStage },
  { name: 'gate', role: 'jail', stage: gateStage },
  { name: 'option-files', role: 'jail', stage: optionFilesStage },
  { name: 'layout', role: 'jail', stage: layoutStep },
  { name: 'copies', role: 'copy', stage: copiesStage },
  { name: 'stale', role: 'copy', stage: staleStage },
  { name: 'mounts', role: 'mount', stage: mountsStage },
  { name: 'noexec', role: 'mount', stage: noexecStage },
  { name: 'unmount', role: 'mount', stage: unmountStage },
  { name: 'logging', role: 'logging', stage: loggingStage },
  { name: 'sshd', role: 'sshd', stage: sshdStage },
  { name: 'record', role: 'record', stage: recordStage },
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
  return { a, facts, opts, wide, user, jail: a.jail, grant: gateGrant(a, facts), steps: [], notes, planned: new Set([a.jail]), layout: [], manifest: [], revoked: new Set() };
}

export function planApply(a: Answers, facts: HostFacts, opts: PlanOptions): Plan {
  const ctx = applyContext(a, facts, opts);
  for (const { stage, role } of APPLY_STAGES) {
    const before = ctx.steps.length;
    const stop = stage(ctx) === 'stop';
    for (const st of ctx.steps.slice(before)) st.actions = st.actions.map((x) => (x.role ? x : { ...x, role }));
    if (stop) break;
  }
  return { command: 'apply', user: a.user, steps: ctx.steps, notes: ctx.notes };
}
