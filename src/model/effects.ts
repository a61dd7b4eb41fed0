// Effects are the only things the executor knows how to do. They are plain data, so a
// plan can be previewed, journaled, saved and undone. The preview of an effect is a POSIX
// sh line generated from the effect itself, so what is shown and what runs cannot drift.
// The executor performs every file effect itself through src/host/safe-fs.ts (and `chown`,
// `chmod` and `setfacl` runs too): never through a link in a dir a user can change, owner
// and mode through an fd. Where the sh line would follow such a link, the executor refuses.
import { octal } from '../model/mode.ts';


export type Effect =
  | { kind: 'mkdir'; path: string; mode: number; uid: number; gid: number }
  /**
   * With ifEmpty, a dir that can hold others' things (a jail's parent, the keys dir, the
   * drop-in dir) stays when something else is in it by the time the step runs, and the run
   * goes on: `rmdir --ignore-fail-on-non-empty`. Without it, a non-empty dir is a failure.
   */
  | { kind: 'rmdir'; path: string; ifEmpty?: boolean }
  | { kind: 'copy'; from: string; path: string; mode: number; uid: number; gid: number; size: number; sha256: string }
  | { kind: 'write'; path: string; content: string; mode: number; uid: number; gid: number; summary?: string }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'mknod'; path: string; major: number; minor: number; mode: number }
  | { kind: 'unlink'; path: string }
  /** Put back what the journal saved for `path` before the action ran, or remove it if it was absent. */
  | { kind: 'restore'; path: string }
  /** Move a directory tree out of the way (to the state dir); its undo moves it back. */
  | { kind: 'move'; from: string; to: string }
  | { kind: 'run'; argv: string[] }
  /**
   * Every top-level entry of `dir` (a /tmp or group dir users share) owned by `uid` is
   * renamed into `to`, a root-only dir on the same filesystem: nothing is read, copied or
   * walked into. Its undo is 'unquarantine'.
   */
  | { kind: 'quarantine'; dir: string; uid: number; to: string }
  /** Every entry of `from` back into `dir` where its name is free; then `from` goes. */
  | { kind: 'unquarantine'; from: string; dir: string }
  /** A bind mount of a host dir, then a remount with the flags (nodev,nosuid,noexec, maybe ro). */
  | { kind: 'mount'; source: string; target: string; options: string[] }
  | { kind: 'umount'; target: string }
  /** One line appended to a shared config file (/etc/fstab); its undo removes exactly that line. */
  | { kind: 'line-add'; path: string; line: string }
  | { kind: 'line-remove'; path: string; line: string }
  /**
   * Text appended to a file (made with this owner and mode when absent), never through a
   * link and without reading the file: the temporary test key in a keys file the user may
   * own. Its undo is 'unappend'.
   */
  | { kind: 'append'; path: string; text: string; mode: number; uid: number; gid: number }
  /** Cuts `text` off the end of the file when it still ends with it; removeIfEmpty: the append made the file. */
  | { kind: 'unappend'; path: string; text: string; removeIfEmpty: boolean }
  /** Stop a daemon that has no reload for new inputs (rsyslogd) and start it again the same way. */
  | { kind: 'daemon-restart'; name: string; pidFile: string; argv: string[] }
  /**
   * The connection test is about to log in as the user: its clients (every process whose
   * argv names `clients`, the run's scratch dir: the ssh control master they share, whose
   * socket is in that dir, among them) may leave files named PREFIX… (or rsync's
   * .PREFIX… temp files) in these dirs. Nothing runs; it is journaled first so that a
   * rollback, even after kill -9, can undo it with remove-probe-files.
   */
  | { kind: 'probe-files'; dirs: string[]; prefix: string; clients: string; jail: string; uid?: number }
  /** Undo only: stop what is left of those clients, let the user's sessions in the jail end, remove the files. */
  | { kind: 'remove-probe-files'; dirs: string[]; prefix: string; clients: string; jail: string; uid?: number }
  | { kind: 'sshd-validate'; config: string }
  | { kind: 'sshd-expect'; config: string; user: string; addr: string; expect: Record<string, string> }
  /**
   * argv makes sshd read its config: a reload, a SIGHUP, or (socket activation, `socket` set)
   * a stop of the service that the socket starts again on the next connection.
   */
  | { kind: 'sshd-reload'; argv: string[]; pidFile?: string; listen: { host: string; port: number }[]; socket?: string; socketListen?: { host: string; port: number }[] };

/** What must hold right before an action runs; it is checked again at run time (stale plans fail). */
export type Precondition =
  | { kind: 'none' }
  | { kind: 'absent'; path: string }
  | { kind: 'sha256'; path: string; sha256: string }
  | { kind: 'dir'; path: string }
  | { kind: 'user-absent'; user: string }
  | { kind: 'user-present'; user: string }
  | { kind: 'pid'; pidFile: string; pid: number };

/** What each action of a jail's record is part of: apply tags every action, remove reads the tags (action-role.ts works them out for old records). */
export const ACTION_ROLES = ['package', 'account', 'user', 'keys', 'jail', 'copy', 'mount', 'logging', 'sshd', 'record'] as const;
/**
 * package: a package install. account: the account jailwizard created (deleted by remove).
 * user: a change to the account's settings (given back by remove). keys: the authorized keys.
 * jail: the jail's dirs and its own files. copy: host files copied into the jail.
 * mount: a bind mount and what persists it. logging: the syslog socket. sshd: the drop-in,
 * the Include line and their checks. record: jailwizard's record itself.
 */
export type ActionRole = (typeof ACTION_ROLES)[number];

/** One effect with its undo. The undo is data too: a list of effects run in order. */
export interface Action {
  effect: Effect;
  undo: Effect[];
  pre: Precondition;
  /** A guard for the undo: skip it when this no longer holds (e.g. the user is already gone). */
  undoIf?: Precondition;
  /** Undos of sshd reloads run once, after every other undo. */
  deferUndo?: boolean;
  /** What the action is part of (apply sets it on every action it records); remove reads it. */
  role?: ActionRole;
}

export interface Step {
  id: string;
  title: string;
  /** Why this step is needed, in words the admin is shown. */
  why: string[];
  actions: Action[];
}

export interface Plan {
  command: 'apply' | 'remove' | 'test';
  user: string;
  steps: Step[];
  /** Lines shown before the steps (what the plan does not do, what to expect). */
  notes: string[];
}

// ---------------------------------------------------------------- preview rendering

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for POSIX sh. */
export function shQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Text for a `#` comment: a comment ends at the next newline, so every control character
 * (newline, CR, tab, ESC…) is shown as an escape and the text stays on its one line.
 */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}

/** A heredoc delimiter that does not occur in the content. */
function delimiter(content: string): string {
  let d = 'JAILWIZARD_EOF';
  while (content.split('\n').includes(d)) d += '_';
  return d;
}

/**
 * The exact sh lines for one effect. `full` includes file contents (the dry-run script);
 * otherwise large or internal contents are summarised.
 */
export function previewEffect(e: Effect, full = true): string[] {
  switch (e.kind) {
    case 'mkdir':
      return [shJoin(['install', '-d', '-m', octal(e.mode), '-o', String(e.uid), '-g', String(e.gid), e.path])];
    case 'rmdir':
      return [shJoin(['rmdir', ...(e.ifEmpty ? ['--ignore-fail-on-non-empty'] : []), e.path])];
    case 'copy':
      return [shJoin(['install', '-m', octal(e.mode), '-o', String(e.uid), '-g', String(e.gid), e.from, e.path])];
    case 'write': {
      const head = `install -m ${octal(e.mode)} -o ${e.uid} -g ${e.gid} /dev/stdin ${shQuote(e.path)}`;
      if (!full && (e.summary || e.content.length > 2000)) {
        return [`${head} <<'…'  # ${oneLine(e.summary ?? `${e.content.length} bytes`)}`];
      }
      // An empty file: a heredoc would write one newline.
      if (e.content === '') return [`printf '' | ${head}`];
      const d = delimiter(e.content);
      const body = e.content.endsWith('\n') || e.content === '' ? e.content : `${e.content}\n`;
      // A content without a final newline cannot be written exactly by a heredoc: printf it.
      if (body !== e.content) return [`printf '%s' ${shQuote(e.content)} | ${head}`];
      return [`${head} <<'${d}'`, ...body.replace(/\n$/, '').split('\n'), d];
    }
    case 'symlink':
      return [shJoin(['ln', '-s', e.target, e.path])];
    case 'mknod':
      return [shJoin(['mknod', '-m', octal(e.mode), e.path, 'c', String(e.major), String(e.minor)])];
    case 'unlink':
      return [shJoin(['rm', '-f', e.path])];
    case 'restore':
      return [`# restore ${oneLine(shQuote(e.path))} from jailwizard's journal backup`];
    case 'move':
      return [shJoin(['mv', e.from, e.to])];
    case 'run':
      return [shJoin(e.argv)];
    case 'quarantine':
      return [shJoin(['install', '-d', '-m', '0700', '-o', '0', '-g', '0', e.to]), `${shJoin(['find', e.dir, '-mindepth', '1', '-maxdepth', '1', '-uid', String(e.uid), '-exec', 'mv', '-t', e.to, '--'])} {} +`];
    case 'unquarantine':
      return [`${shJoin(['find', e.from, '-mindepth', '1', '-maxdepth', '1', '-exec', 'mv', '-n', '-t', e.dir, '--'])} {} +`, shJoin(['rmdir', e.from])];
    case 'mount':
      return [shJoin(['mount', '--bind', e.source, e.target]), shJoin(['mount', '-o', ['remount', 'bind', ...e.options].join(','), e.target])];
    case 'umount':
      return [shJoin(['umount', e.target])];
    case 'line-add':
      return [`printf '%s\\n' ${shQuote(e.line)} >> ${shQuote(e.path)}`];
    case 'line-remove':
      return [`grep -vxF -e ${shQuote(e.line)} ${shQuote(e.path)} > ${shQuote(`${e.path}.new`)}; cat ${shQuote(`${e.path}.new`)} > ${shQuote(e.path)}; rm ${shQuote(`${e.path}.new`)}`];
    case 'append':
      return [`printf '%s' ${shQuote(e.text)} >> ${shQuote(e.path)}`];
    case 'unappend':
      return [`${shJoin(['truncate', '-s', `-${Buffer.byteLength(e.text)}`, e.path])}  # only while it still ends with what was appended`];
    case 'daemon-restart':
      return [`kill -TERM "$(cat ${shQuote(e.pidFile)})" && ${shJoin(e.argv)}`];
    case 'probe-files':
      return [`# the connection test may leave ${e.dirs.map((d) => shQuote(`${d}/${e.prefix}`) + '*').join(', ')}; removed afterwards, even after a crash`];
    case 'remove-probe-files':
      return [
        shJoin(['pkill', '-KILL', '-f', e.clients]),
        `find ${e.dirs.map(shQuote).join(' ')} -maxdepth 1 ! -type d \\( -name ${shQuote(`${e.prefix}*`)} -o -name ${shQuote(`.${e.prefix}*`)} \\) -delete`,
        // A tree a probe made (git's repository) goes as the user: root never walks into it.
        ...(e.uid === undefined
          ? []
          : [`${shJoin(['setpriv', '--reuid', String(e.uid), '--regid', String(e.uid), '--clear-groups', '--', 'find', ...e.dirs, '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-user', String(e.uid), '-name', `${e.prefix}*`, '-exec', 'rm', '-rf', '--'])} {} +`]),
      ];
    case 'sshd-validate':
      return [shJoin(['sshd', '-t', '-f', e.config])];
    case 'sshd-expect': {
      const checks = Object.entries(e.expect).map(([k, v]) => `${k.toLowerCase()} ${v}`).join(', ');
      return [`${shJoin(['sshd', '-T', '-f', e.config, '-C', `user=${e.user},host=localhost,addr=${e.addr}`])}  # expect: ${oneLine(checks)}`];
    }
    case 'sshd-reload':
      return [shJoin(e.argv)];
  }
}

export function previewAction(a: Action, full = true): string[] {
  return previewEffect(a.effect, full);
}

/** The plan as a commented POSIX sh script: what --dry-run prints. */
export function planToShellScript(plan: Plan): string {
  const out: string[] = [
    '#!/bin/sh',
    `# jailwizard ${plan.command} for user ${oneLine(plan.user)}: the exact changes, in order.`,
    '# Generated by `jailwizard --dry-run`; jailwizard itself runs these as argv, journaled, with rollback.',
    'set -eu',
  ];
  for (const n of plan.notes) out.push(`# ${oneLine(n)}`);
  if (plan.steps.length === 0) out.push('# Nothing to do: the host already matches.');
  plan.steps.forEach((s, i) => {
    out.push('', `# Step ${i + 1}: ${oneLine(s.title)}`);
    for (const w of s.why) out.push(`#   ${oneLine(w)}`);
    for (const a of s.actions) out.push(...previewAction(a, true));
  });
  return `${out.join('\n')}\n`;
}

/**
 * One line of the human-readable plan, with what it is, so a screen can wrap it right:
 * prose at words, a command with a shell continuation, a file's content exactly.
 */
export interface PlanLine {
  kind: 'prose' | 'command' | 'content';
  /** Spaces before the text. */
  indent: number;
  /** Where a wrapped prose line goes on (its label's width). */
  hanging: number;
  text: string;
}

/** Human-readable plan as lines: step headings, why, and each command, without big file bodies. */
export function formatPlanLines(plan: Plan): PlanLine[] {
  if (plan.steps.length === 0) return [{ kind: 'prose', indent: 0, hanging: 0, text: 'Nothing to do: the host already matches.' }];
  const out: PlanLine[] = [];
  for (const n of plan.notes) out.push({ kind: 'prose', indent: 0, hanging: 6, text: `note: ${oneLine(n)}` });
  plan.steps.forEach((s, i) => {
    const heading = `Step ${i + 1}/${plan.steps.length}: `;
    out.push({ kind: 'prose', indent: 0, hanging: heading.length, text: `${heading}${oneLine(s.title)}` });
    for (const w of s.why) out.push({ kind: 'prose', indent: 2, hanging: 7, text: `why: ${oneLine(w)}` });
    for (const a of s.actions) {
      const lines = previewAction(a, false);
      // A heredoc: its first line is the command, the rest is the file's text and the delimiter.
      const heredoc = a.effect.kind === 'write';
      lines.forEach((l, k) => out.push({ kind: heredoc && k > 0 ? 'content' : 'command', indent: 4, hanging: 6, text: l }));
    }
  });
  return out;
}

/** Human-readable plan: the same lines, with step headings and without big file bodies. */
export function formatPlan(plan: Plan): string {
  return `${formatPlanLines(plan).map((l) => ' '.repeat(l.indent) + l.text).join('\n')}\n`;
}

export function countActions(plan: Plan): number {
  return plan.steps.reduce((n, s) => n + s.actions.length, 0);
}
