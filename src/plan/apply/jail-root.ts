// Stage "jail": the jail root and any missing parents, root-owned, no group/other write.
import { base } from '../../../recipes/index.ts';
import type { Action } from '../../model/effects.ts';
import { ensureDir, sharedDir } from './actions.ts';
import type { ApplyContext } from './context.ts';

export function jailRootStage({ facts, jail, steps }: Pick<ApplyContext, 'facts' | 'jail' | 'steps'>): void {
  const chain: Action[] = [];
  for (const anc of facts.ancestors) if (!anc.state) chain.push(...sharedDir(ensureDir(anc.path, undefined, 0o755, 0, 0)));
  chain.push(...ensureDir(jail, facts.jail[jail], 0o755, 0, 0));
  if (chain.length > 0) steps.push({ id: 'jail', title: `Create the jail ${jail}`, why: [base.why[0]!], actions: chain });
}
