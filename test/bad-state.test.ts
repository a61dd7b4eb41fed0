// A record or journal in the state dir that jailwizard cannot use (edited by hand, cut short
// by a full disk, left by another version) gives one line naming the file and what is wrong,
// and exit 2, for every command that reads it; never "internal error" and a stack.
// The commands run against a state dir of the test's own and an sshd config that does not
// exist, so nothing here can change the host even if a check let something through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { BIN } from './helpers/jw.ts';
import { run, type RunResult } from '../src/host/run.ts';

const skip = rootOrSkipReason();

/** A record as apply writes it, for a user and jail that exist nowhere. */
function goodRecord(user: string): Record<string, unknown> {
  const jail = `/srv/jw-badstate-nowhere/${user}`;
  return {
    version: 1,
    user,
    jail,
    tools: ['sftp'],
    answers: { user, tools: ['sftp'], jail, arch: 'auto', authorizedKeys: [], createUser: true, installMissing: false },
    createdUser: true,
    uid: 61000,
    gid: 61000,
    sshdConfig: '/etc/ssh/sshd_config',
    dropIn: `/etc/ssh/sshd_config.d/jailwizard-${user}.conf`,
    actions: [{ effect: { kind: 'mkdir', path: jail, mode: 0o755, uid: 0, gid: 0 }, undo: [{ kind: 'rmdir', path: jail }], pre: { kind: 'absent', path: jail } }],
    manifest: [],
    appliedAt: '2026-01-01T00:00:00.000Z',
  };
}

const USER = 'jwbadstate';

/** Bad records: the file's text, and what the message must say is wrong. */
const RECORDS: { name: string; text: string; says: string }[] = [
  { name: 'an empty object', text: '{}', says: 'version is missing' },
  { name: 'a list', text: '[]', says: 'must be an object' },
  { name: 'not JSON', text: '{"version": 1,', says: 'JSON' },
  { name: 'another user\'s record under this name', text: JSON.stringify({ ...goodRecord('jwsomeoneelse') }), says: 'record of "jwsomeoneelse"' },
  { name: 'a string where a number belongs', text: JSON.stringify({ ...goodRecord(USER), uid: '61000' }), says: 'uid must be a number' },
  {
    name: 'an action without its undo',
    text: JSON.stringify({ ...goodRecord(USER), actions: [{ effect: { kind: 'mkdir', path: '/x', mode: 493, uid: 0, gid: 0 }, pre: { kind: 'none' } }] }),
    says: 'actions[0].undo must be a list',
  },
  {
    name: 'an effect this version does not know',
    text: JSON.stringify({ ...goodRecord(USER), actions: [{ effect: { kind: 'teleport', path: '/x' }, undo: [], pre: { kind: 'none' } }] }),
    says: 'actions[0].effect.kind "teleport"',
  },
  {
    name: 'an action with a role this version does not know',
    text: JSON.stringify({ ...goodRecord(USER), actions: [{ effect: { kind: 'mkdir', path: '/x', mode: 493, uid: 0, gid: 0 }, undo: [], pre: { kind: 'none' }, role: 'teleport' }] }),
    says: 'actions[0].role "teleport" is not one of',
  },
  { name: 'answers of the wrong shape', text: JSON.stringify({ ...goodRecord(USER), answers: { ...(goodRecord(USER).answers as object), tools: 'sftp' } }), says: '"tools" must be' },
  { name: 'a newline in a field', text: JSON.stringify({ ...goodRecord(USER), version: 'one\ntwo' }), says: 'version must be a number, not a string "one\\ntwo"' },
];

/** Bad journals (current.jsonl), with what the message must say. */
const JOURNALS: { name: string; text: string; says: string }[] = [
  { name: 'an empty object', text: '{}\n', says: 'line 1.t is missing' },
  { name: 'a torn line before the last', text: '{"t":"begin","command":"apply","user":"x","pid":0,"at":"now"}\n{"t":"inte\n{"t":"done","n":1}\n', says: 'line 2 is not JSON' },
  { name: 'no begin entry', text: '{"t":"done","n":1}\n', says: 'line 1 is not the begin entry' },
  {
    name: 'an intent whose action has no effect',
    text: '{"t":"begin","command":"apply","user":"x","pid":0,"at":"now"}\n{"t":"intent","n":1,"title":"x","actions":[{"undo":[],"pre":{"kind":"none"}}],"backups":[]}\n',
    says: 'line 2.actions[0].effect is missing',
  },
  {
    name: 'a backup outside the journal',
    text: '{"t":"begin","command":"apply","user":"x","pid":0,"at":"now"}\n{"t":"intent","n":1,"title":"x","actions":[],"backups":[{"path":"/etc/passwd","file":"../../../etc/shadow"}]}\n',
    says: 'line 2.backups[0].file',
  },
];

describe.skipIf(skip)('unusable state files: one line naming the file, exit 2', () => {
  let work: string;
  let n = 0;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'jw-badstate-'));
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  /** A fresh state dir for one case, with `files` (relative path → text). */
  function stateDir(files: Record<string, string>): string {
    const dir = path.join(work, `state-${++n}`);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true, mode: 0o700 });
      writeFileSync(path.join(dir, rel), text, { mode: 0o600 });
    }
    return dir;
  }

  async function jwIn(dir: string, args: string[]): Promise<RunResult> {
    const answers = path.join(work, `${USER}.json`);
    if (!existsSync(answers)) writeFileSync(answers, JSON.stringify({ user: USER, tools: ['sftp'], jail: `/srv/jw-badstate-nowhere/${USER}` }));
    const withConfig = args.map((a) => (a === 'ANSWERS' ? answers : a));
    return run([process.execPath, BIN, ...withConfig, '--state-dir', dir, '--sshd-config', path.join(work, 'no-such-sshd_config')], { timeoutMs: 60_000 });
  }

  function expectOneLine(r: RunResult, file: string, says: string, what: string): void {
    const detail = `${what}\nexit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    expect(r.exitCode, detail).toBe(2);
    expect(r.stderr, detail).not.toMatch(/internal error|\n\s+at /);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length, detail).toBeLessThanOrEqual(2); // the line, and its hint
    expect(lines[0], detail).toContain(file);
    expect(lines[0], detail).toContain(says);
    expect(lines[1] ?? '', detail).toMatch(/^ {2}hint: /);
  }

  const recordCommands = [['list'], ['list', '--json'], ['check', '--all'], ['check', USER], ['update', '--all', '--yes'], ['update', USER, '--yes'], ['remove', USER, '--yes'], ['test', USER], ['apply', '--config', 'ANSWERS', '--yes']];

  for (const bad of RECORDS) {
    it(`a record with ${bad.name}: every command that reads records says so`, async () => {
      const dir = stateDir({ [`jails/${USER}.json`]: bad.text });
      const file = path.join(dir, 'jails', `${USER}.json`);
      for (const args of recordCommands) expectOneLine(await jwIn(dir, args), file, bad.says, args.join(' '));
      // Refused before anything: no journal was opened.
      expect(existsSync(path.join(dir, 'journal'))).toBe(false);
    });
  }

  it('a last check that is not a report: list names it', async () => {
    const dir = stateDir({ [`jails/${USER}.json`]: JSON.stringify(goodRecord(USER)), [`checks/${USER}.json`]: '{"checkedAt": 5}' });
    expectOneLine(await jwIn(dir, ['list']), path.join(dir, 'checks', `${USER}.json`), 'not a report', 'list');
  });

  it('a last update that is not one: list names it', async () => {
    const dir = stateDir({ [`jails/${USER}.json`]: JSON.stringify(goodRecord(USER)), [`updates/${USER}.json`]: '{"result": 5}' });
    for (const args of [['list'], ['list', '--json']]) expectOneLine(await jwIn(dir, args), path.join(dir, 'updates', `${USER}.json`), 'user is missing', args.join(' '));
  });

  for (const bad of JOURNALS) {
    it(`a journal with ${bad.name}: every command that reads it says so`, async () => {
      const dir = stateDir({ 'journal/current.jsonl': bad.text });
      const file = path.join(dir, 'journal', 'current.jsonl');
      for (const args of [['rollback', '--yes'], ['rollback'], ['apply', '--config', 'ANSWERS', '--yes'], ['remove', USER, '--yes']]) {
        expectOneLine(await jwIn(dir, args), file, bad.says, args.join(' '));
      }
      expect(readdirSync(path.join(dir, 'journal'))).toEqual(['current.jsonl']);
    });
  }

  it('a journal whose last line was torn by a power cut still rolls back', async () => {
    const dir = stateDir({ 'journal/current.jsonl': '{"t":"begin","command":"apply","user":"x","pid":0,"at":"now"}\n{"t":"intent","n":1,"tit' });
    const r = await jwIn(dir, ['rollback', '--yes']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(existsSync(path.join(dir, 'journal', 'current.jsonl'))).toBe(false);
  });
});
