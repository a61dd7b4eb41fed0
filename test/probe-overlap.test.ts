// The connection test runs probes several at a time (sessions on one master) but must read
// exactly as one at a time did: lines in table order, two probes on the same jail path
// never at once (a write attempt compares the host path before and after), the number of
// lanes honoured, and no client left running behind a failure. Pure: fake probes with
// timers stand in for the clients; the real ones run in engine-e2e and verify.
import { describe, expect, it } from 'vitest';
import { probeSections, probeTable, runOverlapped, PROBE_ORDER, type PlannedProbe, type ProbeTarget } from '../src/workflows/verify.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fake(n: number, path?: string): PlannedProbe {
  return { order: PROBE_ORDER.escapes + n, name: `p${n}`, path, spec: { name: `p${n}`, order: PROBE_ORDER.escapes + n } as never };
}

/** Runs the probes through runOverlapped with the given delays; records what ran when. */
async function drive(probes: PlannedProbe[], lanes: number, delay: (p: PlannedProbe) => number, fail?: string) {
  const reported: string[] = [];
  const running = new Set<string>();
  const overlaps: string[] = [];
  let most = 0;
  let endedAfterFailure = 0;
  let failedAt = -1;
  const error = await runOverlapped(
    probes,
    lanes,
    async (p, say) => {
      for (const other of running) if (probes.find((q) => q.name === other)?.path === p.path && p.path) overlaps.push(`${other}+${p.name}`);
      running.add(p.name!);
      most = Math.max(most, running.size);
      await sleep(delay(p));
      running.delete(p.name!);
      if (failedAt >= 0) endedAfterFailure++;
      if (p.name === fail) {
        failedAt = Date.now();
        throw new Error(`${p.name} blew up`);
      }
      say(p.name!, true, 'ok');
    },
    (name) => reported.push(name),
  ).then(
    () => undefined,
    (e: Error) => e,
  );
  return { reported, overlaps, most, error, stillRunning: running.size, endedAfterFailure };
}

describe('runOverlapped', () => {
  it('reports in table order whatever order the probes end in', async () => {
    const probes = Array.from({ length: 9 }, (_, i) => fake(i));
    // The first probes take longest, so they end last.
    const r = await drive(probes, 4, (p) => 40 - Number(p.name!.slice(1)) * 4);
    expect(r.reported).toEqual(probes.map((p) => p.name));
    expect(r.most).toBe(4);
  });

  it('never runs two probes on the same jail path at once', async () => {
    const probes = [fake(0, '/x'), fake(1, '/x'), fake(2, '/y'), fake(3, '/y'), fake(4, '/x'), fake(5)];
    const r = await drive(probes, 4, () => 10);
    expect(r.overlaps).toEqual([]);
    expect(r.reported).toEqual(probes.map((p) => p.name));
  });

  it('holds to one lane when sshd allows one session', async () => {
    const r = await drive(Array.from({ length: 5 }, (_, i) => fake(i)), 1, () => 5);
    expect(r.most).toBe(1);
  });

  it('rejects with the failing probe, after the probes under way have ended', async () => {
    const probes = Array.from({ length: 6 }, (_, i) => fake(i));
    const r = await drive(probes, 3, (p) => (p.name === 'p1' ? 5 : 30), 'p1');
    expect(r.error?.message).toBe('p1 blew up');
    expect(r.stillRunning).toBe(0);
    expect(r.endedAfterFailure).toBeGreaterThan(0);
    // What came before the failure in table order was still reported.
    expect(r.reported).toEqual(['p0']);
  });
});

describe('probeSections', () => {
  const target: ProbeTarget = { user: 'u', tools: ['bash', 'rsync', 'scp', 'sftp'], jail: '/srv/j/u', host: '127.0.0.1', port: 22, identityFile: '/k' };

  it('overlaps the tools and the escapes, and keeps the option rows one at a time', () => {
    const sections = probeSections(probeTable({ ...target, umask: '027', tools: ['sftp'], log: true, binds: [{ source: '/data', target: '/data', readOnly: true }] }, 'jwt'));
    // sftp's round trip, then umask, binds and log one by one, then the escapes together.
    expect(sections.map((s) => s.overlap)).toEqual([true, false, true]);
    expect(sections[1]!.probes.every((p) => p.order >= PROBE_ORDER.options && p.order < PROBE_ORDER.escapes)).toBe(true);
  });

  it('is one overlapping section for a jail without options', () => {
    const sections = probeSections(probeTable(target, 'jwt'));
    expect(sections).toHaveLength(1);
    expect(sections[0]!.overlap).toBe(true);
    // The same write-refused path through every tool that can try it: one lane for each path.
    const paths = sections[0]!.probes.filter((p) => p.path === '/jwt').map((p) => p.name);
    expect(paths.length).toBeGreaterThan(1);
  });
});
