// Stage "copies": tool binaries with their ELF closure and symlink chains, then extra commands
// and the runtime extras; and what an earlier apply copied that the jail no longer needs.
import path from 'node:path';
import { recipeFor, type Recipe } from '../../../recipes/index.ts';
import type { Tool } from '../../model/types.ts';
import type { Action } from '../../model/effects.ts';
import { EXTRA_WHY } from '../options.ts';
import { copyIntoJail, mb } from './actions.ts';
import { privilegedGroupsOf } from './account.ts';
import type { ApplyContext } from './context.ts';

export function copiesStage({ a, facts, wide, jail, user, planned, manifest, steps, notes }: Pick<ApplyContext, 'a' | 'facts' | 'wide' | 'jail' | 'user' | 'planned' | 'manifest' | 'steps' | 'notes'>): void {
  const keepSetid = new Set(wide.allowSetuid ? facts.extraBinaries.filter((x) => x.setid).map((x) => x.real ?? x.path!) : []);
  // Links and files an earlier apply (this user's, or another user's of a shared jail) made:
  // those may be replaced when the host's layout changed; anything else in the way is refused.
  const ours = new Set(
    [facts.record, ...facts.sharers.map((x) => x.record)].flatMap((r) => (r?.actions ?? []).flatMap((x) => (x.effect.kind === 'copy' || x.effect.kind === 'symlink' ? [x.effect.path] : []))),
  );
  for (const c of facts.closures) {
    const copied = copyIntoJail(c.entries, jail, facts.jail, planned, keepSetid, ours);
    manifest.push(...copied.manifest);
    if (copied.actions.length === 0) continue;
    const why =
      c.name === 'extra' ? ['Extra commands asked for by name, each with exactly the libraries its ELF headers name.']
      : c.name === 'runtime' ? wide.extras.filter((e) => e === 'locale' || e === 'terminfo' || e === 'nss').map((e) => EXTRA_WHY[e])
      : toolWhy(recipeFor(c.name)!, a.tools);
    const what = c.name === 'runtime' ? `the ${c.title} extras` : c.binaries.map((b) => path.basename(b)).join(', ');
    steps.push({
      id: `copy-${c.name}`,
      title: `Copy ${what} and what they need: ${copied.files} file${copied.files === 1 ? '' : 's'}, ${mb(copied.bytes)}`,
      why,
      actions: copied.actions,
    });
  }
  const kept = user.exists ? privilegedGroupsOf(user, facts.groups) : [];
  if (kept.length > 0) {
    notes.push(
      `WARNING: ${user.name} stays in ${kept.map((g) => `${g.name} (${g.why})`).join(', ')}, as allowPrivilegedGroups says. Inside the jail that reaches only what bind mounts and shared dirs show; any login outside it has the group's full power.`,
    );
  }
  if (keepSetid.size > 0) notes.push(`WARNING: ${[...keepSetid].join(', ')} keep${keepSetid.size === 1 ? 's' : ''} the setuid/setgid bit inside the jail (allowSetuid: true). A setuid program in a jail is a classic way out of it.`);
}

/** What an earlier apply copied that the jail no longer needs (an upgrade dropped a library, or a tool was removed from the answers). */
export function staleStage({ facts, jail, planned, steps }: Pick<ApplyContext, 'facts' | 'jail' | 'planned' | 'steps'>): void {
  if (!facts.record) return;
  const stale: Action[] = [];
  const seen = new Set<string>();
  for (const a of [...facts.record.actions].reverse()) {
    const e = a.effect;
    if ((e.kind !== 'copy' && e.kind !== 'symlink') || !e.path.startsWith(`${jail}/`) || planned.has(e.path) || seen.has(e.path)) continue;
    seen.add(e.path);
    if (facts.jail[e.path]) stale.push({ effect: { kind: 'unlink', path: e.path }, undo: [{ kind: 'restore', path: e.path }], pre: { kind: 'none' } });
  }
  if (stale.length > 0) {
    steps.push({ id: 'stale', title: `Remove ${stale.length} file${stale.length === 1 ? '' : 's'} the jail no longer needs`, why: ['Fewer binaries in a jail are fewer to keep patched.'], actions: stale });
  }
}

/** A recipe's reasons; some speak of the small shell, which bash replaces when chosen. */
function toolWhy(r: Recipe, tools: readonly Tool[]): string[] {
  return tools.includes('bash') && r.whyWithBash ? r.whyWithBash : r.why;
}
