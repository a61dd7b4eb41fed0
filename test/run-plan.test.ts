// The one plan runner (runPlan) and the one exit-code map (exitCodeFor). The plans here are
// real effects on real files, all inside a temp dir of this test; the journal lives in a
// temp state dir. Nothing on the host outside those dirs changes.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPlan, type RunPlanOptions } from '../src/engine/run-plan.ts';
import { EXIT, ExternalError, Interrupted, RollbackIncomplete, StepFailed, UserError, errorKind, exitCodeFor, exitMeaning, interruptionOf } from '../src/model/errors.ts';
import { interruptCount } from '../src/host/interrupts.ts';
import type { Action, Plan, Step } from '../src/model/effects.ts';
import type { ExecEvent } from '../src/engine/executor.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A work dir for the plan's files and a state dir for its journal, both this test's own. */
function sandbox(): { work: string; state: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'jw-run-plan-'));
  dirs.push(root);
  const work = path.join(root, 'work');
  const state = path.join(root, 'state');
  mkdirSync(work, { mode: 0o700 });
  mkdirSync(state, { mode: 0o700 });
  return { work, state };
}

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

function mkdir(p: string): Action {
  return { effect: { kind: 'mkdir', path: p, mode: 0o755, uid, gid }, undo: [{ kind: 'rmdir', path: p }], pre: { kind: 'absent', path: p } };
}

function write(p: string, content: string, undo = true): Action {
  return { effect: { kind: 'write', path: p, content, mode: 0o644, uid, gid }, undo: undo ? [{ kind: 'restore', path: p }] : [], pre: { kind: 'none' } };
}

function step(id: string, ...actions: Action[]): Step {
  return { id, title: `Step ${id}`, why: [], actions };
}

function plan(...steps: Step[]): Plan {
  return { command: 'apply', user: 'runplan', notes: [], steps };
}

/** The outcome line of the one run in the journal's history. */
function journalOutcomes(state: string): string[] {
  const h = path.join(state, 'journal', 'history');
  if (!existsSync(h)) return [];
  return readdirSync(h)
    .filter((n) => n.endsWith('.jsonl'))
    .map((n) => readFileSync(path.join(h, n), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; outcome?: string }))
    .map((lines) => lines.find((l) => l.t === 'end')?.outcome ?? 'unfinished');
}

function options<V>(state: string, more: Partial<RunPlanOptions<V>> = {}): RunPlanOptions<V> & { events: ExecEvent[] } {
  const events: ExecEvent[] = [];
  return { stateDir: state, command: 'apply', user: 'runplan', listener: (e) => events.push(e), events, ...more };
}

describe('runPlan', () => {
  it('runs every step, journals the run as committed, and the exit code is 0', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    const o = options(state);
    const outcome = await runPlan(plan(step('a', mkdir(d)), step('b', write(path.join(d, 'f'), 'hello\n'))), o);
    expect(outcome.status).toBe('committed');
    expect(outcome.error).toBeUndefined();
    expect(exitCodeFor(outcome)).toBe(0);
    expect(readFileSync(path.join(d, 'f'), 'utf8')).toBe('hello\n');
    expect(journalOutcomes(state)).toEqual(['committed']);
    expect(o.events.filter((e) => e.type === 'step-done')).toHaveLength(2);
  });

  it('asks before a change: a declined plan changes nothing and opens no journal (exit 0)', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    const asked: Plan[] = [];
    const outcome = await runPlan(plan(step('a', mkdir(d))), options(state, { confirm: async (p) => (asked.push(p), false) }));
    expect(asked).toHaveLength(1);
    expect(outcome.status).toBe('declined');
    expect(exitCodeFor(outcome)).toBe(0);
    expect(existsSync(d)).toBe(false);
    expect(journalOutcomes(state)).toEqual([]);
  });

  it('a failing step rolls back every step before it; exit 1', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    // The second step writes into a dir that does not exist: ENOENT (nothing of it to undo).
    const o = options(state);
    const outcome = await runPlan(plan(step('a', mkdir(d)), step('b', write(path.join(work, 'missing', 'f'), 'x', false))), o);
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.error).toBeInstanceOf(StepFailed);
    expect(outcome.error!.message).toMatch(/^Step b: ENOENT/);
    expect(exitCodeFor(outcome)).toBe(EXIT.failed);
    expect(existsSync(d)).toBe(false);
    expect(readdirSync(work)).toEqual([]);
    expect(journalOutcomes(state)).toEqual(['rolled-back']);
    expect(o.events.map((e) => e.type)).toContain('rollback-done');
  });

  it('a failed verification rolls the run back; with keep, the changes stay and the exit is still 1', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    const failing = { verify: async () => ['probe one'], judge: (v: string[]) => new StepFailed('connection test', new Error(`${v.length} probe(s) failed`)) };
    const back = await runPlan(plan(step('a', mkdir(d))), options(state, failing));
    expect(back.status).toBe('rolled-back');
    expect(back.verified).toEqual(['probe one']);
    expect(exitCodeFor(back)).toBe(1);
    expect(existsSync(d)).toBe(false);

    const kept = await runPlan(plan(step('a', mkdir(d))), options(state, { ...failing, onVerifyFailure: 'keep' as const }));
    expect(kept.status).toBe('committed');
    expect(kept.error?.message).toBe('connection test: 1 probe(s) failed');
    expect(exitCodeFor(kept)).toBe(1);
    expect(existsSync(d)).toBe(true);
    expect(journalOutcomes(state).sort()).toEqual(['committed', 'rolled-back']);
  });

  it('a follow-up plan the admin declines rolls back the first one', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    const outcome = await runPlan(plan(step('a', mkdir(d))), options(state, { next: async () => plan(step('b', mkdir(path.join(d, 'sub')))), confirmNext: async () => false }));
    expect(outcome.status).toBe('rolled-back');
    expect(outcome.error?.message).toBe('confirmation: declined by the admin');
    expect(existsSync(d)).toBe(false);
  });

  for (const [sig, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
    it(`${sig} between two plans: "interrupted by ${sig}", rolled back, exit ${code}`, async () => {
      const { work, state } = sandbox();
      const d = path.join(work, 'jail');
      const before = interruptCount();
      const outcome = await runPlan(
        plan(step('a', mkdir(d), write(path.join(d, 'f'), 'x'))),
        options(state, {
          // A real signal to this process, once the first plan ran; the runner's handler takes it.
          async next() {
            process.kill(process.pid, sig);
            while (interruptCount() === before) await new Promise((r) => setImmediate(r));
            return plan(step('b', mkdir(path.join(work, 'never'))));
          },
        }),
      );
      expect(outcome.status).toBe('rolled-back');
      expect(outcome.error).toBeInstanceOf(Interrupted);
      expect(outcome.error!.message).toBe(`interrupted by ${sig}`);
      expect(exitCodeFor(outcome)).toBe(code);
      expect(readdirSync(work)).toEqual([]);
      expect(journalOutcomes(state)).toEqual(['rolled-back']);
      // The handlers go with the run: the next signal is not taken for this run's.
      expect(process.listenerCount(sig)).toBe(0);
    });
  }

  it('a signal during the verification rolls back even with keep', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    const outcome = await runPlan(
      plan(step('a', mkdir(d))),
      options(state, {
        onVerifyFailure: 'keep' as const,
        async verify(ex) {
          process.kill(process.pid, 'SIGTERM');
          while (!ex.interruptedBy) await new Promise((r) => setImmediate(r));
          return 'passed anyway';
        },
      }),
    );
    expect(outcome.status).toBe('rolled-back');
    expect(exitCodeFor(outcome)).toBe(143);
    expect(existsSync(d)).toBe(false);
  });

  it('a rollback that cannot undo everything gives the manual commands and exit 4', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    // Step b leaves a file in the dir step a made (no undo), then fails: a's rmdir meets a non-empty dir.
    const o = options(state);
    const outcome = await runPlan(plan(step('a', mkdir(d)), step('b', write(path.join(d, 'left'), 'x', false), write(path.join(work, 'missing', 'f'), 'x', false))), o);
    expect(outcome.status).toBe('rollback-incomplete');
    expect(outcome.error).toBeInstanceOf(RollbackIncomplete);
    expect(outcome.error!.message).toMatch(/^Step b: ENOENT/);
    expect(outcome.manual).toHaveLength(1);
    expect(outcome.manual[0]).toContain(`rmdir ${d}`);
    expect(outcome.manual[0]).toContain('ENOTEMPTY');
    expect(exitCodeFor(outcome)).toBe(EXIT.rollbackIncomplete);
    expect(journalOutcomes(state)).toEqual(['rollback-incomplete']);
    const done = o.events.find((e) => e.type === 'rollback-done');
    expect(done).toEqual({ type: 'rollback-done', manual: outcome.manual });
  });

  it('refuses to begin while another run is unfinished: thrown before any change (exit 2)', async () => {
    const { work, state } = sandbox();
    const d = path.join(work, 'jail');
    // An unfinished journal of a run that is gone: a pid that cannot be alive.
    const journal = path.join(state, 'journal');
    mkdirSync(journal, { recursive: true });
    writeFileSync(path.join(journal, 'current.jsonl'), `${JSON.stringify({ t: 'begin', command: 'apply', user: 'x', pid: 2 ** 22 + 1, at: '' })}\n`);
    const e = await runPlan(plan(step('a', mkdir(d))), options(state)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect(exitCodeFor(e)).toBe(2);
    expect(existsSync(d)).toBe(false);
  });
});

describe('exitCodeFor', () => {
  it('maps each kind of error to the README\'s exit code', () => {
    const cases: [unknown, string, number][] = [
      [new UserError('bad name', 'hint'), 'user', 2],
      [new ExternalError(['useradd', 'x'], 'boom', 9), 'external', 1],
      [new Interrupted('SIGINT'), 'interrupted', 130],
      [new Interrupted('SIGTERM'), 'interrupted', 143],
      [new Interrupted('SIGHUP'), 'interrupted', 129],
      [new StepFailed('Create user', new Error('no')), 'step-failed', 1],
      [new RollbackIncomplete(new Error('no'), ['rmdir /x']), 'rollback-incomplete', 4],
      [new TypeError('x is undefined'), 'bug', 1],
      ['a string', 'bug', 1],
    ];
    for (const [e, kind, code] of cases) {
      expect(errorKind(e), String(e)).toBe(kind);
      expect(exitCodeFor(e), String(e)).toBe(code);
    }
  });

  it('maps outcomes: ok and declined 0, otherwise by their error', () => {
    expect(exitCodeFor({ status: 'committed' })).toBe(0);
    expect(exitCodeFor({ status: 'declined' })).toBe(0);
    expect(exitCodeFor({ status: 'rolled-back', error: new Interrupted('SIGTERM') })).toBe(143);
    expect(exitCodeFor({ status: 'rolled-back', error: new StepFailed('x', new Error('y')) })).toBe(1);
    expect(exitCodeFor({ status: 'rollback-incomplete', error: new RollbackIncomplete(new Interrupted('SIGINT'), ['x']) })).toBe(4);
    expect(exitCodeFor({ status: 'committed', error: new StepFailed('connection test', new Error('1 probe failed')) })).toBe(1);
  });

  it('finds the signal behind a wrapped interruption, and says what each code means', () => {
    expect(interruptionOf(new RollbackIncomplete(new Interrupted('SIGHUP'), ['x']))?.signal).toBe('SIGHUP');
    expect(interruptionOf(new StepFailed('s', new Interrupted('SIGINT')))?.signal).toBe('SIGINT');
    expect(interruptionOf(new StepFailed('s', new Error('no')))).toBeUndefined();
    expect([0, 1, 2, 4, 130, 143].map(exitMeaning)).toEqual(['ok', 'failed and rolled back', 'bad input, nothing changed', 'rollback incomplete', 'interrupted by SIGINT, rolled back', 'interrupted by SIGTERM, rolled back']);
  });
});
