// Stage "sshd": the drop-in with the user's Match block, validated and proved before sshd is reloaded.
import type { Action } from '../../model/effects.ts';
import { UserError } from '../../model/errors.ts';
import { renderDropIn } from '../../host/sshd-config.ts';
import { modeNote, reloadEffect, reloadProblem } from '../../host/sshd-service.ts';
import { allowedSample, deniedAddressPattern, deniedSample } from '../options.ts';
import { ensureDir, ensureFile, sharedDir } from './actions.ts';
import { ROOT, type ApplyContext } from './context.ts';
import { matchSettings } from './tools.ts';

export function sshdStage({ a, facts, opts, jail, user, grant, steps, notes }: Pick<ApplyContext, 'a' | 'facts' | 'opts' | 'jail' | 'user' | 'grant' | 'steps' | 'notes'>): void {
  const s = facts.sshd;
  const settings = matchSettings(a, grant);
  const dropInText = renderDropIn(user.name, settings, a.allowFrom ? deniedAddressPattern(a.allowFrom) : undefined);
  const sshdActions: Action[] = [];
  if (s.needsInclude) {
    if (!s.dropInDirExists) sshdActions.push(...sharedDir(ensureDir(s.dropInDir, undefined, 0o755, 0, 0)));
    const newMain = `${s.includeLine}\n${s.mainText}`;
    sshdActions.push({
      effect: { kind: 'write', path: s.mainConfig, content: newMain, mode: 0o644, ...ROOT, summary: `adds one line at the top: ${s.includeLine}` },
      undo: [{ kind: 'restore', path: s.mainConfig }],
      pre: { kind: 'sha256', path: s.mainConfig, sha256: s.mainSha256 },
    });
    notes.push(`${s.mainConfig} has no Include for drop-ins: jailwizard adds \`${s.includeLine}\` at the top (backed up; undone by remove).`);
  }
  const dropInHave = s.dropIn && s.dropIn.text !== undefined ? { ...s.dropIn, sha256: opts.sha256(s.dropIn.text) } : s.dropIn;
  sshdActions.push(...ensureFile(s.dropInPath, dropInHave, { kind: 'write', path: s.dropInPath, content: dropInText, mode: 0o644, ...ROOT }, opts.sha256(dropInText)));
  if (sshdActions.length === 0) return;
  const addr = a.allowFrom ? allowedSample(a.allowFrom) : (s.listen[0]?.host ?? '127.0.0.1');
  const expect: Record<string, string> = { chrootdirectory: jail, disableforwarding: 'yes', authorizedkeysfile: '/etc/ssh/authorized_keys/%u' };
  if (settings.ForceCommand) expect.forcecommand = settings.ForceCommand;
  sshdActions.push({ effect: { kind: 'sshd-validate', config: s.mainConfig }, undo: [], pre: { kind: 'none' } });
  sshdActions.push({ effect: { kind: 'sshd-expect', config: s.mainConfig, user: user.name, addr, expect }, undo: [], pre: { kind: 'none' } });
  const denied = a.allowFrom && deniedSample(a.allowFrom);
  if (denied) {
    // And from anywhere else, sshd refuses the user outright.
    sshdActions.push({ effect: { kind: 'sshd-expect', config: s.mainConfig, user: user.name, addr: denied, expect: { denyusers: user.name } }, undo: [], pre: { kind: 'none' } });
  }
  const problem = reloadProblem(s.mode);
  if (problem) throw new UserError(problem.message, problem.hint);
  const note = modeNote(s.mode);
  if (note) notes.push(note);
  if (s.reload) {
    const reload = reloadEffect(s.reload, s.pidFile, s.listen);
    sshdActions.push({
      effect: reload,
      undo: [reload],
      pre: s.reload.pid && s.reload.argv[0] === 'kill' ? { kind: 'pid', pidFile: s.pidFile, pid: s.reload.pid } : { kind: 'none' },
      deferUndo: true,
    });
  }
  steps.push({
    id: 'sshd',
    title: `Add the sshd drop-in ${s.dropInPath}, check it, reload sshd`,
    why: [
      'A drop-in is one removable file: the Match block ends at the end of the file, and nothing else in sshd_config changes.',
      '`sshd -t` validates before any reload, and `sshd -T -C user=…` proves the jail applies to this user. Reload, never restart: open sessions stay.',
    ],
    actions: sshdActions,
  });
}
