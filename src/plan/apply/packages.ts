// Stage "packages": install what the tools need. Their files can only be planned once they
// exist, so the plan stops here.
import { UserError } from '../../model/errors.ts';
import { installArgv, removeArgv, runAction } from './actions.ts';
import type { ApplyContext } from './context.ts';

export function packagesStage({ a, facts, steps, notes }: Pick<ApplyContext, 'a' | 'facts' | 'steps' | 'notes'>): void | 'stop' {
  if (facts.packages.missing.length === 0) return;
  const mgr = facts.packages.manager;
  const install = installArgv(mgr, facts.packages.missing.map((m) => m.pkg));
  if (!a.installMissing) {
    throw new UserError(
      `${facts.packages.missing.map((m) => m.binary).join(', ')} not installed on this host`,
      `install it first (\`${install.join(' ')}\`), or set installMissing: true in the answers file`,
    );
  }
  steps.push({
    id: 'packages',
    title: `Install ${facts.packages.installs.join(', ')} with ${mgr ?? 'the package manager'}`,
    why: [`${facts.packages.missing.map((m) => m.binary).join(', ')} is missing; undo removes only the packages this step installs.`],
    actions: [runAction(install, [removeArgv(mgr, facts.packages.installs)])],
  });
  notes.push('The files to copy from the new packages are planned after they are installed, and shown before they are copied.');
  return 'stop';
}
