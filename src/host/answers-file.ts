// The answers file: what `jailwizard apply --config FILE` reads and the wizard saves, JSON or
// YAML, parsed and then checked by checkShape. Apart from answers.ts so that the commands
// that never read one (update, check, remove, list…) do not load the YAML parser.
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { Document, parse as parseYaml } from 'yaml';
import { UserError, quoteIfOdd } from '../model/errors.ts';
import type { Answers } from '../model/types.ts';
import { ANSWER_KEYS, KNOWN_KEYS, SIZE_HINT, checkShape } from './answers.ts';

/** An answers file is a few hundred bytes; a megabyte is a mistake, refused before parsing it. */
export const MAX_ANSWERS_BYTES = 1024 * 1024;
/** Answers nest three levels deep (binds: [{…}]); a deeper file is not an answers file. */
const MAX_DEPTH = 16;


/** Reads and parses an answers file; a missing, unreadable or oversized file is a UserError too. */
export async function loadAnswers(path: string): Promise<Answers> {
  const where = quoteIfOdd(path);
  let text: string;
  try {
    const fh = await open(path, 'r');
    try {
      // Bounded read: a huge file (or /dev/zero) is refused without reading it all.
      const buf = Buffer.alloc(MAX_ANSWERS_BYTES + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_ANSWERS_BYTES) throw new UserError(`answers file ${where} is larger than ${MAX_ANSWERS_BYTES / 1024 / 1024} MiB`, SIZE_HINT);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read answers file ${where}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(e))}`,
      'pass the path of a .yaml or .json answers file, e.g. --config /root/alice.yaml',
    );
  }
  return parseAnswers(text, path);
}

/** Parses JSON or YAML (chosen by sourceName's extension) into checked, normalised Answers. */
export function parseAnswers(text: string, sourceName: string): Answers {
  const src = quoteIfOdd(sourceName);
  if (Buffer.byteLength(text) > MAX_ANSWERS_BYTES) throw new UserError(`${src} is larger than ${MAX_ANSWERS_BYTES / 1024 / 1024} MiB`, SIZE_HINT);
  return checkShape(parseText(text, sourceName), src);
}

function parseText(text: string, sourceName: string): unknown {
  const ext = extname(sourceName).toLowerCase();
  const src = quoteIfOdd(sourceName);
  if (ext === '.json') return parseJson(text, src);
  if (ext === '.yaml' || ext === '.yml') return parseYamlText(text, src);
  // Unknown extension: JSON is the stricter format, so a text that scans as JSON is JSON.
  return scanJson(text) === undefined ? parseJson(text, src) : parseYamlText(text, src);
}

function parseJson(text: string, src: string): unknown {
  // Scanned first: JSON.parse keeps the last of two equal keys without a word (YAML refuses
  // them), and Node 20's messages often lack a position.
  const problem = scanJson(text);
  if (problem) {
    const { line, col } = lineCol(text, problem.offset);
    if ('duplicate' in problem) {
      throw new UserError(`${src} line ${line}, column ${col}: the key ${quoteIfOdd(JSON.stringify(problem.duplicate))} appears twice in one object`, 'keep one of them: JSON.parse would silently use the last, so jailwizard refuses to guess');
    }
    if ('tooDeep' in problem) throw new UserError(`${src} line ${line}, column ${col}: nested more than ${MAX_DEPTH} levels deep`, 'an answers file is a flat mapping with a few lists; see README.md');
    throw new UserError(
      `${src} line ${line}, column ${col}: JSON syntax error, expected ${problem.expected}`,
      'JSON needs double-quoted keys and strings and no trailing commas; or save the answers as .yaml',
    );
  }
  return JSON.parse(text);
}

function parseYamlText(text: string, src: string): unknown {
  try {
    return parseYaml(text);
  } catch (e) {
    const err = e as Error & { linePos?: { line: number; col: number }[] };
    const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    const where = err.linePos?.[0] ? ` line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new UserError(
      `${src}${where}: YAML syntax error: ${first}`,
      'indent with spaces (not tabs), one "key: value" per line, lists as [a, b] or "- item" lines',
    );
  }
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** Where the first JSON syntax error is, and what was expected there; undefined if none. */
export function jsonSyntaxError(s: string): { offset: number; expected: string } | undefined {
  const p = scanJson(s);
  return p && 'expected' in p ? p : undefined;
}

type JsonProblem = { offset: number; expected: string } | { offset: number; duplicate: string } | { offset: number; tooDeep: true };

/** The first problem of a JSON text: a syntax error, a key twice in one object, or too deep a nesting. */
function scanJson(s: string): JsonProblem | undefined {
  let i = 0;
  let depth = 0;
  const fail = (expected: string): never => {
    throw { offset: i, expected };
  };
  const ws = () => {
    while (' \t\n\r'.includes(s[i] ?? 'x')) i++;
  };
  const str = () => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(s.slice(i));
    if (!m) fail('a complete "string" (closing quote, valid escapes)');
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    if (s[i] === '{') {
      const keys = new Set<string>();
      return seq('}', () => {
        ws();
        if (s[i] !== '"') fail('a "double-quoted" key');
        const at = i;
        str();
        const key = JSON.parse(s.slice(at, i)) as string;
        if (keys.has(key)) throw { offset: at, duplicate: key };
        keys.add(key);
        ws();
        if (s[i] !== ':') fail("':' after the key");
        i++;
        value();
      });
    }
    if (s[i] === '[') return seq(']', value);
    if (s[i] === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i));
    if (!m) fail('a value (string, number, true, false, null, [list] or {object})');
    i += m![0].length;
  };
  // An object or array: open char, items separated by commas, close char.
  const seq = (close: string, item: () => void) => {
    if (++depth > MAX_DEPTH) throw { offset: i, tooDeep: true };
    i++;
    ws();
    if (s[i] === close) {
      depth--;
      return void i++;
    }
    for (;;) {
      item();
      ws();
      if (s[i] === ',') i++;
      else if (s[i] === close) {
        depth--;
        return void i++;
      } else fail(`',' or '${close}'`);
    }
  };
  try {
    value();
    ws();
    if (i < s.length) fail('end of file after the top-level value');
    return undefined;
  } catch (e) {
    return e as JsonProblem;
  }
}

/** A commented YAML answers file that parseAnswers reads back to the same Answers. */
export function answersToYaml(a: Answers): string {
  const plain: Record<string, unknown> = {};
  for (const k of KNOWN_KEYS) if (a[k] !== undefined) plain[k] = a[k];
  const doc = new Document(plain);
  doc.commentBefore = ' jailwizard answers file: apply with `jailwizard apply --config FILE`';
  // A comment above each key says what it means, so the saved file explains itself.
  const map = doc.contents as unknown as { items: { key: { value: keyof Answers; commentBefore?: string } }[] };
  for (const pair of map.items) pair.key.commentBefore = ` ${ANSWER_KEYS[pair.key.value].doc}`;
  // lineWidth 0: never fold long strings such as public keys across lines.
  return doc.toString({ lineWidth: 0 });
}
