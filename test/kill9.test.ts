// kill -9 at any moment of an apply, the connection test included (#11 item 2): whatever the
// run put on the host, the test key and the probes' files among it, is journaled first, and
// `jailwizard rollback --yes` then ends with exit 0 and a byte-identical host. The moments are
// reached deterministically: JAILWIZARD_PAUSE_AT=N stops before step N, and client:K stops
// while the connection test's K-th client runs (killed, it is left running as an orphan).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, startPaused, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { isRunning, pidsNaming } from '../src/host/proc.ts';
import { masterPids } from '../src/host/ssh-client.ts';

const skip = rootOrSkipReason();
const FOUR = ['bash', 'rsync', 'scp', 'sftp'] as const;

describe.skipIf(skip)('kill -9 at ten moments of an apply, then rollback', () => {
  let env: TestEnv;
  let steps = 0;
  beforeAll(async () => {
    env = await setupEnv();
    const r = await jw(env, ['apply', '--config', answersFile(env, { user: uniqueUser('k9count'), tools: [...FOUR] }), '--dry-run']);
    steps = (r.stdout.match(/^# Step \d+:/gm) ?? []).length;
  });
  afterAll(async () => {
    if (env && hasUnfinishedJournal(env)) await jw(env, ['rollback', '--yes']);
    await teardownEnv(env);
  });

  // The apply's own steps, then the test key (steps + 1) and the note of the probes' files
  // (steps + 2); then clients of a four-tool test: 2 the sftp round trip, 4 the scp download
  // (its upload is on the host), 7 the rsync upload (a temp file), 15 a write attempt, 22 the
  // cleanup's sftp batch.
  const moments = (): string[] => ['1', '4', String(steps), String(steps + 1), String(steps + 2), 'client:2', 'client:4', 'client:7', 'client:15', 'client:22'];

  it('has a plan long enough for the moments', () => {
    expect(steps).toBeGreaterThanOrEqual(8);
    expect(new Set(moments()).size).toBe(10);
  });

  for (let i = 0; i < 10; i++) {
    it(`moment ${i + 1} of 10`, async () => {
      const moment = moments()[i]!;
      const before = await snapshot(env);
      const user = uniqueUser(`k9m${i}`);
      const run = startPaused(env, ['apply', '--config', answersFile(env, { user, tools: [...FOUR] }), '--yes'], moment);
      await run.paused;
      // During the connection test its clients share one control master: running, with its socket in the scratch dir.
      const scratch = path.join(env.stateDir, 'journal', 'scratch');
      const masters = moment.startsWith('client:') ? masterPids(scratch) : [];
      const sockets = moment.startsWith('client:') ? controlSockets(scratch) : [];
      if (moment.startsWith('client:')) {
        expect(masters, `killed at ${moment}`).toHaveLength(1);
        expect(sockets, `killed at ${moment}`).toHaveLength(1);
      }
      run.child.kill('SIGKILL');
      const killed = await run.exited;
      expect(killed.signal, killed.output()).toBe('SIGKILL');
      expect(hasUnfinishedJournal(env)).toBe(true);

      const rb = await jw(env, ['rollback', '--yes']);
      expect(rb.exitCode, `killed at ${moment}\n${killed.output()}\n${out(rb)}`).toBe(0);
      expect(diffSnapshots(before, await snapshot(env)), `killed at ${moment}`).toEqual([]);
      expect(hasUnfinishedJournal(env)).toBe(false);
      // No client of the dead run is left, and its scratch files (the test key) are gone.
      const journal = path.join(env.stateDir, 'journal');
      expect(pidsNaming(path.join(journal, 'scratch'))).toEqual([]);
      // The orphaned control master was stopped by the rollback, and its socket is gone.
      expect(masters.filter(isRunning), `killed at ${moment}`).toEqual([]);
      expect(sockets.filter((s) => existsSync(s)), `killed at ${moment}`).toEqual([]);
      expect(readdirSync(journal).sort()).toEqual(['history']);
      expect(existsSync(path.join(env.stateDir, 'jails', `${user}.json`))).toBe(false);
    }, 300_000);
  }
});

/** The control sockets under the journal's scratch dir (one per running connection test). */
function controlSockets(scratch: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const n of readdirSync(dir)) {
      const p = path.join(dir, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isSocket()) found.push(p);
    }
  };
  if (existsSync(scratch)) walk(scratch);
  return found;
}
