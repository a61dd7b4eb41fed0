// Splits what the terminal sends into keys. Over SSH several keys often arrive in one read
// (a slow link, key repeat, a paste), and Ink 5 hands such a read to useInput as one
// string: `\x7f\x7f\x7f` is then no Backspace and `' ' ESC[B ' '` no key at all. This
// reader is the one place that turns reads into keys, in order; a sequence cut in two by
// a read boundary is kept until the rest arrives (see KeyReader.pending).

export type KeyName =
  | 'enter'
  | 'tab'
  | 'backtab'
  | 'backspace'
  | 'delete'
  | 'insert'
  | 'escape'
  | 'up'
  | 'down'
  | 'left'
  | 'right'
  | 'home'
  | 'end'
  | 'pageup'
  | 'pagedown';

export type Key =
  /** Printable characters: one, or a run of them that arrived together. Never a control character. */
  | { name: 'text'; text: string }
  /** What the terminal sent between the bracketed-paste markers, raw (line breaks included). */
  | { name: 'paste'; text: string }
  /** Ctrl plus a letter ('a'…'z'), except the ones that are keys of their own (Tab, Enter, Backspace). */
  | { name: 'ctrl'; letter: string }
  | { name: KeyName; ctrl?: boolean; alt?: boolean; shift?: boolean }
  /** A sequence this reader does not know (F-keys, mouse reports): nobody acts on it. */
  | { name: 'unknown'; sequence: string };

const ESC = '\u001b';
const PASTE_START = `${ESC}[200~`;
const PASTE_END = `${ESC}[201~`;

/** Ctrl+letter codes that are keys of their own: Ctrl+H is Backspace, Ctrl+I Tab, Ctrl+J and Ctrl+M Enter. */
const CONTROL_KEYS: Record<string, Key> = {
  '\r': { name: 'enter' },
  '\n': { name: 'enter' },
  '\t': { name: 'tab' },
  '\b': { name: 'backspace' },
  '\u007f': { name: 'backspace' },
};

/** CSI final bytes for cursor keys (ESC [ A, or ESC [ 1 ; 5 A with modifiers) and SS3 (ESC O A). */
const CURSOR_FINALS: Record<string, KeyName> = { A: 'up', B: 'down', C: 'right', D: 'left', H: 'home', F: 'end', Z: 'backtab' };
/** ESC [ n ~ */
const TILDE_CODES: Record<string, KeyName> = { '1': 'home', '2': 'insert', '3': 'delete', '4': 'end', '5': 'pageup', '6': 'pagedown', '7': 'home', '8': 'end' };

function isPrintable(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return c >= 0x20 && c !== 0x7f && !(c >= 0x80 && c < 0xa0);
}

/** xterm's modifier parameter: 1 + (shift 1, alt 2, ctrl 4). */
function withModifiers(name: KeyName, param: string | undefined): Key {
  const m = Number(param ?? '1') - 1;
  if (!(m > 0)) return { name };
  return { name, ...(m & 1 ? { shift: true } : {}), ...(m & 2 ? { alt: true } : {}), ...(m & 4 ? { ctrl: true } : {}) };
}

/** One CSI sequence (without ESC [) to a key. */
function csiKey(params: string, final: string, sequence: string): Key {
  const parts = params.split(';');
  if (final === '~') {
    const name = TILDE_CODES[parts[0] ?? ''];
    return name ? withModifiers(name, parts[1]) : { name: 'unknown', sequence };
  }
  const name = CURSOR_FINALS[final];
  if (!name || params.startsWith('?') || params.startsWith('<')) return { name: 'unknown', sequence };
  return withModifiers(name, parts[1]);
}

type Step = { key?: Key; length: number } | 'incomplete';

/** Reads one key at the start of `s` (which starts with ESC). */
function readEscape(s: string): Step {
  if (s.length === 1) return 'incomplete';
  const second = s[1]!;
  if (second === '[') {
    // CSI: parameter bytes 0x30–0x3f, intermediate bytes 0x20–0x2f, one final byte 0x40–0x7e.
    let i = 2;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x3f) i++;
    while (i < s.length && s.charCodeAt(i) >= 0x20 && s.charCodeAt(i) <= 0x2f) i++;
    if (i >= s.length) return 'incomplete';
    const final = s[i]!;
    const code = final.charCodeAt(0);
    // Not a CSI after all (a broken sequence): Esc, and read on after it.
    if (code < 0x40 || code > 0x7e) return { key: { name: 'escape' }, length: 1 };
    const sequence = s.slice(0, i + 1);
    return { key: csiKey(s.slice(2, i), final, sequence), length: i + 1 };
  }
  if (second === 'O') {
    if (s.length === 2) return 'incomplete';
    const name = CURSOR_FINALS[s[2]!];
    return { key: name ? { name } : { name: 'unknown', sequence: s.slice(0, 3) }, length: 3 };
  }
  // ESC followed by anything else is Esc, then that key: on a slow link Esc and the next
  // key can share a read, and both count. (Alt+letter is not used by the wizard.)
  return { key: { name: 'escape' }, length: 1 };
}

/**
 * Turns reads into keys. Keeps what a read left unfinished: an ESC at the end (the rest
 * of an arrow may follow in the next read) or a paste whose end marker has not arrived.
 * The caller waits briefly when pending() says so, then calls flush().
 */
export class KeyReader {
  private rest = '';
  private paste: string | undefined;

  /** What a read left unfinished: part of an escape sequence, or a paste still arriving. */
  pending(): 'sequence' | 'paste' | undefined {
    if (this.paste !== undefined) return 'paste';
    return this.rest === '' ? undefined : 'sequence';
  }

  push(chunk: string): Key[] {
    let s = this.rest + chunk;
    this.rest = '';
    const keys: Key[] = [];
    let text = '';
    const endText = (): void => {
      if (text !== '') keys.push({ name: 'text', text });
      text = '';
    };
    while (s.length > 0) {
      if (this.paste !== undefined) {
        const end = s.indexOf(PASTE_END);
        if (end < 0) {
          // Keep a possible start of the end marker for the next read.
          const keep = partialSuffix(s, PASTE_END);
          this.paste += s.slice(0, s.length - keep);
          this.rest = s.slice(s.length - keep);
          return keys;
        }
        keys.push({ name: 'paste', text: this.paste + s.slice(0, end) });
        this.paste = undefined;
        s = s.slice(end + PASTE_END.length);
        continue;
      }
      const ch = String.fromCodePoint(s.codePointAt(0)!);
      if (ch === ESC) {
        endText();
        if (s.startsWith(PASTE_START)) {
          this.paste = '';
          s = s.slice(PASTE_START.length);
          continue;
        }
        const step = readEscape(s);
        if (step === 'incomplete') {
          this.rest = s;
          return keys;
        }
        if (step.key) keys.push(step.key);
        s = s.slice(step.length);
        continue;
      }
      if (isPrintable(ch)) {
        text += ch;
        s = s.slice(ch.length);
        continue;
      }
      endText();
      const control = CONTROL_KEYS[ch];
      if (control) {
        keys.push(control);
        // CR LF (a paste without bracketed paste) is one line break, not two.
        s = s.slice(ch === '\r' && s[1] === '\n' ? 2 : 1);
        continue;
      }
      const code = ch.charCodeAt(0);
      if (code >= 1 && code <= 26) keys.push({ name: 'ctrl', letter: String.fromCharCode(code + 96) });
      // Everything else (NUL, Ctrl+\ ] ^ _, C1 controls) is dropped: it never reaches a screen.
      s = s.slice(ch.length);
    }
    endText();
    return keys;
  }

  /** The wait is over: an unfinished sequence is Esc (plus whatever followed); a paste ends here. */
  flush(): Key[] {
    const keys: Key[] = [];
    if (this.paste !== undefined) {
      keys.push({ name: 'paste', text: this.paste + this.rest });
      this.paste = undefined;
      this.rest = '';
      return keys;
    }
    if (this.rest === '') return keys;
    // A lone ESC was Esc; an unfinished CSI/SS3 after it is no key of its own.
    this.rest = '';
    keys.push({ name: 'escape' });
    return keys;
  }
}

/** The length of the longest end of `s` that is a start of `marker` (shorter than marker). */
function partialSuffix(s: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, s.length); n > 0; n--) if (marker.startsWith(s.slice(s.length - n))) return n;
  return 0;
}

/**
 * A burst folded into one state: `step` takes keys from the first on, until it returns
 * undefined; the state they lead to, and how many it took.
 */
export function foldKeys<S>(start: S, keys: readonly Key[], step: (at: S, key: Key) => S | undefined): { at: S; took: number } {
  let at = start;
  let took = 0;
  for (const k of keys) {
    const next = step(at, k);
    if (next === undefined) break;
    at = next;
    took++;
  }
  return { at, took };
}

/** Printable characters only: what a text field may take from typed or pasted text. */
export function printableOnly(text: string): string {
  let out = '';
  for (const ch of text) if (isPrintable(ch)) out += ch;
  return out;
}

/** Switch the terminal's bracketed paste on and off (xterm, and every terminal SSH users have). */
export const BRACKETED_PASTE_ON = `${ESC}[?2004h`;
export const BRACKETED_PASTE_OFF = `${ESC}[?2004l`;
