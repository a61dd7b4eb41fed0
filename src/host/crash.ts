// A bug's report: a few readable lines on the terminal, the whole trace in a file. The
// bundle's frames name src/…:line through its source maps (scripts/build.mjs), read here
// when a bug is reported rather than by Node at every start; nothing from a frame reaches
// the terminal unshortened, whatever the frames look like. Loaded only when a bug happens.
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { quoteIfOdd } from '../model/errors.ts';

const MAX_MESSAGE = 200;
const MAX_FRAME = 120;
const FRAMES = 3;

// The package's root: the nearest dir above this file (src/host/crash.ts, or a chunk in
// dist/ once built) that holds package.json.
const ROOT_URL = packageRoot(new URL('.', import.meta.url));
const ROOT = fileURLToPath(ROOT_URL);

function packageRoot(dir: URL): URL {
  for (let d = dir; ; d = new URL('..', d)) {
    if (existsSync(new URL('package.json', d))) return d;
    if (d.pathname === '/') return new URL('..', dir);
  }
}

/** Paths in the package as `src/commands/cli.ts:50:15`, wherever it is installed. */
function withinPackage(s: string): string {
  return s.split(ROOT_URL.href).join('').split(ROOT).join('');
}

const sourceMaps = new Map<string, SourceMap | undefined>();

/** The source map beside a chunk (`X.mjs.map`), read once; undefined when there is none. */
function sourceMapOf(file: string): SourceMap | undefined {
  if (!sourceMaps.has(file)) {
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = undefined;
    }
    sourceMaps.set(file, map);
  }
  return sourceMaps.get(file);
}

/**
 * Every `….mjs:LINE:COLUMN` of the bundle in `text` as the src/ file, line and column it was
 * built from. Node would do this itself with source maps enabled, but it then reads and
 * parses every chunk's map at every start, which costs a command like `update` a tenth of
 * its time for the rare run that has a bug to report.
 */
export function mapFrames(text: string): string {
  return text.replace(/((?:file:\/\/)?\/[^\s():]+\.mjs):(\d+):(\d+)/g, (whole: string, file: string, line: string, column: string) => {
    const p = file.startsWith('file:') ? fileURLToPath(file) : file;
    const entry = sourceMapOf(p)?.findEntry(Number(line) - 1, Number(column) - 1);
    if (!entry || !('originalSource' in entry) || !entry.originalSource) return whole;
    const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(p), entry.originalSource);
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

/** A long or odd piece of text as one short line. */
function short(s: string, max: number): string {
  const one = quoteIfOdd(withinPackage(s));
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** The text to save: the stack (or whatever was thrown), with its causes. */
function fullText(e: unknown): string {
  try {
    return withinPackage(mapFrames(inspect(e, { depth: 6, maxStringLength: 1_000_000, maxArrayLength: 200, breakLength: 120 })));
  } catch {
    return String(e);
  }
}

/** Saves the trace under the temp dir, never over an existing file or link; the path, or why not. */
function save(text: string, dir: string): { file?: string; error?: string } {
  const file = path.join(dir, `jailwizard-crash-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.txt`);
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `jailwizard ${process.argv.slice(2).join(' ')}\nnode ${process.version}\n\n${text}\n`);
    } finally {
      closeSync(fd);
    }
    return { file };
  } catch (e) {
    return { error: (e as NodeJS.ErrnoException).code ?? String(e) };
  }
}

/** What was thrown, as one short line. */
export function shortMessage(e: unknown): string {
  try {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return short(text.split('\n')[0] ?? '', MAX_MESSAGE);
  } catch {
    return 'an unprintable error';
  }
}

/**
 * Errors only a mistake in jailwizard's code throws (a missing property, an undefined
 * function, a bad argument to Node): reported with frames, where a failed command or file
 * operation is one line.
 */
export function isBug(e: unknown): boolean {
  return e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError;
}

// One trace file per error, however many messages mention it.
const reported = new WeakMap<object, Details>();

interface Details {
  /** The stack's frames, each shortened to one line. */
  frames: string[];
  /** Where the whole trace is, or why it could not be saved. */
  saved: string;
}

function details(e: unknown, dir: string): Details {
  const known = e !== null && typeof e === 'object' ? reported.get(e) : undefined;
  if (known) return known;
  let frames: string[] = [];
  try {
    frames = mapFrames(String((e as Error)?.stack ?? ''))
      .split('\n')
      .filter((l) => /^\s+at /.test(l))
      .map((l) => short(l.trim(), MAX_FRAME));
  } catch {
    frames = [];
  }
  const file = save(fullText(e), dir);
  const d = { frames, saved: file.file ? `the whole trace is in ${file.file}` : `(the trace could not be saved in ${dir}: ${file.error})` };
  if (e !== null && typeof e === 'object') reported.set(e, d);
  return d;
}

/** The lines to print for a bug: its message, a few frames, where the whole trace is. */
export function internalErrorReport(e: unknown, dir = tmpdir()): string {
  const d = details(e, dir);
  return [`jailwizard: internal error (a bug; please report it): ${shortMessage(e)}`, ...d.frames.slice(0, FRAMES).map((f) => `    ${f}`), `  ${d.saved}`].join('\n');
}

/**
 * A bug that failed a step (rolled back like any failure), in one line like any step's
 * failure: the message, the first frame in jailwizard's own code, and the trace file.
 */
export function bugReport(e: unknown, dir = tmpdir()): string {
  const d = details(e, dir);
  const where = d.frames.find((f) => !/\((node:|[^)]*node_modules\/)/.test(f)) ?? d.frames[0];
  return `a bug (please report it): ${shortMessage(e)}${where ? `, ${where}` : ''}; ${d.saved}`;
}
