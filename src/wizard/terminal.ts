// What the terminal can show: colour (NO_COLOR), Unicode (the locale), cursor movement
// (TERM=dumb gets plain lines). Screens take their symbols from here.

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
