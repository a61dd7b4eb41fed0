// The one plan runner: preview and confirm, journal, execute, verify, roll back on a failure
// or a signal (SIGINT, SIGTERM, SIGHUP: "interrupted by SIGX", exit 128+N), and the outcome
// the exit code comes from (exitCodeFor). apply, update, remove, doctor --fix, test and the
// wizard all run their plans through it; none of them begins, rolls back or finishes a
// journal of its own.
import { Executor, type Listener } from './executor.ts';
import type { Plan } from '../model/effects.ts';
import { Interrupted, RollbackIncomplete, StepFailed, explain, type Outcome } from '../model/errors.ts';

export interface RunPlanOptions<V> {
  stateDir: string;
  /** What the journal records: the command and the user the run is for. */
  command: string;
  user: string;
  listener?: Listener;
  /** Shows the plan and asks; false changes nothing (`declined`). A plan without steps is not asked about. */
  confirm?(plan: Plan): Promise<boolean>;
  /** The plan to run next in the same journal, once `done` ran (apply: the files of the packages it installed). */
  next?(done: Plan): Promise<Plan | undefined>;
  /** Shows a follow-up plan and asks; false rolls back the whole run. */
  confirmNext?(plan: Plan): Promise<boolean>;
  /** Proves the result inside the journal (the connection test), once every plan ran. */
  verify?(ex: Executor): Promise<V>;
  /** Why what verify returned counts as a failure; undefined when it passed. */
  judge?(verified: V): Error | undefined;
  /**
   * 'roll-back' (the default): a verification that fails or throws undoes the run (apply).
   * 'keep': the changes stay and the outcome carries the failure (doctor --fix's repairs; test).
   * An interruption always rolls back.
   */
  onVerifyFailure?: 'roll-back' | 'keep';
  /** Told why, before the rollback starts (a command that names the failure first). */
  onFailure?(error: Error): void;
}

export interface RunOutcome<V> extends Outcome {
  /** What verify returned, if it returned. */
  verified?: V;
  /** Commands to run by hand: what the rollback could not undo (status rollback-incomplete). */
  manual: string[];
  /** Dirs a remove left in place because something else moved in after the preview. */
  kept: string[];
}

/** The most plans one run follows (apply: its plan, then one for the files of new packages). */
const MAX_PLANS = 3;

/**
 * Runs `plan` (and the plans `next` gives) under one journal, then `verify`. On a failure
 * or a signal everything this run did is rolled back. Throws only before anything changed
 * (the admin's answer could not be read, another run's journal is unfinished).
 */
export async function runPlan<V = undefined>(plan: Plan, o: RunPlanOptions<V>): Promise<RunOutcome<V>> {
  if (plan.steps.length > 0 && o.confirm && !(await o.confirm(plan))) return { status: 'declined', manual: [], kept: [] };
  const ex = Executor.begin(o.stateDir, o.command, o.user, o.listener);
  let verified: V | undefined;
  try {
    let current = plan;
    for (let round = 0; current.steps.length > 0 && round < MAX_PLANS; round++) {
      await ex.apply(current);
      const next = await o.next?.(current);
      if (!next || next.steps.length === 0) break;
      if (o.confirmNext && !(await o.confirmNext(next))) throw new StepFailed('confirmation', new Error('declined by the admin'));
      current = next;
    }
    if (o.verify) {
      try {
        verified = await o.verify(ex);
        // A signal during the test (a client it killed may even have passed) stops the run.
        if (ex.interruptedBy) throw new Interrupted(ex.interruptedBy);
        const failed = o.judge?.(verified);
        if (failed) throw failed;
      } catch (e) {
        if (o.onVerifyFailure !== 'keep' || ex.interruption(e)) throw e;
        ex.finish('committed');
        return { status: 'committed', error: asError(e), verified, manual: [], kept: [...ex.kept] };
      }
    }
    ex.finish('committed');
    return { status: 'committed', verified, manual: [], kept: [...ex.kept] };
  } catch (e) {
    // A signal that reached a child (sshd -T, ssh…) is the interruption, not the child's failure.
    const error = ex.interruption(e) ?? asError(e);
    o.onFailure?.(error);
    const manual = await ex.rollback(explain(error));
    ex.finish(manual.length ? 'rollback-incomplete' : 'rolled-back');
    if (manual.length > 0) return { status: 'rollback-incomplete', error: new RollbackIncomplete(error, manual), verified, manual, kept: [] };
    return { status: 'rolled-back', error, verified, manual, kept: [] };
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
