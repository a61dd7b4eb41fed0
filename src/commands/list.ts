// `jailwizard list`: the jails jailwizard manages.
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { lastUpdate, listRecords } from '../state.ts';
import { lastCheck } from './check.ts';
import { say } from '../output.ts';
import type { CommonOptions } from './common.ts';

/** Bytes under a dir, counting each inode once and not following symlinks. */
function duBytes(dir: string): number {
  const seen = new Set<number>();
  let total = 0;
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      if (st.isFile()) total += st.size;
    }
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
  };
  walk(dir);
  return total;
}

export function listCommand(o: CommonOptions & { json: boolean }): number {
  const rows = listRecords(o.stateDir).map((r) => ({
    user: r.user,
    tools: r.tools,
    jail: r.jail,
    bytes: duBytes(r.jail),
    appliedAt: r.appliedAt,
    lastCheck: lastCheck(o.stateDir, r.user) ?? null,
    lastUpdate: lastUpdate(o.stateDir, r.user) ?? null,
  }));
  if (o.json) {
    say(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    say('No jails managed by jailwizard.');
    return 0;
  }
  const when = (at: string): string => at.slice(0, 16).replace('T', ' ');
  say(['USER', 'TOOLS', 'JAIL', 'SIZE', 'LAST CHECK', 'LAST UPDATE'].join('\t'));
  for (const r of rows) {
    const u = r.lastUpdate;
    say(
      [
        r.user,
        r.tools.join(','),
        r.jail,
        `${(r.bytes / 1e6).toFixed(1)} MB`,
        r.lastCheck ? `${r.lastCheck.ok ? 'ok' : `${r.lastCheck.findings} findings`} ${when(r.lastCheck.at)}` : '-',
        u ? `${u.result === 'failed' ? 'FAILED' : u.result}${u.via === 'apt-hook' ? ' (apt hook)' : ''} ${when(u.at)}` : '-',
      ].join('\t'),
    );
  }
  // A failed update leaves the jail on old binaries: say why, where it cannot be missed.
  for (const r of rows) {
    const u = r.lastUpdate;
    if (u?.result === 'failed') say(`${r.user}: the last update${u.via === 'apt-hook' ? ' (run by the apt hook)' : ''} failed at ${when(u.at)}: ${u.reason ?? 'no reason recorded'}; run: jailwizard update ${r.user}`);
  }
  return 0;
}
