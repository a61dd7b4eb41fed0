// `jailwizard test USER`: authorize a temporary key (journaled, so it is removed even after
// a crash), run the probes with the real clients, then remove the key.
import { StepFailed, UserError, exitCodeFor, explain, interruptionOf } from '../model/errors.ts';
import type { ExecEvent } from '../engine/executor.ts';
import { runPlan } from '../engine/run-plan.ts';
import { readRecord } from '../host/state.ts';
import { probeLine } from '../workflows/verify.ts';
import { verifyJail } from '../workflows/verify-run.ts';
import { printEvent, say, warn } from './output.ts';
import type { CommonOptions } from './common.ts';

export async function testCommand(user: string, o: CommonOptions): Promise<number> {
  const rec = readRecord(o.stateDir, user);
  if (!rec) throw new UserError(`jailwizard manages no jail for ${user}`, 'see `jailwizard list`');
  // No plan of its own: the run is the connection test, whose steps undo themselves.
  const outcome = await runPlan({ command: 'test', user, notes: [], steps: [] }, {
    stateDir: o.stateDir,
    command: 'test',
    user,
    listener: failuresOnly,
    verify(ex) {
      say(`Testing ${user}'s jail ${rec.jail} with the real clients…`);
      // One line per probe as it ends (with the reason when it failed), then the count: no table repeating them.
      return verifyJail(ex, rec, (r) => say(probeLine(r)));
    },
    judge(results) {
      const failed = results.filter((r) => !r.ok).length;
      return failed === 0 ? undefined : new StepFailed('connection test', new Error(`${failed} of ${results.length} probes failed`));
    },
    // A failed probe changes nothing to undo: the test key is gone either way.
    onVerifyFailure: 'keep',
  });
  const interrupted = interruptionOf(outcome.error);
  if (interrupted) warn(`jailwizard: ${interrupted.message}`);
  else if (outcome.verified) {
    const results = outcome.verified;
    const failed = results.filter((r) => !r.ok).length;
    say(failed === 0 ? `All ${results.length} probes passed.` : `${failed} of ${results.length} probes failed.`);
  } else if (outcome.error) warn(`jailwizard: test failed: ${explain(outcome.error)}`);
  return exitCodeFor(outcome);
}

/** The temporary key's add/remove is bookkeeping, not news; failures still print. */
function failuresOnly(e: ExecEvent): void {
  if (e.type === 'step-failed' || (e.type === 'rollback-done' && e.manual.length > 0)) printEvent(e);
}
