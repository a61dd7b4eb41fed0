// Small pieces every screen shares: the frame (title, body, key hints), a pager for long
// text, a spinner and a progress bar. All sizes come from the terminal so the live area
// stays shorter than the window.
import React, { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import { Box, Text, useStdout } from 'ink';
import type { PlanLine } from '../src/model/effects.ts';
import { foldKeys, type Key } from '../src/wizard/keys.ts';
import { detectTerm, symbols, type Symbols, type TermCaps } from '../src/wizard/terminal.ts';
import { ASCII_WRAP, UNICODE_WRAP, shorten, wrapCommand, wrapExact, wrapProse, type WrapStyle } from '../src/wizard/wrap.ts';

export interface Ui {
  caps: TermCaps;
  sym: Symbols;
}

export const UiContext = createContext<Ui>({ caps: detectTerm(), sym: symbols(detectTerm()) });
export const useUi = (): Ui => useContext(UiContext);

interface SizeStore {
  get(): { rows: number; columns: number };
  subscribe(onChange: () => void): () => void;
}

const sizeStores = new WeakMap<object, SizeStore>();

/** One resize listener per terminal, however many components ask for its size. */
function sizeStore(stdout: NodeJS.WriteStream): SizeStore {
  let store = sizeStores.get(stdout);
  if (store) return store;
  // Wider than 100 columns, lines get long to read: the frame stays at 100.
  const read = (): { rows: number; columns: number } => ({ rows: stdout.rows || 24, columns: Math.min(stdout.columns || 80, 100) });
  let size = read();
  const subscribers = new Set<() => void>();
  const onResize = (): void => {
    size = read();
    for (const s of subscribers) s();
  };
  store = {
    get: () => size,
    subscribe(onChange) {
      if (subscribers.size === 0) stdout.on('resize', onResize);
      subscribers.add(onChange);
      return () => {
        subscribers.delete(onChange);
        if (subscribers.size === 0) stdout.off('resize', onResize);
      };
    },
  };
  sizeStores.set(stdout, store);
  return store;
}

/** The window size, with the 80x24 default of a terminal that does not say. */
export function useSize(): { rows: number; columns: number } {
  const { stdout } = useStdout();
  const store = sizeStore(stdout);
  return useSyncExternalStore(store.subscribe, store.get);
}

export const STEP_TITLES: Record<string, string> = {
  preflight: 'Preflight',
  user: 'User',
  tools: 'Tools',
  jail: 'Jail location',
  arch: 'Arch',
  access: 'Access',
  options: 'Options',
  preview: 'Preview',
  run: 'Run',
  test: 'Connection test',
  summary: 'Summary',
  repair: 'Repair a jail (doctor)',
};

export function Frame({ screen, index, total, hints, children }: { screen: string; index: number; total: number; hints: string; children: React.ReactNode }): React.JSX.Element {
  const { caps, sym } = useUi();
  const { columns } = useSize();
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold color={caps.color ? 'cyan' : undefined}>
        jailwizard {sym.dot} {index}/{total} {STEP_TITLES[screen] ?? screen}
      </Text>
      <Box flexDirection="column" marginTop={1}>
        {children}
      </Box>
      <Box marginTop={1} flexDirection="column">
        {hintLines(hints, columns, sym).map((l, i) => (
          <Text key={i} dimColor>
            {l}
          </Text>
        ))}
      </Box>
    </Box>
  );
}

/** The key hints, broken between two hints (never inside one) to fit the width. */
export function hintLines(hints: string, columns: number, sym: Symbols): string[] {
  const sep = ` ${sym.dot} `;
  const lines: string[] = [];
  let line = '';
  for (const h of hints.split(' · ')) {
    if (line !== '' && line.length + sep.length + h.length > columns - 1) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? h : `${line}${sep}${h}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * Rows the screen's body may use: the window less the frame (title, a blank line, a blank
 * line, the key hints), so that the whole frame stays shorter than the window (Ink
 * redraws a frame as tall as the window by clearing the screen).
 */
export function frameBodyRows(rows: number, columns: number, hints: string, sym: Symbols): number {
  return rows - 4 - hintLines(hints, columns, sym).length;
}

export function Status({ ok, warn }: { ok: boolean; warn?: boolean }): React.JSX.Element {
  const { sym, caps } = useUi();
  if (warn) return <Text color={caps.color ? 'yellow' : undefined}>{sym.warn}</Text>;
  return ok ? <Text color={caps.color ? 'green' : undefined}>{sym.ok}</Text> : <Text color={caps.color ? 'red' : undefined}>{sym.bad}</Text>;
}

export function Spinner(): React.JSX.Element {
  const { sym, caps } = useUi();
  const [i, setI] = useState(0);
  useEffect(() => {
    if (caps.dumb) return; // plain lines: a spinner would print a new frame every tick
    const t = setInterval(() => setI((n) => (n + 1) % sym.spinner.length), 100);
    return () => clearInterval(t);
  }, [caps.dumb, sym.spinner.length]);
  return <Text color={caps.color ? 'cyan' : undefined}>{caps.dumb ? '*' : sym.spinner[i]}</Text>;
}

export function ProgressBar({ done, total, width = 24 }: { done: number; total: number; width?: number }): React.JSX.Element {
  const { sym } = useUi();
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return <Text>{sym.barFull.repeat(filled)}{sym.barEmpty.repeat(width - filled)}</Text>;
}

export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The marker for a word broken across lines, in the terminal's symbols. */
export function useWrapStyle(): WrapStyle {
  return useUi().caps.unicode ? UNICODE_WRAP : ASCII_WRAP;
}

/**
 * Shortens a row that must stay one line (a list row, the key hints) to the window width,
 * at a word boundary. Messages wrap instead (<Prose>).
 */
export function fit(line: string, columns: number): string {
  // '...' rather than '…': fit() does not know the locale, and ASCII works everywhere.
  return shorten(line, columns, '...');
}

/** Prose wrapped at word boundaries to the window (or `width`), one <Text> per line. */
export function Prose({ text, indent = 0, hanging = indent, width, color, dimColor, bold }: { text: string; indent?: number; hanging?: number; width?: number; color?: string; dimColor?: boolean; bold?: boolean }): React.JSX.Element {
  const { columns } = useSize();
  const style = useWrapStyle();
  const lines = wrapProse(text, width ?? columns - 1, style, indent, hanging);
  return (
    <>
      {lines.map((l, i) => (
        <Text key={i} color={color} dimColor={dimColor} bold={bold}>
          {l}
        </Text>
      ))}
    </>
  );
}

/** Lines of the plan as they fit the window: prose at words, commands with ` \`, file text marked. */
export function wrapPlan(lines: PlanLine[], columns: number, style: WrapStyle): string[] {
  return lines.flatMap((l) =>
    l.kind === 'command' ? wrapCommand(l.text, columns, style, l.indent) : l.kind === 'content' ? wrapExact(l.text, columns, style, l.indent) : wrapProse(l.text, columns, style, l.indent, l.hanging),
  );
}

export interface Pager {
  /** ↑/↓ (k/j) a line, PgUp/PgDn (b/space) a page, Home/End (g/G); true when it was one of those. */
  onKey(key: Key): boolean;
  /** The scroll keys at the start of a burst as one scroll; returns how many. */
  onKeys(keys: Key[]): number;
  view: React.JSX.Element;
}

/**
 * Long text, one page at a time. The lines must already fit the width (wrapPlan,
 * wrapProse); `height` is the number of rows it may use, its status line included. A new
 * `resetKey` starts again at the top.
 */
export function usePager(lines: string[], height: number, resetKey = ''): Pager {
  const { columns } = useSize();
  const { sym } = useUi();
  const [at, setAt] = useState({ top: 0, resetKey });
  const page = Math.max(1, height - 1);
  const maxTop = Math.max(0, lines.length - page);
  const top = at.resetKey === resetKey ? Math.min(at.top, maxTop) : 0;
  const go = (t: number): boolean => {
    setAt({ top: Math.max(0, Math.min(maxTop, t)), resetKey });
    return true;
  };
  /** Where a scroll key takes the top line from `t`; undefined for other keys. */
  const scrolled = (t: number, key: Key): number | undefined => {
    const ch = key.name === 'text' ? key.text : undefined;
    const to =
      key.name === 'up' || ch === 'k' ? t - 1
      : key.name === 'down' || ch === 'j' ? t + 1
      : key.name === 'pagedown' || ch === ' ' ? t + page
      : key.name === 'pageup' || ch === 'b' ? t - page
      : key.name === 'home' || ch === 'g' ? 0
      : key.name === 'end' || ch === 'G' ? maxTop
      : undefined;
    return to === undefined ? undefined : Math.max(0, Math.min(maxTop, to));
  };
  const onKey = (key: Key): boolean => {
    const to = scrolled(top, key);
    return to === undefined ? false : go(to);
  };
  const onKeys = (keys: Key[]): number => {
    const { at, took } = foldKeys(top, keys, scrolled);
    if (took > 0) go(at);
    return took;
  };
  const shown = lines.slice(top, top + page);
  const view = (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        // Already wrapped to fit; fit() only guards against a line that was not.
        <Text key={top + i}>{fit(l, columns - 1)}</Text>
      ))}
      <Text dimColor>
        lines {lines.length === 0 ? 0 : top + 1}-{Math.min(lines.length, top + page)} of {lines.length}
        {lines.length > page ? `  (${sym.pointer === '>' ? 'up/down' : '↑↓'} PgUp PgDn space: scroll)` : ''}
      </Text>
    </Box>
  );
  return { onKey, onKeys, view };
}

/** The list pointer, in the terminal's symbols. */
export function Indicator({ isSelected }: { isSelected?: boolean }): React.JSX.Element {
  const { sym, caps } = useUi();
  return <Box marginRight={1}><Text color={caps.color ? 'cyan' : undefined}>{isSelected ? sym.pointer : ' '}</Text></Box>;
}
