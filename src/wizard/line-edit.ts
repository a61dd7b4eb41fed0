// A one-line text field that behaves like a shell's (readline's emacs keys): pure, so a
// burst of keys is folded in order and tested without a terminal.
import { printableOnly, type Key } from './keys.ts';

export interface Line {
  value: string;
  /** Index into value's code points (0 … length): where the next character goes. */
  cursor: number;
}

/** What a key did to the line: a new line, Enter, or nothing this field handles (Tab, Esc, arrows up/down). */
export type LineResult = { line: Line } | { submit: true } | undefined;

const chars = (s: string): string[] => [...s];

/** Inserts text at the cursor; control characters never get in (a paste's line breaks become spaces). */
export function insertText(line: Line, text: string): Line {
  const clean = printableOnly(text.replace(/\r\n|[\r\n\t]/g, ' '));
  if (clean === '') return line;
  const c = chars(line.value);
  const at = Math.min(line.cursor, c.length);
  const added = chars(clean);
  return { value: [...c.slice(0, at), ...added, ...c.slice(at)].join(''), cursor: at + added.length };
}

/** A paste into a one-line field: its lines joined by a space, blank lines and the final break dropped. */
export function pastedAsOneLine(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

/** Where the word before `at` starts (readline's unix-word-rubout: words end at blanks). */
function wordStart(c: string[], at: number): number {
  let i = at;
  while (i > 0 && /\s/.test(c[i - 1]!)) i--;
  while (i > 0 && !/\s/.test(c[i - 1]!)) i--;
  return i;
}

/** Where the word after `at` ends. */
function wordEnd(c: string[], at: number): number {
  let i = at;
  while (i < c.length && /\s/.test(c[i]!)) i++;
  while (i < c.length && !/\s/.test(c[i]!)) i++;
  return i;
}

export function editLine(line: Line, key: Key): LineResult {
  const c = chars(line.value);
  const at = Math.max(0, Math.min(line.cursor, c.length));
  const set = (value: string[], cursor: number): LineResult => ({ line: { value: value.join(''), cursor } });
  switch (key.name) {
    case 'text':
      return { line: insertText(line, key.text) };
    case 'paste':
      return { line: insertText(line, pastedAsOneLine(key.text)) };
    case 'enter':
      return { submit: true };
    case 'backspace':
      // Ctrl+Backspace / Alt+Backspace: a word, as in most shells' terminals.
      if (key.ctrl || key.alt) return set([...c.slice(0, wordStart(c, at)), ...c.slice(at)], wordStart(c, at));
      return at === 0 ? { line } : set([...c.slice(0, at - 1), ...c.slice(at)], at - 1);
    case 'delete':
      return at >= c.length ? { line } : set([...c.slice(0, at), ...c.slice(at + 1)], at);
    case 'left':
      return { line: { value: line.value, cursor: key.ctrl || key.alt ? wordStart(c, at) : Math.max(0, at - 1) } };
    case 'right':
      return { line: { value: line.value, cursor: key.ctrl || key.alt ? wordEnd(c, at) : Math.min(c.length, at + 1) } };
    case 'home':
      return { line: { value: line.value, cursor: 0 } };
    case 'end':
      return { line: { value: line.value, cursor: c.length } };
    case 'ctrl':
      switch (key.letter) {
        case 'a':
          return { line: { value: line.value, cursor: 0 } };
        case 'e':
          return { line: { value: line.value, cursor: c.length } };
        case 'b':
          return { line: { value: line.value, cursor: Math.max(0, at - 1) } };
        case 'f':
          return { line: { value: line.value, cursor: Math.min(c.length, at + 1) } };
        case 'd':
          return at >= c.length ? { line } : set([...c.slice(0, at), ...c.slice(at + 1)], at);
        case 'u':
          return set(c.slice(at), 0);
        case 'k':
          return set(c.slice(0, at), at);
        case 'w': {
          const from = wordStart(c, at);
          return set([...c.slice(0, from), ...c.slice(at)], from);
        }
        default:
          return undefined;
      }
    default:
      return undefined;
  }
}

/** A line whose cursor is at its end: how a field opens with a value. */
export function lineAtEnd(value: string): Line {
  return { value, cursor: chars(value).length };
}
