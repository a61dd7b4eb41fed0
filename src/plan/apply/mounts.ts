// Stages "mounts" and "noexec": bind mounts of host data, and the user's writable dirs bound
// onto themselves noexec; each mounted now and again at every boot.
import path from 'node:path';
import type { Action } from '../../model/effects.ts';
import type { HostFacts } from '../../host/facts.ts';
import { bindOptions, fstabLine, mountUnitText, systemdUnitForPath } from '../options.ts';
import type { BindMount } from '../../model/types.ts';
import { ensureFile, runAction } from './actions.ts';
import { ROOT, type ApplyContext, type PlanOptions } from './context.ts';
import { noexecDirs } from './tools.ts';

/** A bind mount made now and again at every boot: a systemd mount unit where systemd runs, an fstab line otherwise; only what is missing. */
function persistedBind(b: BindMount, where: string, jail: string, facts: HostFacts, opts: PlanOptions): Action[] {
  const out: Action[] = [];
  if (!facts.mounts.includes(where)) {
    out.push({ effect: { kind: 'mount', source: b.source, target: where, options: bindOptions(b) }, undo: [{ kind: 'umount', target: where }], pre: { kind: 'dir', path: where } });
  }
  if (facts.systemd) {
    const unit = path.join('/etc/systemd/system', systemdUnitForPath(where));
    const text = mountUnitText(b, where, jail);
    const have = facts.mountUnits[unit];
    const write = ensureFile(unit, have, { kind: 'write', path: unit, content: text, mode: 0o644, ...ROOT }, opts.sha256(text));
    if (write.length > 0) {
      // The unit's undo reloads systemd after the file is gone, so systemd forgets it.
      write[0]!.undo.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
      out.push(...write, runAction(['systemctl', 'daemon-reload'], []), runAction(['systemctl', 'enable', path.basename(unit)], [['systemctl', 'disable', path.basename(unit)]]));
    }
  } else {
    const line = fstabLine(b, where);
    if (!facts.fstab.text.split('\n').includes(line)) {
      out.push({ effect: { kind: 'line-add', path: facts.fstab.path, line }, undo: [{ kind: 'line-remove', path: facts.fstab.path, line }], pre: { kind: 'none' } });
    }
  }
  return out;
}

export function mountsStage({ facts, opts, wide, jail, steps }: Pick<ApplyContext, 'facts' | 'opts' | 'wide' | 'jail' | 'steps'>): void {
  const mountActions: Action[] = [];
  for (const b of wide.binds) mountActions.push(...persistedBind(b, path.join(jail, b.target), jail, facts, opts));
  if (mountActions.length === 0) return;
  steps.push({
    id: 'mounts',
    title: `Bind-mount ${wide.binds.map((b) => `${b.source} at ${b.target}`).join(', ')}`,
    why: [
      'Host data shown inside the jail with nodev,nosuid,noexec (and ro where asked): nothing in it can run or escalate.',
      facts.systemd ? 'Persisted as a systemd mount unit, so it is back after a reboot.' : 'Persisted as an /etc/fstab line with nofail, so it is back after a reboot and a missing source never stops the boot.',
      'Undo unmounts and forgets it; the host data itself is never touched.',
    ],
    actions: mountActions,
  });
}

/**
 * The dirs the user can write, bound onto themselves noexec: nothing uploaded runs, not even
 * through the jail's ld.so (it cannot map an executable segment from there).
 */
export function noexecStage({ a, facts, opts, wide, jail, user, steps }: Pick<ApplyContext, 'a' | 'facts' | 'opts' | 'wide' | 'jail' | 'user' | 'steps'>): void {
  const everyone = [a, ...facts.sharers.map((x) => x.record.answers)];
  const noexec = noexecDirs(a, user.home, everyone, wide.extras);
  const noexecActions = noexec.flatMap((d) => {
    const where = path.join(jail, d);
    return persistedBind({ source: where, target: d, readOnly: false }, where, jail, facts, opts);
  });
  if (noexecActions.length === 0) return;
  steps.push({
    id: 'noexec',
    title: `Mount ${noexec.join(', ')} noexec,nosuid,nodev (each a bind onto itself)`,
    why: [
      `What ${user.name} can write cannot run: a program uploaded there is refused by the kernel, and so is the same program run through the jail's ld.so.`,
      a.noexec === undefined ? `On by default for a user without bash (noexec: false turns it off).` : `Asked for with noexec: true.`,
      facts.systemd ? 'Persisted as a systemd mount unit, like bind mounts.' : 'Persisted as an /etc/fstab line with nofail, like bind mounts.',
    ],
    actions: noexecActions,
  });
}

/**
 * Mounts an earlier apply made that the answers no longer ask for: a bind taken out of
 * binds, or the noexec bind of a user who now has sftp alone. Taking a bind out of the
 * answers must take the host data out of the jail, not leave it there under a "nothing to
 * do". Each is unmounted and forgotten at boot, and both the old actions and these leave
 * the record (ctx.revoked): the record keeps only what the jail still has.
 */
export function unmountStage(ctx: Pick<ApplyContext, 'a' | 'facts' | 'wide' | 'jail' | 'user' | 'steps' | 'revoked'>): void {
  const { a, facts, wide, jail, user, steps, revoked } = ctx;
  if (!facts.record) return;
  const everyone = [a, ...facts.sharers.map((x) => x.record.answers)];
  const wanted = new Set([...wide.binds.map((b) => path.join(jail, b.target)), ...noexecDirs(a, user.home, everyone, wide.extras).map((d) => path.join(jail, d))]);
  const recorded = facts.record.actions;
  const gone = [...new Set(recorded.flatMap((x) => (x.effect.kind === 'mount' && x.effect.target.startsWith(`${jail}/`) && !wanted.has(x.effect.target) ? [x.effect.target] : [])))];
  if (gone.length === 0) return;
  const actions: Action[] = [];
  for (const where of gone) {
    const unitName = systemdUnitForPath(where);
    const unitPath = path.join('/etc/systemd/system', unitName);
    // In this order: unmounted, no longer enabled, its unit gone and systemd told (or its fstab line gone).
    const umount: Action[] = [];
    const disable: Action[] = [];
    const forget: Action[] = [];
    for (const x of recorded) {
      const e = x.effect;
      if (e.kind === 'mount' && e.target === where) {
        revoked.add(x);
        if (facts.mounts.includes(where)) umount.push({ effect: { kind: 'umount', target: where }, undo: [e], pre: { kind: 'none' } });
      } else if (e.kind === 'line-add' && e.line.split(' ')[1] === where) {
        revoked.add(x);
        forget.push({ effect: { kind: 'line-remove', path: e.path, line: e.line }, undo: [e], pre: { kind: 'none' } });
      } else if (e.kind === 'run' && e.argv[0] === 'systemctl' && e.argv[1] === 'enable' && e.argv[2] === unitName) {
        revoked.add(x);
        disable.push(runAction(['systemctl', 'disable', unitName], [['systemctl', 'enable', unitName]]));
      } else if (e.kind === 'write' && e.path === unitPath) {
        revoked.add(x);
        // The undo puts the unit back and tells systemd again.
        forget.push(
          { effect: { kind: 'unlink', path: unitPath }, undo: [{ kind: 'restore', path: unitPath }, { kind: 'run', argv: ['systemctl', 'daemon-reload'] }], pre: { kind: 'none' } },
          runAction(['systemctl', 'daemon-reload'], []),
        );
      }
    }
    actions.push(...umount, ...disable, ...forget);
  }
  steps.push({
    id: 'unmount',
    title: `Unmount ${gone.map((w) => w.slice(jail.length)).join(', ')}, which the answers no longer ask for`,
    why: [
      'An earlier apply mounted it; the answers no longer have it (a bind taken out of binds, or a noexec dir of a user who now has sftp alone).',
      'Unmounted now and forgotten at boot; the host data itself is never touched, and undo mounts it again.',
    ],
    actions,
  });
}
