// Stage "record": jailwizard's record of the jail, so test, update and remove know what was made.
import { recordPath, type JailRecord } from '../../host/state.ts';
import { ROOT, type ApplyContext } from './context.ts';

export function recordStage({ a, facts, opts, jail, user, grant, steps, manifest, logFile, syslogConfig, revoked }: Pick<ApplyContext, 'a' | 'facts' | 'opts' | 'jail' | 'user' | 'grant' | 'steps' | 'manifest' | 'logFile' | 'syslogConfig' | 'revoked'>): void {
  if (steps.length === 0) return;
  const s = facts.sshd;
  const prev = facts.record;
  // A mount taken back leaves the record with the actions that made it: remove never sees it.
  const actions = [...(prev?.actions ?? []).filter((x) => !revoked.has(x)), ...steps.filter((st) => st.id !== 'unmount').flatMap((st) => st.actions)];
  const record: JailRecord = {
    version: 1,
    user: user.name,
    jail,
    tools: a.tools,
    answers: a,
    createdUser: prev ? prev.createdUser : !user.exists,
    uid: user.uid,
    gid: user.gid,
    sshdConfig: s.mainConfig,
    dropIn: s.dropInPath,
    addedInclude: prev?.addedInclude ?? (s.needsInclude ? s.includeLine : undefined),
    actions,
    manifest,
    ...(logFile ? { logFile } : {}),
    ...(syslogConfig ? { syslogConfig } : {}),
    ...(grant ? { gate: grant } : {}),
    appliedAt: opts.now,
  };
  const rp = recordPath(facts.stateDir, user.name);
  const content = `${JSON.stringify(record, null, 2)}\n`;
  steps.push({
    id: 'record',
    title: `Record the jail in ${rp}`,
    why: ['jailwizard remembers every change it made, so `jailwizard remove` can undo exactly those.'],
    actions: [
      {
        effect: { kind: 'write', path: rp, content, mode: 0o600, ...ROOT, summary: `jailwizard's record: ${actions.length} changes, ${manifest.length} files` },
        undo: [{ kind: 'restore', path: rp }],
        pre: { kind: 'none' },
      },
    ],
  });
}
