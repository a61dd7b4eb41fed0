// `jailwizard list`: the jails jailwizard manages, how their last check and update went, and
// how much its journal history holds.
import { lastUpdate, listRecords, type UpdateOutcome } from '../host/state.ts';
import { duBytes } from '../host/disk-usage.ts';
import { historyUsage } from '../engine/journal.ts';
import { lastCheck } from './check.ts';
import { say } from './output.ts';
import type { CommonOptions } from './common.ts';

/** What `list --json` prints. */
export interface ListJson {
  jails: {
    user: string;
    tools: string[];
    jail: string;
    bytes: number;
    appliedAt: string;
    lastCheck: { at: string; ok: boolean; findings: number } | null;
    lastUpdate: UpdateOutcome | null;
  }[];
  history: ReturnType<typeof historyUsage>;
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const when = (at: string): string => at.slice(0, 16).replace('T', ' ');

export function listCommand(o: CommonOptions & { json: boolean }): number {
  const jails = listRecords(o.stateDir).map((r) => ({
    user: r.user,
    tools: r.tools,
    jail: r.jail,
    bytes: duBytes(r.jail),
    appliedAt: r.appliedAt,
    lastCheck: lastCheck(o.stateDir, r.user) ?? null,
    lastUpdate: lastUpdate(o.stateDir, r.user) ?? null,
  }));
  const history = historyUsage(o.stateDir);
  if (o.json) {
    say(JSON.stringify({ jails, history } satisfies ListJson, null, 2));
    return 0;
  }
  if (jails.length === 0) say('No jails managed by jailwizard.');
  else {
    say(['USER', 'TOOLS', 'JAIL', 'SIZE', 'LAST CHECK', 'LAST UPDATE'].join('\t'));
    for (const r of jails) {
      const u = r.lastUpdate;
      say(
        [
          r.user,
          r.tools.join(','),
          r.jail,
          mb(r.bytes),
          r.lastCheck ? `${r.lastCheck.ok ? 'ok' : `${r.lastCheck.findings} finding${r.lastCheck.findings === 1 ? '' : 's'}`} ${when(r.lastCheck.at)}` : '-',
          u ? `${u.result === 'failed' ? 'FAILED' : u.result}${u.via === 'apt-hook' ? ' (apt hook)' : ''} ${when(u.at)}` : '-',
        ].join('\t'),
      );
    }
    // A failed update leaves the jail on old binaries: say why, where it cannot be missed.
    for (const r of jails) {
      const u = r.lastUpdate;
      if (u?.result === 'failed') say(`${r.user}: the last update${u.via === 'apt-hook' ? ' (run by the apt hook)' : ''} failed at ${when(u.at)}: ${u.reason ?? 'no reason recorded'}; run: jailwizard update ${r.user}`);
    }
  }
  say(`Journal history: ${history.runs} run${history.runs === 1 ? '' : 's'}, ${mb(history.bytes)} in ${history.dir} (the newest ${history.limits.runs} runs are kept, at most ${mb(history.limits.bytes)}).`);
  return 0;
}
