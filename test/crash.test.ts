// A bug's report: a few readable lines and the path of the file that holds the whole trace,
// however long or odd the error and its stack frames; the built bundle's frames name src/
// files and lines (its source maps), also for a bug inside a step, which is rolled back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { internalErrorReport } from '../src/host/crash.ts';
import { BIN, answersFile, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { run } from '../src/host/run.ts';

// Frames in the package, as Node prints them through the source maps; one absurdly long.
const IN_PACKAGE = path.resolve('src/engine.ts');
const LONG_PATH = `/usr/lib/node_modules/${'x'.repeat(300_000)}/chunk.mjs`;

/** An error with frames in the package and a long one, and a message over several lines. */
function bundleError(): Error {
  const e = new TypeError('Cannot read properties of undefined (reading \'join\')\nsecond line\u001b[2J');
  e.stack = [`TypeError: ${e.message}`, ...Array.from({ length: 12 }, (_, i) => `    at f${i} (${i === 1 ? LONG_PATH : IN_PACKAGE}:${400 + i}:${i * 17})`)].join('\n');
  return e;
}

/** The 1-based line of src/`file` that holds `text` (once). */
function lineOf(file: string, text: string): number {
  const lines = readFileSync(path.join('src', file), 'utf8').split('\n');
  const at = lines.flatMap((l, i) => (l.includes(text) ? [i + 1] : []));
  expect(at, `${text} in src/${file}`).toHaveLength(1);
  return at[0]!;
}

describe('internal errors are reported in a few lines, with the trace in a file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jw-crash-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** The one trace file a report names, checked to lie in `where` and be root's alone. */
  function traceFile(report: string, where: string): string {
    const m = / the whole trace is in (\S+)$/m.exec(report);
    expect(m, report).not.toBeNull();
    const file = m![1]!;
    expect(path.dirname(file)).toBe(where);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    return file;
  }

  it('a long error: at most five short lines, paths within the package, one line for a message with newlines', () => {
    const report = internalErrorReport(bundleError(), dir);
    const lines = report.split('\n');
    expect(lines.length, report).toBeLessThanOrEqual(5);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(240);
    expect(report).not.toContain('\u001b');
    expect(lines[0]).toContain("internal error (a bug; please report it): TypeError: Cannot read properties of undefined (reading 'join')");
    expect(lines[1]).toBe('    at f0 (src/engine.ts:400:0)');
    expect(lines[2]).toMatch(/^ {4}at f1 \(\/usr\/lib\/node_modules\/x+…$/);
    const saved = readFileSync(traceFile(report, dir), 'utf8');
    // The whole trace, every frame with its line and column.
    for (let i = 0; i < 12; i++) if (i !== 1) expect(saved).toContain(`at f${i} (src/engine.ts:${400 + i}:${i * 17})`);
    expect(saved).toContain('second line');
  });

  it('whatever is thrown: a string, null, an object whose stack getter throws', () => {
    const hostile = Object.create(Error.prototype, {
      stack: {
        get() {
          throw new Error('no stack for you');
        },
      },
    });
    for (const thrown of ['just a string', null, undefined, 42, hostile, { message: 'x'.repeat(100_000) }]) {
      const report = internalErrorReport(thrown, dir);
      expect(report.split('\n').length, report).toBeLessThanOrEqual(5);
      expect(report.length, report).toBeLessThan(1_200);
      traceFile(report, dir);
    }
  });

  it('says so when the trace cannot be saved, and still prints its few lines', () => {
    const report = internalErrorReport(bundleError(), path.join(dir, 'missing-dir'));
    expect(report.split('\n').length).toBeLessThanOrEqual(5);
    expect(report).toContain('could not be saved');
  });

  it('the real bundle, made to fail inside itself: a few lines and the trace file, exit 1', async () => {
    const tmp = mkdtempSync(path.join(dir, 'tmp-'));
    // A bug stand-in: process.getuid throws, so the bundle's own root check fails with a TypeError.
    const preload = path.join(dir, 'broken-getuid.mjs');
    writeFileSync(preload, 'process.getuid = () => { throw new TypeError("getuid broke (test)"); };\n');
    const r = await run([process.execPath, '--import', preload, BIN, 'check', '--all', '--state-dir', path.join(dir, 'state')], { env: { TMPDIR: tmp }, timeoutMs: 60_000 });
    expect(r.exitCode, r.stderr).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length, r.stderr).toBeLessThanOrEqual(5);
    expect(lines[0]).toBe('jailwizard: internal error (a bug; please report it): TypeError: getuid broke (test)');
    // The source maps lead to the line in src/ that called it.
    expect(lines).toContain(`    at requireRoot (src/commands/cli.ts:${lineOf('commands/cli.ts', 'process.getuid?.()')}:15)`);
    const saved = readFileSync(traceFile(r.stderr, tmp), 'utf8');
    expect(saved).toContain('getuid broke (test)');
    expect(saved).toMatch(/at main \(src\/commands\/cli\.ts:\d+:\d+\)/);
    expect(readdirSync(tmp)).toHaveLength(1);
  });
});

describe.skipIf(rootOrSkipReason())('a bug inside a step of the built bundle', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it('is rolled back, and its report names the src/ file and line, and the trace file', async () => {
    const before = await snapshot(env);
    const tmp = mkdtempSync(path.join(env.work, 'tmp-'));
    const user = uniqueUser('bug');
    const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'] }), '--yes', '--no-test'], { env: { JAILWIZARD_BUG_AT: '2', TMPDIR: tmp } });
    expect(r.exitCode, out(r)).toBe(1);
    expect(r.stderr).toContain('a bug (please report it): TypeError: forced bug at step 2 (JAILWIZARD_BUG_AT)');
    // The first frame is the throw itself, in the source: not a chunk of dist/.
    const throwLine = lineOf('engine/executor.ts', 'throw new TypeError(`forced bug at step');
    expect(r.stderr).toMatch(new RegExp(`\\(JAILWIZARD_BUG_AT\\), at \\S+ \\(src/engine/executor\\.ts:${throwLine}:\\d+\\); the whole trace is in `));
    expect(r.stderr).not.toContain('dist/');
    expect(r.stderr).toContain('Rollback complete');
    // One trace file, however often the failure is told.
    expect(readdirSync(tmp)).toHaveLength(1);
    expect(r.stderr).toContain(`the whole trace is in ${path.join(tmp, readdirSync(tmp)[0]!)}`);
    expect(readFileSync(path.join(tmp, readdirSync(tmp)[0]!), 'utf8')).toContain(`src/engine/executor.ts:${throwLine}:`);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
  });
});
