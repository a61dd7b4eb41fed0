// Effects are the only things the executor knows how to do. They are plain data, so a
// plan can be previewed, journaled, saved and undone. The preview of an effect is a POSIX
// sh line generated from the effect itself, so what is shown and what runs cannot drift.

export type Effect =
  | { kind: 'mkdir'; path: string; mode: number; uid: number; gid: number }
  | { kind: 'rmdir'; path: string }
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
  /** A bind mount of a host dir, then a remount with the flags (nodev,nosuid,noexec, maybe ro). */
  | { kind: 'mount'; source: string; target: string; options: string[] }
  | { kind: 'umount'; target: string }
  /** One line appended to a shared config file (/etc/fstab); its undo removes exactly that line. */
  | { kind: 'line-add'; path: string; line: string }
  | { kind: 'line-remove'; path: string; line: string }
  /** Stop a daemon that has no reload for new inputs (rsyslogd) and start it again the same way. */
  | { kind: 'daemon-restart'; name: string; pidFile: string; argv: string[] }
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

/** One effect with its undo. The undo is data too: a list of effects run in order. */
export interface Action {
  effect: Effect;
  undo: Effect[];
  pre: Precondition;
  /** A guard for the undo: skip it when this no longer holds (e.g. the user is already gone). */
  undoIf?: Precondition;
  /** Undos of sshd reloads run once, after every other undo. */
  deferUndo?: boolean;
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

export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}

export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
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
      return [shJoin(['rmdir', e.path])];
    case 'copy':
      return [shJoin(['install', '-m', octal(e.mode), '-o', String(e.uid), '-g', String(e.gid), e.from, e.path])];
    case 'write': {
      const head = `install -m ${octal(e.mode)} -o ${e.uid} -g ${e.gid} /dev/stdin ${shQuote(e.path)}`;
      if (!full && (e.summary || e.content.length > 2000)) {
        return [`${head} <<'…'  # ${e.summary ?? `${e.content.length} bytes`}`];
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
      return [`# restore ${shQuote(e.path)} from jailwizard's journal backup`];
    case 'move':
      return [shJoin(['mv', e.from, e.to])];
    case 'run':
      return [shJoin(e.argv)];
    case 'mount':
      return [shJoin(['mount', '--bind', e.source, e.target]), shJoin(['mount', '-o', ['remount', 'bind', ...e.options].join(','), e.target])];
    case 'umount':
      return [shJoin(['umount', e.target])];
    case 'line-add':
      return [`printf '%s\\n' ${shQuote(e.line)} >> ${shQuote(e.path)}`];
    case 'line-remove':
      return [`grep -vxF -e ${shQuote(e.line)} ${shQuote(e.path)} > ${shQuote(`${e.path}.new`)}; cat ${shQuote(`${e.path}.new`)} > ${shQuote(e.path)}; rm ${shQuote(`${e.path}.new`)}`];
    case 'daemon-restart':
      return [`kill -TERM "$(cat ${shQuote(e.pidFile)})" && ${shJoin(e.argv)}`];
    case 'sshd-validate':
      return [shJoin(['sshd', '-t', '-f', e.config])];
    case 'sshd-expect': {
      const checks = Object.entries(e.expect).map(([k, v]) => `${k.toLowerCase()} ${v}`).join(', ');
      return [`${shJoin(['sshd', '-T', '-f', e.config, '-C', `user=${e.user},host=localhost,addr=${e.addr}`])}  # expect: ${checks}`];
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
    `# jailwizard ${plan.command} for user ${plan.user}: the exact changes, in order.`,
    '# Generated by `jailwizard --dry-run`; jailwizard itself runs these as argv, journaled, with rollback.',
    'set -eu',
  ];
  for (const n of plan.notes) out.push(`# ${n}`);
  if (plan.steps.length === 0) out.push('# Nothing to do: the host already matches.');
  plan.steps.forEach((s, i) => {
    out.push('', `# Step ${i + 1}: ${s.title}`);
    for (const w of s.why) out.push(`#   ${w}`);
    for (const a of s.actions) out.push(...previewAction(a, true));
  });
  return `${out.join('\n')}\n`;
}

/** Human-readable plan: the same lines, with step headings and without big file bodies. */
export function formatPlan(plan: Plan): string {
  if (plan.steps.length === 0) return 'Nothing to do: the host already matches.\n';
  const out: string[] = [];
  for (const n of plan.notes) out.push(`note: ${n}`);
  plan.steps.forEach((s, i) => {
    out.push(`Step ${i + 1}/${plan.steps.length}: ${s.title}`);
    for (const w of s.why) out.push(`  why: ${w}`);
    for (const a of s.actions) for (const l of previewAction(a, false)) out.push(`    ${l}`);
  });
  return `${out.join('\n')}\n`;
}

export function countActions(plan: Plan): number {
  return plan.steps.reduce((n, s) => n + s.actions.length, 0);
}
