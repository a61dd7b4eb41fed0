// The journal's history (#11 item 11): once a run has committed or been rolled back its
// backups go, and history keeps only the newest runs (100, at most 50 MB). No root needed:
// the journal lives in a temp state dir.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HISTORY_LIMITS, Journal, historyUsage } from '../src/engine/journal.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'jw-journal-'));
  dirs.push(d);
  return d;
}

const history = (state: string): string => path.join(state, 'journal', 'history');

/** A run in history as an older jailwizard left it: its journal, and maybe its backups (`bytes`, sparse). */
function oldRun(state: string, i: number, outcome: string, backupBytes = 0): string {
  const name = `2026-01-01T${String(Math.floor(i / 60)).padStart(2, '0')}-${String(i % 60).padStart(2, '0')}-00-000Z-${1000 + i}`;
  mkdirSync(history(state), { recursive: true });
  const lines = [{ t: 'begin', command: 'apply', user: `u${i}`, pid: 1000 + i, at: '' }, { t: 'end', outcome, at: '' }];
  writeFileSync(path.join(history(state), `${name}.jsonl`), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  if (backupBytes > 0) {
    mkdirSync(path.join(history(state), `${name}-backups`));
    const f = path.join(history(state), `${name}-backups`, '0');
    writeFileSync(f, '');
    truncateSync(f, backupBytes);
  }
  return name;
}

/** One whole run through the journal: a backed-up file, then finish with this outcome. */
function oneRun(state: string, outcome: 'committed' | 'rolled-back' | 'rollback-incomplete', victimBytes = 4096): string {
  const j = Journal.begin(state, 'remove', 'alice');
  const victim = path.join(state, 'victim');
  writeFileSync(victim, 'x');
  truncateSync(victim, victimBytes);
  const b = j.backup(victim);
  j.append({ t: 'intent', n: 1, title: 'Remove it', actions: [], backups: [b] });
  const scratch = j.scratchDir();
  writeFileSync(path.join(scratch, 'id_ed25519'), 'a temporary key');
  return path.basename(j.finish(outcome), '.jsonl');
}

describe('journal history', () => {
  it('drops the backups of a run that committed or was rolled back, and its scratch files, and keeps its journal', () => {
    const state = stateDir();
    for (const outcome of ['committed', 'rolled-back'] as const) {
      const name = oneRun(state, outcome);
      expect(readdirSync(history(state))).toContain(`${name}.jsonl`);
      expect(readdirSync(history(state))).not.toContain(`${name}-backups`);
    }
    expect(readdirSync(path.join(state, 'journal')).sort()).toEqual(['history']);
  });

  it('keeps the backups of a run whose rollback was incomplete: the manual commands may need them', () => {
    const state = stateDir();
    const name = oneRun(state, 'rollback-incomplete');
    expect(readdirSync(path.join(history(state), `${name}-backups`))).toEqual(['0']);
  });

  it('drops the backups older jailwizards kept for finished runs', () => {
    const state = stateDir();
    const done = oldRun(state, 0, 'committed', 12_500_000);
    const undone = oldRun(state, 1, 'rolled-back', 1000);
    const stuck = oldRun(state, 2, 'rollback-incomplete', 1000);
    oneRun(state, 'committed');
    const left = readdirSync(history(state));
    expect(left).not.toContain(`${done}-backups`);
    expect(left).not.toContain(`${undone}-backups`);
    expect(left).toContain(`${stuck}-backups`);
    expect(left).toContain(`${done}.jsonl`);
  });

  it(`keeps the newest ${HISTORY_LIMITS.runs} runs`, () => {
    const state = stateDir();
    const names = Array.from({ length: 130 }, (_, i) => oldRun(state, i, 'committed'));
    const newest = oneRun(state, 'committed');
    const left = readdirSync(history(state)).sort();
    expect(left).toHaveLength(HISTORY_LIMITS.runs);
    expect(left).toEqual([...names.slice(-(HISTORY_LIMITS.runs - 1)), newest].map((n) => `${n}.jsonl`).sort());
    expect(historyUsage(state)).toMatchObject({ runs: HISTORY_LIMITS.runs, dir: history(state) });
  });

  it(`keeps at most ${HISTORY_LIMITS.bytes / 1e6} MB, newest first, and always the newest run`, () => {
    const state = stateDir();
    const old = [0, 1, 2].map((i) => oldRun(state, i, 'committed'));
    const big = [3, 4, 5].map((i) => oldRun(state, i, 'rollback-incomplete', 20_000_000));
    oneRun(state, 'committed');
    const left = readdirSync(history(state));
    // The newest two big runs fit (40 MB and the small ones), the third would not: it and everything older go.
    expect(left.filter((n) => n.endsWith('-backups')).sort()).toEqual([`${big[1]}-backups`, `${big[2]}-backups`]);
    for (const n of [big[0], ...old]) expect(existsSync(path.join(history(state), `${n}.jsonl`))).toBe(false);
    const usage = historyUsage(state);
    expect(usage.runs).toBe(3);
    expect(usage.bytes).toBeGreaterThan(40_000_000);
    expect(usage.bytes).toBeLessThanOrEqual(HISTORY_LIMITS.bytes);

    // A run bigger than the bound is still kept while it is the newest; everything older goes.
    const huge = oneRun(state, 'rollback-incomplete', HISTORY_LIMITS.bytes + 1_000_000);
    expect(readdirSync(history(state)).sort()).toEqual([`${huge}-backups`, `${huge}.jsonl`]);
  });
});
