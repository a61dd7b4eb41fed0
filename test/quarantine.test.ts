// A removed user's entries in the dirs users share, and their uid (#12, uid reuse): what
// remove plans (pure), and what the executor does with it in private temp dirs (root, no
// users: files chowned to uids nobody has stand for the users').
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { previewEffect, type Effect } from '../src/model/effects.ts';
import { perform } from '../src/engine/executor.ts';
import { pickUid } from '../src/plan/index.ts';
import { planRemove, type RemoveFacts } from '../src/plan/remove.ts';
import type { JailRecord } from '../src/host/state.ts';
import { removeFacts } from './helpers/remove-facts.ts';

const NOW = '2026-11-23T12:00:00.000Z';
const JAIL = '/srv/jails/shared';

function record(over: Partial<JailRecord> = {}): JailRecord {
  return {
    version: 1,
    user: 'alice',
    jail: JAIL,
    tools: ['bash'],
    answers: { user: 'alice', tools: ['bash'], jail: JAIL, arch: 'auto', authorizedKeys: [], createUser: true, installMissing: false, shared: true, extras: ['tmp'] },
    createdUser: true,
    uid: 1002,
    gid: 1002,
    sshdConfig: '/etc/ssh/sshd_config',
    dropIn: '/etc/ssh/sshd_config.d/jailwizard-alice.conf',
    actions: [],
    manifest: [],
    appliedAt: NOW,
    ...over,
  };
}

/** Another user who stays in the shared jail. */
const SHARERS: RemoveFacts['sharers'] = [{ record: record({ user: 'bob', uid: 1003, gid: 1003 }), sha256: 'bb' }];

function facts(over: Partial<RemoveFacts> = {}): RemoveFacts {
  return removeFacts(record(), { jailHome: `${JAIL}/home/alice`, otherJails: 1, listen: [], ...over });
}

describe('remove plans the quarantine and the uid record', () => {
  it('moves only this user\'s top-level entries of the shared dirs beside the jail, before the home', () => {
    const f = facts({
      homeHasFiles: true,
      sharers: SHARERS,
      sharedDirs: [
        { path: `${JAIL}/tmp`, hasFiles: true, userEntries: 3 },
        { path: `${JAIL}/shared`, hasFiles: true, userEntries: 0 },
      ],
    });
    const p = planRemove(record(), f, { keepUser: false, keepHome: false, now: NOW });
    const ids = p.steps.map((s) => s.id);
    expect(ids.indexOf('quarantine')).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf('quarantine')).toBeLessThan(ids.indexOf('home'));
    const q = p.steps.find((s) => s.id === 'quarantine')!;
    const to = '/srv/jails/.shared.jailwizard-removed/alice-2026-11-23T12-00-00-000Z-tmp';
    expect(q.actions).toEqual([
      { effect: { kind: 'quarantine', dir: `${JAIL}/tmp`, uid: 1002, to }, undo: [{ kind: 'unquarantine', from: to, dir: `${JAIL}/tmp` }], pre: { kind: 'dir', path: `${JAIL}/tmp` } },
    ]);
    expect(previewEffect(q.actions[0]!.effect)).toEqual([`install -d -m 0700 -o 0 -g 0 ${to}`, `find ${JAIL}/tmp -mindepth 1 -maxdepth 1 -uid 1002 -exec mv -t ${to} -- {} +`]);
    expect(p.notes.join('\n')).toContain('readable by root only');
  });

  it('plans no quarantine when the user has nothing in the shared dirs, or is the last one (the dirs then go whole)', () => {
    const p = planRemove(record(), facts({ sharers: SHARERS, sharedDirs: [{ path: `${JAIL}/tmp`, hasFiles: false, userEntries: 0 }] }), { keepUser: false, keepHome: false, now: NOW });
    expect(p.steps.map((s) => s.id)).not.toContain('quarantine');
    const last = planRemove(record(), facts({ sharedDirs: [{ path: `${JAIL}/tmp`, hasFiles: true, userEntries: 2 }] }), { keepUser: false, keepHome: false, now: NOW });
    expect(last.steps.map((s) => s.id)).not.toContain('quarantine');
    expect(last.steps.find((s) => s.id === 'home')?.actions.map((a) => a.effect)).toEqual([{ kind: 'move', from: `${JAIL}/tmp`, to: '/var/lib/jailwizard/removed/shared-2026-11-23T12-00-00-000Z-tmp' }]);
  });

  it('records the uid of a user it deletes, once, and not of one it keeps or adopted', () => {
    const write = (p: ReturnType<typeof planRemove>) => p.steps.flatMap((s) => s.actions).find((a) => a.effect.kind === 'write' && a.effect.path.endsWith('retired-uids.json'));
    const deleted = write(planRemove(record(), facts(), { keepUser: false, keepHome: false, now: NOW }));
    expect(deleted?.effect).toMatchObject({ kind: 'write', path: '/var/lib/jailwizard/retired-uids.json', mode: 0o600, uid: 0 });
    expect(JSON.parse((deleted!.effect as { content: string }).content)).toEqual([{ uid: 1002, user: 'alice', jail: JAIL, removedAt: NOW }]);
    expect(deleted?.pre).toEqual({ kind: 'absent', path: '/var/lib/jailwizard/retired-uids.json' });
    // Appended to the list there is, guarded by its hash.
    const more = write(planRemove(record(), facts({ retiredUids: { list: [{ uid: 1001, user: 'bob', jail: JAIL, removedAt: NOW }], sha256: 'ab' } }), { keepUser: false, keepHome: false, now: NOW }));
    expect(JSON.parse((more!.effect as { content: string }).content).map((x: { uid: number }) => x.uid)).toEqual([1001, 1002]);
    expect(more?.pre).toEqual({ kind: 'sha256', path: '/var/lib/jailwizard/retired-uids.json', sha256: 'ab' });
    expect(write(planRemove(record(), facts({ retiredUids: { list: [{ uid: 1002, user: 'alice', jail: JAIL, removedAt: NOW }], sha256: 'ab' } }), { keepUser: false, keepHome: false, now: NOW }))).toBeUndefined();
    expect(write(planRemove(record(), facts(), { keepUser: true, keepHome: false, now: NOW }))).toBeUndefined();
    expect(write(planRemove(record({ createdUser: false }), facts(), { keepUser: false, keepHome: false, now: NOW }))).toBeUndefined();
  });

  it('moves the user\'s own dirs beside the jail when the state dir is another filesystem', () => {
    const p = planRemove(record(), facts({ homeHasFiles: true, removedDir: '/srv/jails/.shared.jailwizard-removed' }), { keepUser: false, keepHome: false, now: NOW });
    const move = p.steps.find((s) => s.id === 'home')!.actions[0]!.effect;
    expect(move).toEqual({ kind: 'move', from: `${JAIL}/home/alice`, to: '/srv/jails/.shared.jailwizard-removed/alice-2026-11-23T12-00-00-000Z' });
  });

  it('never gives a new user a retired uid', () => {
    const base = { passwd: [{ name: 'root', uid: 0, gid: 0, gecos: '', home: '/root', shell: '/bin/sh' }], groups: [], loginDefs: { UID_MIN: 1000, UID_MAX: 60000 } };
    expect(pickUid(base)).toBe(1000);
    expect(pickUid({ ...base, retiredUids: [1000, 1001] })).toBe(1002);
  });
});

describe.skipIf(process.getuid?.() !== 0)('the executor quarantines by rename only', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'jw-quarantine-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('takes the user\'s entries (a link, a deep tree, odd names) and leaves everyone else\'s; the undo puts them back', async () => {
    const tmp = path.join(work, 'jail/tmp');
    mkdirSync(tmp, { recursive: true });
    chmodSync(tmp, 0o1777);
    const mine = (p: string): void => chownSync(p, 4242, 4242);
    writeFileSync(path.join(tmp, 'secret'), 'user data', { mode: 0o600 });
    mine(path.join(tmp, 'secret'));
    writeFileSync(path.join(tmp, 'a\nb'), 'x');
    mine(path.join(tmp, 'a\nb'));
    // A link of the user's (lchown: never the file it points to).
    symlinkSync(path.join(work, 'target'), path.join(tmp, 'link'));
    lchownSync(path.join(tmp, 'link'), 4242, 4242);
    mkdirSync(path.join(tmp, 'deep/d/d/d'), { recursive: true });
    mine(path.join(tmp, 'deep'));
    writeFileSync(path.join(tmp, 'others'), 'not theirs');
    chownSync(path.join(tmp, 'others'), 4343, 4343);
    const to = path.join(work, '.jail.jailwizard-removed/u-stamp-tmp');
    const q: Effect = { kind: 'quarantine', dir: tmp, uid: 4242, to };
    await perform(q);
    expect(readdirSync(tmp)).toEqual(['others']);
    expect(readdirSync(to).sort()).toEqual(['a\nb', 'deep', 'link', 'secret']);
    expect([statSync(to).uid, statSync(to).mode & 0o7777]).toEqual([0, 0o700]);
    expect([statSync(path.dirname(to)).uid, statSync(path.dirname(to)).mode & 0o7777]).toEqual([0, 0o700]);
    expect(lstatSync(path.join(to, 'link')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(to, 'secret'), 'utf8')).toBe('user data');
    await perform({ kind: 'unquarantine', from: to, dir: tmp });
    expect(readdirSync(tmp).sort()).toEqual(['a\nb', 'deep', 'link', 'others', 'secret']);
    expect(existsSync(to)).toBe(false);
  });
});
