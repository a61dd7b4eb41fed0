// The input layer without a terminal: reads split into keys, a shell-like line editor, the
// router that hands keys out one at a time (with a fake clock), and bracketed paste being
// switched off when the process dies.
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KeyReader, type Key } from '../src/wizard/keys.ts';
import { editLine, type Line } from '../src/wizard/line-edit.ts';
import { KeyRouter, type RouterTiming } from '../src/wizard/key-router.ts';
import { run } from '../src/host/run.ts';

const keysOf = (...reads: string[]): Key[] => {
  const r = new KeyReader();
  return [...reads.flatMap((c) => r.push(c)), ...r.flush()];
};

describe('KeyReader', () => {
  it('splits one read into every key in it, in order', () => {
    expect(keysOf(' \u001b[B \u001b[B \u001b[B \r')).toEqual([
      { name: 'text', text: ' ' },
      { name: 'down' },
      { name: 'text', text: ' ' },
      { name: 'down' },
      { name: 'text', text: ' ' },
      { name: 'down' },
      { name: 'text', text: ' ' },
      { name: 'enter' },
    ]);
  });

  it('DEL and BS are Backspace; a printable run stays one key; control characters never become text', () => {
    expect(keysOf('jwxq\u007f\u007f\b')).toEqual([{ name: 'text', text: 'jwxq' }, { name: 'backspace' }, { name: 'backspace' }, { name: 'backspace' }]);
    expect(keysOf('a\u0001b\u0015\u000bc\u0017\u0000\u001c\u0085')).toEqual([
      { name: 'text', text: 'a' },
      { name: 'ctrl', letter: 'a' },
      { name: 'text', text: 'b' },
      { name: 'ctrl', letter: 'u' },
      { name: 'ctrl', letter: 'k' },
      { name: 'text', text: 'c' },
      { name: 'ctrl', letter: 'w' },
    ]);
  });

  it('CSI and SS3 keys: arrows, Home/End, Delete, PgUp/PgDn, Shift+Tab, modifiers', () => {
    expect(keysOf('\u001b[A\u001bOB\u001b[H\u001bOF\u001b[1~\u001b[4~\u001b[3~\u001b[5~\u001b[6~\u001b[Z\u001b[1;5C\t')).toEqual([
      { name: 'up' },
      { name: 'down' },
      { name: 'home' },
      { name: 'end' },
      { name: 'home' },
      { name: 'end' },
      { name: 'delete' },
      { name: 'pageup' },
      { name: 'pagedown' },
      { name: 'backtab' },
      { name: 'right', ctrl: true },
      { name: 'tab' },
    ]);
    expect(keysOf('\u001b[15~')).toEqual([{ name: 'unknown', sequence: '\u001b[15~' }]);
  });

  it('CR LF is one Enter; LF alone is Enter', () => {
    expect(keysOf('a\r\nb\nc\r')).toEqual([{ name: 'text', text: 'a' }, { name: 'enter' }, { name: 'text', text: 'b' }, { name: 'enter' }, { name: 'text', text: 'c' }, { name: 'enter' }]);
  });

  it('an arrow cut in two by a read boundary is still the arrow; ESC alone is Esc; ESC and a key in one read are both keys', () => {
    const r = new KeyReader();
    expect(r.push('x\u001b')).toEqual([{ name: 'text', text: 'x' }]);
    expect(r.pending()).toBe('sequence');
    expect(r.push('[')).toEqual([]);
    expect(r.push('Bq')).toEqual([{ name: 'down' }, { name: 'text', text: 'q' }]);
    expect(r.pending()).toBeUndefined();
    expect(r.push('\u001b')).toEqual([]);
    expect(r.flush()).toEqual([{ name: 'escape' }]);
    expect(keysOf('\u001bj')).toEqual([{ name: 'escape' }, { name: 'text', text: 'j' }]);
    expect(keysOf('\u001b\u001b[A')).toEqual([{ name: 'escape' }, { name: 'up' }]);
  });

  it('bracketed paste: the text between the markers is one key, with its line breaks, also across reads', () => {
    const r = new KeyReader();
    expect(r.push('a\u001b[200~one\r\ntw')).toEqual([{ name: 'text', text: 'a' }]);
    expect(r.pending()).toBe('paste');
    expect(r.push('o\n\u001b[20')).toEqual([]);
    expect(r.push('1~\r')).toEqual([{ name: 'paste', text: 'one\r\ntwo\n' }, { name: 'enter' }]);
    // The end marker never came: the wait ends the paste.
    const r2 = new KeyReader();
    r2.push('\u001b[200~half');
    expect(r2.flush()).toEqual([{ name: 'paste', text: 'half' }]);
  });
});

describe('editLine: a shell line', () => {
  const apply = (line: Line, ...keys: Key[]): Line => keys.reduce((l, k) => (editLine(l, k) as { line: Line }).line, line);
  const start = (value: string, cursor = [...value].length): Line => ({ value, cursor });
  const t = (text: string): Key => ({ name: 'text', text });

  it('inserts at the cursor; Left/Right, Home/End, Ctrl+A/E/B/F move it', () => {
    expect(apply(start('ac'), { name: 'left' }, t('b'))).toEqual({ value: 'abc', cursor: 2 });
    expect(apply(start('bc'), { name: 'home' }, t('a'), { name: 'end' }, t('d'))).toEqual({ value: 'abcd', cursor: 4 });
    expect(apply(start('bc'), { name: 'ctrl', letter: 'a' }, t('a'), { name: 'ctrl', letter: 'e' }, t('d'))).toEqual({ value: 'abcd', cursor: 4 });
    expect(apply(start('ac', 0), { name: 'ctrl', letter: 'f' }, t('b'), { name: 'ctrl', letter: 'b' }, { name: 'right' })).toEqual({ value: 'abc', cursor: 2 });
    expect(apply(start('ab', 0), { name: 'left' })).toEqual({ value: 'ab', cursor: 0 });
  });

  it('Backspace deletes before the cursor, Delete and Ctrl+D under it; nothing at the ends', () => {
    expect(apply(start('jwxq'), { name: 'backspace' }, { name: 'backspace' }, { name: 'backspace' })).toEqual({ value: 'j', cursor: 1 });
    expect(apply(start('abc', 0), { name: 'backspace' }, { name: 'delete' })).toEqual({ value: 'bc', cursor: 0 });
    expect(apply(start('abc', 1), { name: 'ctrl', letter: 'd' })).toEqual({ value: 'ac', cursor: 1 });
    expect(apply(start('abc'), { name: 'delete' })).toEqual({ value: 'abc', cursor: 3 });
  });

  it('Ctrl+U kills to the start, Ctrl+K to the end, Ctrl+W the word before the cursor', () => {
    expect(apply(start('alice bob', 6), { name: 'ctrl', letter: 'u' })).toEqual({ value: 'bob', cursor: 0 });
    expect(apply(start('alice bob', 5), { name: 'ctrl', letter: 'k' })).toEqual({ value: 'alice', cursor: 5 });
    expect(apply(start('/srv/jails alice  '), { name: 'ctrl', letter: 'w' })).toEqual({ value: '/srv/jails ', cursor: 11 });
    expect(apply(start('/srv/jails alice'), { name: 'ctrl', letter: 'w' }, { name: 'ctrl', letter: 'w' })).toEqual({ value: '', cursor: 0 });
  });

  it('no control character gets in: a paste becomes one line, tabs become spaces', () => {
    expect(apply(start(''), { name: 'paste', text: '203.0.113.7\r\n\r\n10.0.0.0/8\n' })).toEqual({ value: '203.0.113.7 10.0.0.0/8', cursor: 22 });
    expect(apply(start(''), t('a\tb\u0007c'))).toEqual({ value: 'a bc', cursor: 4 });
  });

  it('Enter submits; keys a line does not know are left to the screen', () => {
    expect(editLine(start('x'), { name: 'enter' })).toEqual({ submit: true });
    expect(editLine(start('x'), { name: 'tab' })).toBeUndefined();
    expect(editLine(start('x'), { name: 'up' })).toBeUndefined();
    expect(editLine(start('x'), { name: 'escape' })).toBeUndefined();
  });

  it('counts characters, not UTF-16 units', () => {
    expect(apply(start('ä€😀'), { name: 'backspace' }, { name: 'left' }, t('x'))).toEqual({ value: 'äx€', cursor: 2 });
  });
});

/** A clock the test moves by hand, and a yield that runs when the test says. */
function fakeTiming(): RouterTiming & { advance(ms: number): void; drain(): void } {
  let now = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const yields: (() => void)[] = [];
  let id = 0;
  return {
    escWaitMs: 100,
    pasteWaitMs: 1000,
    yieldThen: (fn) => void yields.push(fn),
    setTimer: (fn, ms) => {
      timers.set(++id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (t) => void timers.delete(t as number),
    advance(ms) {
      now += ms;
      for (const [k, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(k);
          t.fn();
        }
      }
    },
    drain() {
      while (yields.length > 0) yields.shift()!();
    },
  };
}

describe('KeyRouter', () => {
  it('hands a burst out one key at a time, yielding between keys, root first', () => {
    const timing = fakeTiming();
    const router = new KeyRouter(timing);
    const seen: string[] = [];
    router.root = (k) => {
      seen.push(`root:${k.name}`);
      return k.name === 'ctrl';
    };
    router.addOwner({ handle: (k) => void seen.push(k.name === 'text' ? `text:${k.text}` : k.name), takesRuns: false });
    router.feed('jj\u001b[B\u0003\r');
    // The first key goes out at once; each next one after a yield to the event loop.
    expect(seen).toEqual(['root:text', 'text:j']);
    timing.drain();
    expect(seen).toEqual(['root:text', 'text:j', 'root:text', 'text:j', 'root:down', 'down', 'root:ctrl', 'root:enter', 'enter']);
  });

  it('a text field gets a run whole; the owner mounted last takes the keys until it goes', () => {
    const timing = fakeTiming();
    const router = new KeyRouter(timing);
    const a: string[] = [];
    const b: string[] = [];
    router.addOwner({ handle: (k) => void a.push(k.name === 'text' ? k.text : k.name), takesRuns: false });
    const removeB = router.addOwner({ handle: (k) => void b.push(k.name === 'text' ? k.text : k.name), takesRuns: true });
    router.feed('abc');
    timing.drain();
    removeB();
    router.feed('de');
    timing.drain();
    expect(b).toEqual(['abc']);
    expect(a).toEqual(['d', 'e']);
  });

  it('the owner can change in the middle of a burst: the rest goes to the new one', () => {
    const timing = fakeTiming();
    const router = new KeyRouter(timing);
    const tools: string[] = [];
    let removeUser = (): void => {};
    removeUser = router.addOwner({
      handle: (k) => {
        if (k.name === 'enter') {
          removeUser();
          router.addOwner({ handle: (k2) => void tools.push(k2.name === 'text' ? k2.text : k2.name), takesRuns: false });
        }
      },
      takesRuns: false,
    });
    router.feed('\u001b[B\r \u001b[B ');
    timing.drain();
    expect(tools).toEqual([' ', 'down', ' ']);
  });

  it('an owner that takes bursts gets the keys of a read at once, up to the first it does not take; Esc and Ctrl never', () => {
    const timing = fakeTiming();
    const router = new KeyRouter(timing);
    const bursts: string[][] = [];
    const single: string[] = [];
    const name = (k: Key): string => (k.name === 'text' ? k.text : k.name);
    router.root = (k) => k.name === 'ctrl';
    router.addOwner({
      handle: (k) => void single.push(name(k)),
      takesRuns: false,
      // Takes moves and toggles, not Enter.
      burst: (keys) => {
        const n = keys.findIndex((k) => k.name === 'enter');
        const took = n < 0 ? keys.length : n;
        if (took > 0) bursts.push(keys.slice(0, took).map(name));
        return took;
      },
    });
    router.feed('  \u001b[B \r\u001b[A\u0003\u001b[B\u001b[B');
    timing.drain();
    // The run of two spaces comes as two keys; Ctrl+C goes to the root alone.
    expect(bursts).toEqual([[' ', ' ', 'down', ' '], ['down', 'down']]);
    expect(single).toEqual(['enter', 'up']);
  });

  it('an ESC at the end of a read waits for the rest of its sequence, then counts as Esc', () => {
    const timing = fakeTiming();
    const router = new KeyRouter(timing);
    const seen: string[] = [];
    router.addOwner({ handle: (k) => void seen.push(k.name), takesRuns: false });
    router.feed('\u001b');
    timing.advance(50);
    router.feed('[B');
    timing.drain();
    expect(seen).toEqual(['down']);
    router.feed('\u001b');
    timing.advance(99);
    expect(seen).toEqual(['down']);
    timing.advance(1);
    timing.drain();
    expect(seen).toEqual(['down', 'escape']);
  });
});

describe('bracketed paste', () => {
  it('is switched on at start and off again when the process crashes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jw-paste-'));
    try {
      const entry = path.join(dir, 'crash.ts');
      // A program that turns it on as the wizard does, then dies of an uncaught error.
      writeFileSync(
        entry,
        `import { startBracketedPaste, detectTerm } from ${JSON.stringify(path.resolve('src/wizard/terminal.ts'))};
         startBracketedPaste({ isTTY: true, fd: 1, write: (s: string) => process.stdout.write(s) }, detectTerm({ LANG: 'C.UTF-8', TERM: 'xterm' }));
         setTimeout(() => { throw new Error('a bug'); }, 10);`,
      );
      const out = path.join(dir, 'crash.mjs');
      await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'esm', logLevel: 'error' });
      const r = await run([process.execPath, out], { timeoutMs: 30_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('a bug');
      expect(r.stdout).toBe('\u001b[?2004h\u001b[?2004l');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
