// Remove facts for planner tests: a record whose paths all exist, with overrides.
import { createHash } from 'node:crypto';
import type { RemoveFacts } from '../../src/plan/remove.ts';
import type { JailRecord } from '../../src/host/state.ts';

export const removeFacts = (rec: JailRecord, over: Partial<RemoveFacts> = {}): RemoveFacts => ({
  stateDir: '/var/lib/jailwizard',
  existing: new Set(rec.actions.flatMap((a) => ('path' in a.effect ? [a.effect.path] : a.effect.kind === 'mount' ? [a.effect.target] : []))),
  homeHasFiles: false,
  jailHome: '/srv/jails/alice/home/alice',
  dirEntries: { '/etc/ssh/authorized_keys': ['alice'] },
  otherDropIns: [],
  mainText: 'x',
  mainSha256: createHash('sha256').update('x').digest('hex'),
  userExists: true,
  otherJails: 0,
  pidFile: '/run/sshd.pid',
  listen: [{ host: '127.0.0.1', port: 22 }],
  ownedDirs: [],
  sharedDirs: [],
  sharers: [],
  others: [],
  ...over,
});
