// What the terminal can show: colour (NO_COLOR), Unicode (the locale), cursor movement
// (TERM=dumb gets plain lines). Screens take their symbols from here.
import { writeSync } from 'node:fs';
import { BRACKETED_PASTE_OFF, BRACKETED_PASTE_ON } from './keys.ts';

export interface TermCaps {
  unicode: boolean;
  color: boolean;
  /** TERM=dumb: no cursor movement, so frames are printed as plain lines. */
  dumb: boolean;
}

export function detectTerm(env: NodeJS.ProcessEnv = process.env): TermCaps {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  const dumb = env.TERM === 'dumb';
  return {
    unicode: /utf-?8/i.test(locale) && !dumb,
    color: env.NO_COLOR === undefined && !dumb,
    dumb,
  };
}

export interface Symbols {
  ok: string;
  bad: string;
  warn: string;
  pointer: string;
  on: string;
  off: string;
  arrow: string;
  undone: string;
  pending: string;
  barFull: string;
  barEmpty: string;
  spinner: string[];
  ellipsis: string;
  dot: string;
}

export function symbols(caps: TermCaps): Symbols {
  return caps.unicode
    ? { ok: '✓', bad: '✗', warn: '!', pointer: '›', on: '◉', off: '○', arrow: '→', undone: '↩', pending: '·', barFull: '█', barEmpty: '░', spinner: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'], ellipsis: '…', dot: '·' }
    : { ok: '+', bad: 'x', warn: '!', pointer: '>', on: '[x]', off: '[ ]', arrow: '->', undone: '<-', pending: '.', barFull: '#', barEmpty: '-', spinner: ['|', '/', '-', '\\'], ellipsis: '...', dot: '-' };
}

/**
 * Bracketed paste: the terminal marks a paste, so pasted lines are not taken for Enter.
 * On for the wizard's life, and off again on every way out: the returned stop() (normal
 * exit, Ctrl+C, a signal that unmounts the wizard) and process exit (a crash too). A
 * terminal left in this mode wraps every later paste into the shell in ESC[200~ … ESC[201~.
 */
export function startBracketedPaste(out: { isTTY?: boolean; fd?: number; write(s: string): unknown }, caps: TermCaps): () => void {
  if (!out.isTTY || caps.dumb) return () => {};
  let active = true;
  const stop = (): void => {
    if (!active) return;
    active = false;
    process.off('exit', stop);
    try {
      // Synchronous: on 'exit' and in a signal's last moments nothing asynchronous runs.
      if (typeof out.fd === 'number') writeSync(out.fd, BRACKETED_PASTE_OFF);
      else out.write(BRACKETED_PASTE_OFF);
    } catch {
      // the terminal is gone (SIGHUP): nothing to switch off
    }
  };
  try {
    out.write(BRACKETED_PASTE_ON);
  } catch {
    return () => {};
  }
  process.on('exit', stop);
  return stop;
}
