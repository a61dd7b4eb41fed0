// Real hosts already have users: /etc/subuid and /etc/subgid are not in the order
// shadow-utils writes them once users came and went. jailwizard gives its users no
// subordinate ids at all, so apply and remove leave both files byte-identical there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';

const skip = rootOrSkipReason();
const FILES = ['/etc/subuid', '/etc/subgid'];

describe.skipIf(skip)('a host whose subordinate ids are out of shadow-utils\' order', () => {
  let env: TestEnv;
  // An account made earlier, its range high up, on the first line: what a host with history looks like.
  const planted = `${uniqueUser('subold')}:493216:65536\n`;
  beforeAll(async () => {
    env = await setupEnv();
    for (const f of FILES) writeFileSync(f, planted + readFileSync(f, 'utf8'));
  });
  afterAll(async () => {
    // Take out exactly the planted line, whatever happened in between.
    for (const f of FILES) {
      const text = readFileSync(f, 'utf8');
      if (text.includes(planted)) writeFileSync(f, text.replace(planted, ''));
    }
    await teardownEnv(env);
  });

  it('apply then remove of a new user leaves /etc/subuid and /etc/subgid byte-identical (and the Undo line and test output are right)', async () => {
    const before = await snapshot(env);
    const user = uniqueUser('subnew');
    const a = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['bash', 'sftp'] }), '--yes']);
    expect(a.exitCode, out(a)).toBe(0);
    // Not a line for the jailed user in either file, while the jail exists.
    for (const f of FILES) expect(readFileSync(f, 'utf8')).not.toContain(`${user}:`);

    // The Undo line works as printed: this sshd config and state dir are not the defaults (#11 item 9).
    const undo = /^ {2}Undo: +(.*)$/m.exec(a.stdout)?.[1];
    expect(undo, out(a)).toBe(`jailwizard remove ${user} --sshd-config ${env.sshd.configPath} --state-dir ${env.stateDir}`);
    // `test` prints each probe once, as it ends, then the count.
    const t = await jw(env, ['test', user]);
    expect(t.exitCode, out(t)).toBe(0);
    const probes = t.stdout.split('\n').filter((l) => /^ {2}[✓✗] /.test(l));
    expect(probes.length, out(t)).toBeGreaterThan(5);
    for (const p of probes) {
      const name = p.slice(4);
      expect(t.stdout.split('\n').filter((l) => l.includes(name)).length, `"${name}" printed once\n${out(t)}`).toBe(1);
    }
    expect(t.stdout).not.toMatch(/^PASS /m);
    expect(t.stdout).toContain(`All ${probes.length} probes passed.`);
    const r = await jw(env, ['remove', user, '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
  });
});
