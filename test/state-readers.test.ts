// Every file jailwizard reads back from its state dir is checked by state-check.ts when read:
// the last update of a jail, the retired uids, and the end of each run in history (records
// and the unfinished journal are covered in bad-state.test.ts). No root needed: a temp state dir.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lastUpdate, readRetiredUids, rememberUpdate, retiredUidsPath, type UpdateOutcome } from '../src/host/state.ts';
import { historyDir, pruneHistory } from '../src/engine/journal.ts';
import { UserError } from '../src/model/errors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'jw-state-readers-'));
  dirs.push(d);
  return d;
}

/** The one line (and hint) a command prints for the file, or the test fails. */
function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('it was read without complaint');
}

describe('the last update of a jail', () => {
  const good: UpdateOutcome = { user: 'alice', at: '2026-11-30T00:00:00.000Z', via: 'apt-hook', result: 'updated', summary: '2 files', exitCode: 0 };

  it('reads back what update wrote; none is undefined', () => {
    const dir = stateDir();
    expect(lastUpdate(dir, 'alice')).toBeUndefined();
    rememberUpdate(dir, good);
    expect(lastUpdate(dir, 'alice')).toEqual(good);
  });

  const BAD: [string, string, string][] = [
    ['torn JSON', '{"user": "alice", "at"', 'it is not JSON'],
    ['a list', '[]', 'must be an object'],
    ['a number where a string belongs', JSON.stringify({ ...good, at: 5 }), 'at must be a string'],
    ['an unknown result', JSON.stringify({ ...good, result: 'exploded' }), 'result "exploded" is unknown'],
    ['an unknown via', JSON.stringify({ ...good, via: 'cron' }), 'via "cron" is unknown'],
    ['no exit code', JSON.stringify({ ...good, exitCode: undefined }), 'exitCode is missing'],
    ["another user's update", JSON.stringify({ ...good, user: 'bob' }), 'update of "bob"'],
  ];
  for (const [name, text, says] of BAD) {
    it(`${name}: one line naming the file`, () => {
      const dir = stateDir();
      const p = path.join(dir, 'updates', 'alice.json');
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, text);
      const e = refusal(() => lastUpdate(dir, 'alice'));
      expect(e.message).toContain(p);
      expect(e.message).toContain(says);
      expect(e.message).not.toContain('\n');
      expect(e.hint).toMatch(/jailwizard update/);
    });
  }
});

describe('the retired uids', () => {
  const good = [{ uid: 61000, user: 'alice', jail: '/srv/jails/alice', removedAt: '2026-11-30T00:00:00.000Z' }];

  it('reads the list and its text; none is an empty list', () => {
    const dir = stateDir();
    expect(readRetiredUids(dir)).toEqual({ list: [] });
    writeFileSync(retiredUidsPath(dir), JSON.stringify(good));
    expect(readRetiredUids(dir)).toEqual({ list: good, text: JSON.stringify(good) });
  });

  const BAD: [string, string, string][] = [
    ['torn JSON', '[{"uid": 6', 'it is not JSON'],
    ['an object', '{}', 'the list must be a list'],
    ['a uid as a string', JSON.stringify([{ ...good[0], uid: '61000' }]), 'the list[0].uid must be a number'],
    ['a negative uid', JSON.stringify([{ ...good[0], uid: -1 }]), 'the list[0].uid -1 is not a uid'],
    ['a fractional uid', JSON.stringify([{ ...good[0], uid: 1.5 }]), 'is not a uid'],
    ['an entry without its user', JSON.stringify([{ uid: 61000, jail: '/srv/j', removedAt: '' }]), 'the list[0].user is missing'],
  ];
  for (const [name, text, says] of BAD) {
    it(`${name}: one line naming the file`, () => {
      const dir = stateDir();
      writeFileSync(retiredUidsPath(dir), text);
      const e = refusal(() => readRetiredUids(dir));
      expect(e.message).toContain(retiredUidsPath(dir));
      expect(e.message).toContain(says);
      expect(e.hint).toMatch(/backup/);
    });
  }
});

describe('the end of a run in history', () => {
  /** A finished run with backups, whose journal ends with `end` (a line of text). */
  function run(dir: string, name: string, end: string): string {
    const hist = historyDir(dir);
    mkdirSync(path.join(hist, `${name}-backups`), { recursive: true });
    writeFileSync(path.join(hist, `${name}-backups`, '1'), 'backup');
    writeFileSync(path.join(hist, `${name}.jsonl`), `${JSON.stringify({ t: 'begin', command: 'apply', user: 'alice', pid: 1, at: '' })}\n${end}\n`);
    return path.join(hist, `${name}-backups`);
  }

  it('only a valid end entry lets pruning drop the backups; anything else keeps them', () => {
    const dir = stateDir();
    const committed = run(dir, '2026-11-30T00-00-01-000Z-1', JSON.stringify({ t: 'end', outcome: 'committed', at: 'x' }));
    const rolledBack = run(dir, '2026-11-30T00-00-02-000Z-2', JSON.stringify({ t: 'end', outcome: 'rolled-back', at: 'x' }));
    const incomplete = run(dir, '2026-11-30T00-00-03-000Z-3', JSON.stringify({ t: 'end', outcome: 'rollback-incomplete', at: 'x' }));
    // An end line without its time is not one jailwizard wrote: the outcome is unknown.
    const noTime = run(dir, '2026-11-30T00-00-04-000Z-4', JSON.stringify({ t: 'end', outcome: 'committed' }));
    const unknown = run(dir, '2026-11-30T00-00-05-000Z-5', JSON.stringify({ t: 'end', outcome: 'finished', at: 'x' }));
    const torn = run(dir, '2026-11-30T00-00-06-000Z-6', '{"t":"end","outc');
    pruneHistory(dir);
    expect(existsSync(committed)).toBe(false);
    expect(existsSync(rolledBack)).toBe(false);
    expect(existsSync(incomplete)).toBe(true);
    expect(existsSync(noTime)).toBe(true);
    expect(existsSync(unknown)).toBe(true);
    expect(existsSync(torn)).toBe(true);
  });
});
