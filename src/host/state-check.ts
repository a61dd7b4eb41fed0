// What jailwizard reads back from its state dir (a jail's record, the journal) is checked
// before any command uses it. A file edited by hand, truncated by a full disk or left by
// another version gives one line naming the file and what is wrong (exit 2), never a crash
// deep inside list, check, update, remove or rollback.
import path from 'node:path';
import type { Action, Effect, Precondition } from '../model/effects.ts';
import type { JournalEntry } from '../model/journal.ts';
import { UserError, quoteIfOdd } from '../model/errors.ts';
import { TOOLS } from '../../recipes/index.ts';
import { ACTION_ROLES } from '../model/effects.ts';

/** A field's type; a trailing `?` makes it optional. */
type Kind = 'string' | 'number' | 'boolean' | 'strings' | 'object' | 'map' | 'addresses';
type Field = Kind | `${Kind}?`;
type Spec<T> = { [F in Exclude<keyof T, 'kind'>]-?: Field };

/** The fields of every effect kind: a new kind fails to compile until it is listed here. */
const EFFECT_FIELDS: { [K in Effect['kind']]: Spec<Extract<Effect, { kind: K }>> } = {
  mkdir: { path: 'string', mode: 'number', uid: 'number', gid: 'number' },
  rmdir: { path: 'string', ifEmpty: 'boolean?' },
  copy: { from: 'string', path: 'string', mode: 'number', uid: 'number', gid: 'number', size: 'number', sha256: 'string' },
  write: { path: 'string', content: 'string', mode: 'number', uid: 'number', gid: 'number', summary: 'string?' },
  symlink: { path: 'string', target: 'string' },
  mknod: { path: 'string', major: 'number', minor: 'number', mode: 'number' },
  unlink: { path: 'string' },
  restore: { path: 'string' },
  move: { from: 'string', to: 'string' },
  run: { argv: 'strings' },
  mount: { source: 'string', target: 'string', options: 'strings' },
  umount: { target: 'string' },
  'line-add': { path: 'string', line: 'string' },
  'line-remove': { path: 'string', line: 'string' },
  'daemon-restart': { name: 'string', pidFile: 'string', argv: 'strings' },
  'sshd-validate': { config: 'string' },
  'sshd-expect': { config: 'string', user: 'string', addr: 'string', expect: 'map' },
  'sshd-reload': { argv: 'strings', pidFile: 'string?', listen: 'addresses', socket: 'string?', socketListen: 'addresses?' },
  quarantine: { dir: 'string', uid: 'number', to: 'string' },
  unquarantine: { from: 'string', dir: 'string' },
  append: { path: 'string', text: 'string', mode: 'number', uid: 'number', gid: 'number' },
  unappend: { path: 'string', text: 'string', removeIfEmpty: 'boolean' },
  'probe-files': { dirs: 'strings', prefix: 'string', clients: 'string', jail: 'string', uid: 'number?' },
  'remove-probe-files': { dirs: 'strings', prefix: 'string', clients: 'string', jail: 'string', uid: 'number?' },
};

const PRECONDITION_FIELDS: { [K in Precondition['kind']]: Spec<Extract<Precondition, { kind: K }>> } = {
  none: {},
  absent: { path: 'string' },
  sha256: { path: 'string', sha256: 'string' },
  dir: { path: 'string' },
  'user-absent': { user: 'string' },
  'user-present': { user: 'string' },
  pid: { pidFile: 'string', pid: 'number' },
};

/** Thrown inside the checks with where in the file it is (e.g. `actions[3].undo[0].path`). */
class Bad extends Error {}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return `${typeof v === 'string' ? 'a string' : `a ${typeof v}`} ${s.length > 40 ? `${s.slice(0, 40)}…` : s}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function matches(kind: Kind, v: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object':
      return isObject(v);
    case 'map':
      return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
    case 'addresses':
      return Array.isArray(v) && v.every((x) => isObject(x) && typeof x.host === 'string' && typeof x.port === 'number');
  }
}

const KIND_WORDS: Record<Kind, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
  strings: 'a list of strings',
  object: 'an object',
  map: 'an object of strings',
  addresses: 'a list of {host, port}',
};

/** Checks `spec`'s fields of `v` (other keys are allowed: a newer version may add some). */
function fields(v: unknown, spec: Record<string, Field>, where: string): Record<string, unknown> {
  if (v === undefined && where) throw new Bad(`${where} is missing`);
  if (!isObject(v)) throw new Bad(`${where || 'the file'} must be an object, not ${describe(v)}`);
  for (const [name, field] of Object.entries(spec)) {
    const optional = field.endsWith('?');
    const kind = field.replace('?', '') as Kind;
    const value = v[name];
    if (value === undefined && optional) continue;
    if (value === undefined) throw new Bad(`${where ? `${where}.` : ''}${name} is missing`);
    if (!matches(kind, value)) throw new Bad(`${where ? `${where}.` : ''}${name} must be ${KIND_WORDS[kind]}, not ${describe(value)}`);
  }
  return v;
}

function list<T>(v: unknown, where: string, each: (x: unknown, at: string) => T): T[] {
  if (!Array.isArray(v)) throw new Bad(`${where} must be a list, not ${describe(v)}`);
  return v.map((x, i) => each(x, `${where}[${i}]`));
}

function byKind<T extends { kind: string }>(v: unknown, where: string, table: Record<string, Record<string, Field>>, what: string): T {
  const o = fields(v, { kind: 'string' }, where);
  const spec = table[o.kind as string];
  if (!spec) throw new Bad(`${where}.kind ${JSON.stringify(o.kind)} is not ${what} this version knows`);
  return fields(o, spec, where) as T;
}

function effect(v: unknown, where: string): Effect {
  return byKind<Effect>(v, where, EFFECT_FIELDS, 'an effect');
}

function precondition(v: unknown, where: string): Precondition {
  return byKind<Precondition>(v, where, PRECONDITION_FIELDS, 'a precondition');
}

export function checkAction(v: unknown, where: string): Action {
  const o = fields(v, { deferUndo: 'boolean?' }, where);
  effect(o.effect, `${where}.effect`);
  list(o.undo, `${where}.undo`, effect);
  precondition(o.pre, `${where}.pre`);
  if (o.undoIf !== undefined) precondition(o.undoIf, `${where}.undoIf`);
  if (o.role !== undefined && !(ACTION_ROLES as readonly unknown[]).includes(o.role)) throw new Bad(`${where}.role ${JSON.stringify(o.role)} is not one of ${ACTION_ROLES.join(', ')}`);
  return o as unknown as Action;
}

/** The one line a command prints for a state file it cannot use. */
export function badStateFile(what: string, file: string, problem: string, hint: string): UserError {
  return new UserError(`${what} ${quoteIfOdd(file)} is unusable: ${quoteIfOdd(problem)}`, hint);
}

const RECORD_HINT = 'restore it from a backup, or move it out of the state dir if that jail is gone (nothing else reads it)';

/**
 * A jail's record as `JSON.parse` gave it, checked: the fields every command relies on, each
 * action and manifest entry, and the answers (as strictly as an answers file). `file` names
 * the record in the message; its name must be the record's user.
 */
export function checkRecord<R>(data: unknown, file: string, checkAnswers: (answers: unknown, src: string) => unknown): R {
  try {
    const r = fields(
      data,
      {
        version: 'number',
        user: 'string',
        jail: 'string',
        tools: 'strings',
        answers: 'object',
        createdUser: 'boolean',
        uid: 'number',
        gid: 'number',
        sshdConfig: 'string',
        dropIn: 'string',
        addedInclude: 'string?',
        logFile: 'string?',
        syslogConfig: 'string?',
        appliedAt: 'string',
      } satisfies Record<string, Field>,
      '',
    );
    if (r.version !== 1) throw new Bad(`version ${describe(r.version)} is not 1, the only one this jailwizard reads`);
    if (`${r.user as string}.json` !== path.basename(file)) throw new Bad(`it is the record of ${JSON.stringify(r.user)}, not of the user its name says`);
    if (!(r.jail as string).startsWith('/')) throw new Bad(`jail ${JSON.stringify(r.jail)} is not an absolute path`);
    const bad = (r.tools as string[]).find((t) => !(TOOLS as readonly string[]).includes(t));
    if (bad !== undefined || (r.tools as string[]).length === 0) throw new Bad(`tools must be some of ${TOOLS.join(', ')}, not ${describe(r.tools)}`);
    list(r.actions, 'actions', checkAction);
    list(r.manifest, 'manifest', (m, at) => fields(m, { path: 'string', from: 'string', sha256: 'string', size: 'number?', mtimeMs: 'number?' }, at));
    let answers: unknown;
    try {
      answers = checkAnswers(r.answers, 'answers');
    } catch (e) {
      if (e instanceof UserError) throw new Bad(e.message);
      throw e;
    }
    const a = answers as { user: string; jail: string };
    if (a.user !== r.user || a.jail !== r.jail) throw new Bad(`answers name ${a.user} in ${a.jail}, the record ${r.user as string} in ${r.jail as string}`);
    return { ...r, answers } as R;
  } catch (e) {
    if (e instanceof Bad) throw badStateFile("jailwizard's record", file, e.message, RECORD_HINT);
    throw e;
  }
}

const JOURNAL_HINT =
  "a run was cut short and its journal cannot be read back; undo what it lists by hand, then move the file out of the state dir (it is plain JSON lines)";

/** The fields of every journal entry type (lists of actions and backups are checked apart): a new type fails to compile until it is listed here. */
const ENTRY_FIELDS: { [T in JournalEntry['t']]: Record<Exclude<keyof Extract<JournalEntry, { t: T }>, 't' | 'actions' | 'backups'>, Field> } = {
  begin: { command: 'string', user: 'string', pid: 'number', at: 'string' },
  intent: { n: 'number', title: 'string' },
  done: { n: 'number' },
  undone: { n: 'number', manual: 'strings' },
  end: { outcome: 'string', at: 'string' },
};

/** One journal line, checked; `where` is e.g. `line 3`. */
function journalEntry(v: unknown, where: string): unknown {
  const o = fields(v, { t: 'string' }, where);
  const spec = (ENTRY_FIELDS as Record<string, Record<string, Field>>)[o.t as string];
  if (!spec) throw new Bad(`${where}: entry type ${JSON.stringify(o.t)} is not one this version writes`);
  fields(o, spec, where);
  if (o.t === 'intent') {
    list(o.actions, `${where}.actions`, checkAction);
    list(o.backups, `${where}.backups`, (b, at) => {
      const x = fields(b, { path: 'string', file: 'string?', mode: 'number?', uid: 'number?', gid: 'number?', link: 'string?' }, at);
      // Backups live in the journal's own backups dir, nowhere else.
      if (x.file !== undefined && !/^backups\/\d+$/.test(x.file as string)) throw new Bad(`${at}.file ${JSON.stringify(x.file)} is not in the journal's backups`);
      return x;
    });
  }
  if (o.t === 'end' && !['committed', 'rolled-back', 'rollback-incomplete'].includes(o.outcome as string)) throw new Bad(`${where}: outcome ${JSON.stringify(o.outcome)} is unknown`);
  return o;
}

/**
 * How a finished run in history ended, from its journal's last line: 'committed',
 * 'rolled-back' or 'rollback-incomplete'; undefined when that line is not a valid end entry.
 * Only pruning reads it, and pruning must never fail the run that just finished: a run whose
 * end cannot be read counts as unfinished, so its backups are kept.
 */
export function journalOutcome(lastLine: string): string | undefined {
  try {
    const e = journalEntry(JSON.parse(lastLine), 'the last line') as { t: string; outcome?: string };
    return e.t === 'end' ? e.outcome : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The journal's lines, checked. Only the last line may be torn (a power cut while it was
 * written): everything before it is intact and enough to undo, so it is left out. Any other
 * bad line makes the whole journal unusable, since skipping it could skip an undo.
 */
export function checkJournal<E>(text: string, file: string): E[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const entries: E[] = [];
  try {
    for (const [i, line] of lines.entries()) {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        if (i === lines.length - 1) break;
        throw new Bad(`line ${i + 1} is not JSON`);
      }
      entries.push(journalEntry(v, `line ${i + 1}`) as E);
    }
    // Empty: killed between creating the file and its first line; nothing was done yet.
    if (entries.length > 0 && (entries[0] as { t: string }).t !== 'begin') throw new Bad('line 1 is not the begin entry');
  } catch (e) {
    if (e instanceof Bad) throw badStateFile("jailwizard's journal", file, e.message, JOURNAL_HINT);
    throw e;
  }
  return entries;
}

/** A whole state file's JSON; a file that is not JSON is a Bad like any other problem. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Bad('it is not JSON');
  }
}

/** The last update of a jail (updates/USER.json), as `JSON.parse` gave it, checked. */
export function checkUpdateOutcome<U>(text: string, file: string): U {
  try {
    const v = parsed(text);
    const o = fields(v, { user: 'string', at: 'string', via: 'string', result: 'string', reason: 'string?', summary: 'string?', exitCode: 'number' }, '');
    if (!['apt-hook', 'command'].includes(o.via as string)) throw new Bad(`via ${JSON.stringify(o.via)} is unknown`);
    if (!['unchanged', 'updated', 'declined', 'failed'].includes(o.result as string)) throw new Bad(`result ${JSON.stringify(o.result)} is unknown`);
    if (`${o.user as string}.json` !== path.basename(file)) throw new Bad(`it is the update of ${JSON.stringify(o.user)}, not of the user its name says`);
    return o as U;
  } catch (e) {
    if (e instanceof Bad) throw badStateFile('the last update', file, e.message, `run \`jailwizard update ${path.basename(file, '.json')}\` again to replace it, or remove the file`);
    throw e;
  }
}

/** The uids of removed users (retired-uids.json), as `JSON.parse` gave it, checked. */
export function checkRetiredUids<R>(text: string, file: string): R[] {
  try {
    const v = parsed(text);
    return list(v, 'the list', (x, at) => {
      const o = fields(x, { uid: 'number', user: 'string', jail: 'string', removedAt: 'string' }, at);
      if (!Number.isInteger(o.uid) || (o.uid as number) < 0) throw new Bad(`${at}.uid ${JSON.stringify(o.uid)} is not a uid`);
      return o as R;
    });
  } catch (e) {
    if (e instanceof Bad) throw badStateFile("jailwizard's list of retired uids", file, e.message, 'restore it from a backup; it keeps new users off the uids of removed ones');
    throw e;
  }
}
