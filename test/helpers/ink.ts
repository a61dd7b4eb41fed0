// Driving Ink screens through ink-testing-library without races (STYLE.md, "Ink pitfalls"):
// one key per write, then wait until the frame changes, then one more tick so the next key
// meets the handler of the new render (useInput re-subscribes in an effect).
import { EventEmitter } from 'node:events';
import React from 'react';
import { render as inkRender, type Instance } from 'ink';
import { UiContext, type Ui } from '../../screens/ui.tsx';
import { symbols, type TermCaps } from '../../src/wizard/terminal.ts';
import { DEFAULT_TIMING } from '../../src/wizard/key-router.ts';

export const KEYS = {
  enter: '\r',
  escape: '\u001b',
  up: '\u001b[A',
  down: '\u001b[B',
  left: '\u001b[D',
  right: '\u001b[C',
  pageup: '\u001b[5~',
  pagedown: '\u001b[6~',
  space: ' ',
  tab: '\t',
  backspace: '\u007f',
  ctrlc: '\u0003',
} as const;
export type KeyName = keyof typeof KEYS;

/** What the helpers need from ink-testing-library's render() result. */
export interface Rendered {
  stdin: { write(data: string): void };
  lastFrame(): string | undefined;
}

const DEFAULT_TIMEOUT = 3000;

/** Lets React commit and effects (useInput's re-subscription) run. */
export async function tick(): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
  await new Promise<void>((r) => setTimeout(r, 0));
}

/** The frame without ANSI escapes (Ink colours even when caps.color is false for fixed colours). */
export function plain(frame: string | undefined): string {
  // eslint-disable-next-line no-control-regex
  return (frame ?? '').replace(/\u001b\[[0-9;]*m/g, '');
}

/** The current frame of a render, plain. */
export function frameOf(r: Pick<Rendered, 'lastFrame'>): string {
  return plain(r.lastFrame());
}

async function poll(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what()} within ${timeoutMs} ms`);
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}

/**
 * Waits until the frame matches (a substring, a RegExp or a predicate on the plain frame).
 * On timeout it fails with the last frame in the message.
 */
export async function waitForFrame(
  lastFrame: () => string | undefined,
  match: string | RegExp | ((frame: string) => boolean),
  timeoutMs = DEFAULT_TIMEOUT,
): Promise<string> {
  const test = typeof match === 'string' ? (f: string) => f.includes(match) : match instanceof RegExp ? (f: string) => match.test(f) : match;
  await poll(
    () => test(plain(lastFrame())),
    timeoutMs,
    () => `frame did not match ${typeof match === 'function' ? 'the predicate' : JSON.stringify(String(match))}; last frame:\n${plain(lastFrame())}\n--`,
  );
  await tick();
  return plain(lastFrame());
}

/** Waits for a condition that is not visible in the frame (a callback was called). */
export async function waitFor(cond: () => boolean, r?: Pick<Rendered, 'lastFrame'>, timeoutMs = DEFAULT_TIMEOUT): Promise<void> {
  await poll(cond, timeoutMs, () => `condition not met${r ? `; last frame:\n${frameOf(r)}\n--` : ''}`);
  await tick();
}

export interface PressOptions {
  /**
   * What to wait for after the write. Default: the frame changes. `until`: a condition
   * (for keys whose only effect is a callback). `false`: just let the key be handled.
   */
  until?: (() => boolean) | false;
  timeoutMs?: number;
}

async function send(r: Rendered, data: string, o: PressOptions): Promise<void> {
  // Ink subscribes to stdin in an effect: a key written right after render() would be lost.
  await tick();
  const before = r.lastFrame();
  r.stdin.write(data);
  // A lone Esc is a key only once the input layer has waited for the rest of a sequence.
  if (data.endsWith('\u001b')) await new Promise((res) => setTimeout(res, DEFAULT_TIMING.escWaitMs + 20));
  if (o.until === false) {
    await tick();
    await tick();
    return;
  }
  const until = o.until;
  if (until) await waitFor(until, r, o.timeoutMs);
  else
    await poll(
      () => r.lastFrame() !== before,
      o.timeoutMs ?? DEFAULT_TIMEOUT,
      () => `frame did not change after ${JSON.stringify(data)}; last frame:\n${plain(r.lastFrame())}\n--`,
    );
  await tick();
}

/** Writes ONE key (a name from KEYS, or one literal character) and waits (see PressOptions). */
export async function press(r: Rendered, key: KeyName | string, o: PressOptions = {}): Promise<void> {
  const data = key in KEYS ? KEYS[key as KeyName] : key;
  await send(r, data, o);
}

/** Writes text as one chunk, as a paste arrives, and waits like press(). */
export async function type(r: Rendered, text: string, o: PressOptions = {}): Promise<void> {
  await send(r, text, o);
}

export const UNICODE: TermCaps = { unicode: true, color: false, dumb: false };
export const ASCII: TermCaps = { unicode: false, color: false, dumb: false };

export function uiFor(caps: Partial<TermCaps> = {}): Ui {
  const c = { ...UNICODE, ...caps };
  return { caps: c, sym: symbols(c) };
}

/** Wraps a screen in the UiContext the App provides: Unicode symbols, no colour by default. */
export function withUi(element: React.ReactElement, caps: Partial<TermCaps> = {}): React.ReactElement {
  return React.createElement(UiContext.Provider, { value: uiFor(caps) }, element);
}

/** Characters outside printable ASCII (and newline), for the ASCII-fallback checks. */
export function nonAscii(text: string): string[] {
  return [...new Set([...text].filter((ch) => ch !== '\n' && (ch < ' ' || ch > '~')))];
}

// ink-testing-library's render() always draws 100 columns wide with no row count. The
// wizard must fit 60x20 and 80x24, so renderSized() gives the screen a terminal of that
// size (what useSize() reads), with the same fake stdin.

class SizedStdout extends EventEmitter {
  frames: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write = (frame: string): boolean => {
    this.frames.push(frame);
    return true;
  };
  lastFrame = (): string | undefined => this.frames.at(-1);
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write = (data: string): void => {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  };
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

const sized: Instance[] = [];

export interface SizedRender extends Rendered {
  frames: string[];
  rerender(tree: React.ReactElement): void;
  unmount(): void;
}

export function renderSized(tree: React.ReactElement, size: { columns: number; rows: number }): SizedRender {
  const stdout = new SizedStdout(size.columns, size.rows);
  const stdin = new FakeStdin();
  const instance = inkRender(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: new SizedStdout(size.columns, size.rows) as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  sized.push(instance);
  return { stdin, frames: stdout.frames, lastFrame: stdout.lastFrame, rerender: instance.rerender, unmount: instance.unmount };
}

/** Unmounts what renderSized() drew; call it in afterEach next to ink-testing-library's cleanup(). */
export function cleanupSized(): void {
  for (const i of sized.splice(0)) {
    i.unmount();
    i.cleanup();
  }
}
