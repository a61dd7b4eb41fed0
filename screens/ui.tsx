// Small pieces every screen shares: the frame (title, body, key hints), a pager for long
// text, a spinner and a progress bar. All sizes come from the terminal so the live area
// stays shorter than the window.
import React, { createContext, useContext, useEffect, useState } from 'react';
import { Box, Text, useInput, useStdout } from 'ink';
import { detectTerm, symbols, type Symbols, type TermCaps } from '../src/wizard/terminal.ts';

export interface Ui {
  caps: TermCaps;
  sym: Symbols;
}

export const UiContext = createContext<Ui>({ caps: detectTerm(), sym: symbols(detectTerm()) });
export const useUi = (): Ui => useContext(UiContext);

/** The window size, with the 80x24 default of a terminal that does not say. */
export function useSize(): { rows: number; columns: number } {
  const { stdout } = useStdout();
  // Wider than 100 columns, lines get long to read: the frame stays at 100.
  const read = (): { rows: number; columns: number } => ({ rows: stdout.rows || 24, columns: Math.min(stdout.columns || 80, 100) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const on = (): void => setSize(read());
    stdout.on('resize', on);
    return () => {
      stdout.off('resize', on);
    };
  }, [stdout]);
  return size;
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
      <Box marginTop={1}>
        <Text dimColor>{fit(hints.replaceAll(' · ', ` ${sym.dot} `), columns - 1)}</Text>
      </Box>
    </Box>
  );
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

/** Shortens a line to the window width, so no frame wraps and garbles. */
export function fit(line: string, columns: number): string {
  // '...' rather than '…': fit() does not know the locale, and ASCII works everywhere.
  return line.length <= columns ? line : `${line.slice(0, Math.max(0, columns - 3))}...`;
}

/**
 * Long text, one page at a time: ↑/↓ scroll a line, PgUp/PgDn/space a page, Home/End.
 * `height` is the number of lines it may use.
 */
/** Hard-wraps long lines; continuation lines are indented so they read as one. */
export function wrapLines(lines: string[], width: number): string[] {
  const out: string[] = [];
  for (const line of lines) {
    if (line.length <= width) {
      out.push(line);
      continue;
    }
    const indent = '      ';
    out.push(line.slice(0, width));
    for (let i = width; i < line.length; i += width - indent.length) out.push(indent + line.slice(i, i + width - indent.length));
  }
  return out;
}

export function Pager({ lines, height, active = true }: { lines: string[]; height: number; active?: boolean }): React.JSX.Element {
  const { columns } = useSize();
  const { sym } = useUi();
  const [top, setTop] = useState(0);
  const page = Math.max(1, height - 1);
  // Wrap, never cut: the preview must show every command exactly.
  lines = wrapLines(lines, Math.max(20, columns - 2));
  const maxTop = Math.max(0, lines.length - page);
  useInput(
    (input, key) => {
      if (key.upArrow || input === 'k') setTop((t) => Math.max(0, t - 1));
      else if (key.downArrow || input === 'j') setTop((t) => Math.min(maxTop, t + 1));
      else if (key.pageDown || input === ' ') setTop((t) => Math.min(maxTop, t + page));
      else if (key.pageUp || input === 'b') setTop((t) => Math.max(0, t - page));
      else if (input === 'g') setTop(0);
      else if (input === 'G') setTop(maxTop);
    },
    { isActive: active },
  );
  const shown = lines.slice(top, top + page);
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        <Text key={top + i}>{fit(l, columns - 2)}</Text>
      ))}
      <Text dimColor>
        lines {lines.length === 0 ? 0 : top + 1}-{Math.min(lines.length, top + page)} of {lines.length}
        {lines.length > page ? `  (${sym.pointer === '>' ? 'up/down' : '↑↓'} PgUp PgDn space: scroll)` : ''}
      </Text>
    </Box>
  );
}

/** ink-select-input's pointer, in the terminal's symbols (its default is always Unicode). */
export function Indicator({ isSelected }: { isSelected?: boolean }): React.JSX.Element {
  const { sym, caps } = useUi();
  return <Box marginRight={1}><Text color={caps.color ? 'cyan' : undefined}>{isSelected ? sym.pointer : ' '}</Text></Box>;
}
