// `jailwizard rollback`: finish undoing a run that was killed (kill -9, power cut).
import { EXIT } from '../model/errors.ts';
import { rollbackUnfinished } from '../engine/executor.ts';
import { readUnfinished } from '../engine/journal.ts';
import { confirm } from './prompt.ts';
import { printEvent, say } from './output.ts';
import type { CommonOptions } from './common.ts';

export async function rollbackCommand(o: CommonOptions & { yes: boolean }): Promise<number> {
  const u = readUnfinished(o.stateDir);
  if (!u) {
    say('Nothing to roll back: no unfinished jailwizard run.');
    return EXIT.ok;
  }
  const undone = new Set(u.entries.flatMap((e) => (e.t === 'undone' ? [e.n] : [])));
  const pending = u.entries.filter((e) => e.t === 'intent' && !undone.has(e.n));
  say(`An unfinished jailwizard run (pid ${u.pid}) left ${pending.length} step(s) to undo:`);
  for (const e of pending) if (e.t === 'intent') say(`  ${e.n}. ${e.title}`);
  if (!(await confirm('Undo them now?', o.yes))) {
    say('Nothing changed.');
    return EXIT.ok;
  }
  const r = await rollbackUnfinished(o.stateDir, printEvent);
  return r.manual.length > 0 ? EXIT.rollbackIncomplete : EXIT.ok;
}
