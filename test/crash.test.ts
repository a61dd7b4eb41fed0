// A bug's report: a few readable lines and the path of the file that holds the whole trace,
// however long or odd the error and its stack frames (the bundle's are data: URLs of a
// megabyte each).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { internalErrorReport } from '../src/crash.ts';
import { BIN } from './helpers/jw.ts';
import { run } from '../src/run.ts';

const BUNDLE_URL = `data:text/javascript;base64,${'QUJD'.repeat(300_000)}`;

/** An error whose stack looks like the bundle's: long frames, a message over several lines. */
function bundleError(): Error {
  const e = new TypeError('Cannot read properties of undefined (reading \'join\')\nsecond line\u001b[2J');
  e.stack = [`TypeError: ${e.message}`, ...Array.from({ length: 12 }, (_, i) => `    at f${i} (${BUNDLE_URL}:${400 + i}:${i * 17})`)].join('\n');
  return e;
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

  it('a bundle-like error: at most five short lines, no base64, one line for a message with newlines', () => {
    const report = internalErrorReport(bundleError(), dir);
    const lines = report.split('\n');
    expect(lines.length, report).toBeLessThanOrEqual(5);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(240);
    expect(report).not.toContain('base64');
    expect(report).not.toContain('\u001b');
    expect(lines[0]).toContain("internal error (a bug; please report it): TypeError: Cannot read properties of undefined (reading 'join')");
    expect(lines[1]).toBe('    at f0 (<bundle>:400:0)');
    const saved = readFileSync(traceFile(report, dir), 'utf8');
    // The whole trace, every frame with its line and column; the bundle's text is left out.
    for (let i = 0; i < 12; i++) expect(saved).toContain(`at f${i} (<bundle>:${400 + i}:${i * 17})`);
    expect(saved).toContain('second line');
    expect(saved.length).toBeLessThan(10_000);
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
    expect(r.stderr).not.toContain('base64');
    expect(r.stderr).toMatch(/at \S+ \(<bundle>:\d+:\d+\)/);
    const saved = readFileSync(traceFile(r.stderr, tmp), 'utf8');
    expect(saved).toContain('getuid broke (test)');
    expect(readdirSync(tmp)).toHaveLength(1);
  });
});
