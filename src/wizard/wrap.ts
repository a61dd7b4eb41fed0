// Text that fits the terminal. Prose wraps at word boundaries; a shell command wraps with
// a continuation (` \`) so a copied line still runs; a word wider than the screen (a key,
// a hash, a long path) is broken with a visible marker at the end of each piece. Only
// what is shown is wrapped: the script saved with `s` is the plan's exact text.

export interface WrapStyle {
  /** Ends a line whose word goes on below (not a shell continuation). */
  marker: string;
}

export const UNICODE_WRAP: WrapStyle = { marker: '↵' };
export const ASCII_WRAP: WrapStyle = { marker: '+' };

const width = (s: string): number => [...s].length;

/** Breaks a word into pieces of at most `room` columns, every piece but the last ending in the marker. */
export function breakWord(word: string, room: number, style: WrapStyle): string[] {
  const c = [...word];
  const piece = Math.max(1, room - width(style.marker));
  if (c.length <= room) return [word];
  const out: string[] = [];
  for (let i = 0; i < c.length; i += piece) {
    const last = i + piece >= c.length;
    out.push(c.slice(i, i + piece).join('') + (last ? '' : style.marker));
  }
  return out;
}

/**
 * Wraps prose at blanks to `columns`. The first line starts with `indent` spaces, the
 * others with `hanging`. Runs of blanks inside the text are kept as written (aligned
 * columns stay aligned) unless the line breaks there.
 */
export function wrapProse(text: string, columns: number, style: WrapStyle, indent = 0, hanging = indent): string[] {
  const lines: string[] = [];
  // Words with the blanks before them; leading blanks belong to the indent.
  const parts = text.trimStart().match(/\s*\S+/g) ?? [];
  let line = ' '.repeat(indent);
  let empty = true;
  const room = (): number => columns - width(line);
  for (const part of parts) {
    const word = part.trimStart();
    const gap = empty ? '' : part.slice(0, part.length - word.length);
    if (width(gap) + width(word) <= room()) {
      line += gap + word;
      empty = false;
      continue;
    }
    if (!empty) {
      lines.push(line);
      line = ' '.repeat(hanging);
      empty = true;
    }
    const pieces = breakWord(word, room(), style);
    for (const [i, p] of pieces.entries()) {
      if (i > 0) {
        lines.push(line);
        line = ' '.repeat(hanging);
      }
      line += p;
    }
    empty = false;
  }
  lines.push(line);
  return lines.map((l) => l.trimEnd());
}

/** Shell words of a command line, quotes kept; a word starting with # begins the comment. */
export function shellWords(command: string): { words: string[]; comment?: string } {
  const words: string[] = [];
  let i = 0;
  const s = command;
  while (i < s.length) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    if (s[i] === '#') return { words, comment: s.slice(i) };
    let w = '';
    while (i < s.length && s[i] !== ' ' && s[i] !== '\t') {
      const ch = s[i]!;
      if (ch === "'") {
        const end = s.indexOf("'", i + 1);
        const stop = end < 0 ? s.length : end + 1;
        w += s.slice(i, stop);
        i = stop;
      } else if (ch === '"') {
        let j = i + 1;
        while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
        const stop = Math.min(s.length, j + 1);
        w += s.slice(i, stop);
        i = stop;
      } else if (ch === '\\') {
        w += s.slice(i, i + 2);
        i += 2;
      } else {
        w += ch;
        i++;
      }
    }
    words.push(w);
  }
  return { words };
}

/**
 * A shell command wrapped to `columns`: every line but the last ends with ` \`, and the
 * continuation lines are indented two more, so the copied lines run as the one command.
 * A trailing comment goes on its own `# ` lines (a continuation inside a comment would
 * not continue it).
 */
export function wrapCommand(command: string, columns: number, style: WrapStyle, indent = 0): string[] {
  if (indent + width(command) <= columns) return [' '.repeat(indent) + command];
  const { words, comment } = shellWords(command);
  const lines: string[] = [];
  const next = ' '.repeat(indent + 2);
  let line = ' '.repeat(indent);
  let empty = true;
  const CONT = ' \\';
  for (const [k, word] of words.entries()) {
    const lastWord = k === words.length - 1 && comment === undefined;
    // Room for the word, and for ` \` unless nothing follows it.
    const reserve = lastWord ? 0 : width(CONT);
    const gap = empty ? '' : ' ';
    if (width(line) + width(gap) + width(word) + reserve <= columns) {
      line += gap + word;
      empty = false;
      continue;
    }
    if (!empty) {
      lines.push(line + CONT);
      // A word that fits the window but not after the indent goes further left: still
      // valid shell, and better than a broken word.
      line = ' '.repeat(Math.max(0, Math.min(width(next), columns - reserve - width(word))));
    }
    const pieces = breakWord(word, columns - width(line) - reserve, style);
    for (const [i, p] of pieces.entries()) {
      if (i > 0) {
        lines.push(line);
        line = next;
      }
      line += p;
    }
    empty = false;
  }
  if (comment !== undefined) {
    const inline = `${line}  ${comment}`;
    if (width(inline) <= columns) lines.push(inline);
    else {
      lines.push(line);
      const text = comment.replace(/^#\s*/, '');
      for (const l of wrapProse(text, columns - width(next) - 2, style)) lines.push(`${next}# ${l}`);
    }
  } else lines.push(line);
  return lines;
}

/** A line of exact text (a file's content): broken at blanks if it must be, each break marked. */
export function wrapExact(text: string, columns: number, style: WrapStyle, indent = 0): string[] {
  const line = ' '.repeat(indent) + text;
  if (width(line) <= columns) return [line];
  const room = columns - width(style.marker) - 1;
  const wrapped = wrapProse(text, Math.max(1, room - indent), style, 0, 2);
  // A piece of a broken word already ends in the marker: one per line, not ` ↵` after `↵`.
  return wrapped.map((l, i) => ' '.repeat(indent) + l + (i < wrapped.length - 1 && !l.endsWith(style.marker) ? ` ${style.marker}` : ''));
}

/** One line shortened to `columns` at a word boundary, ending in `ellipsis`: for rows that must stay one line. */
export function shorten(line: string, columns: number, ellipsis: string): string {
  if (width(line) <= columns) return line;
  const room = Math.max(0, columns - width(ellipsis));
  const c = [...line];
  let cut = room;
  // Back to the last blank, unless that throws away most of the room.
  while (cut > 0 && c[cut] !== ' ' && c[cut - 1] !== ' ') cut--;
  if (cut < room / 2) cut = room;
  return c.slice(0, cut).join('').trimEnd() + ellipsis;
}
