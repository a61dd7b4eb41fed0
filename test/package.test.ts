// Shipping: `npm pack` gives one small executable file; it installs and runs offline from
// a local path; the start-up guard refuses an old Node; --version and --help load nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk } from '../src/run.ts';
import { BIN } from './helpers/jw.ts';

const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/** Imports the bundle in-process with a given argv, reporting what the guard did. */
const inProcess = (args: string[], fakeNode?: string): string => `
${fakeNode ? `Object.defineProperty(process.versions, 'node', { value: '${fakeNode}' }); Object.defineProperty(process, 'version', { value: 'v${fakeNode}' });` : ''}
process.argv = [process.argv[0], 'jailwizard', ...${JSON.stringify(args)}];
const exit = process.exit;
process.exit = (c) => { process.stderr.write('GUARD_EXIT=' + c + '\\n'); exit(c); };
await import(${JSON.stringify(`file://${BIN}`)});
process.stderr.write('PROGRAM_LOADED=' + (globalThis.__jailwizardUrl !== undefined) + '\\n');
`;

describe('the package', () => {
  let dir: string;
  let tarball: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'jw-pack-'));
    const r = await runOk(['npm', 'pack', '--json', '--pack-destination', dir], { timeoutMs: 120_000 });
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(dir, info[0]!.filename);
    expect(info[0]!.files.map((f) => f.path).sort()).toEqual(['LICENSE', 'README.md', 'dist/jailwizard.mjs', 'package.json']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one executable file with a shebang, in a tarball under 1.5 MB, with no dependencies', () => {
    expect(statSync(tarball).size).toBeLessThan(1.5e6);
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies?: object; bin: Record<string, string> };
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.bin).toEqual({ jailwizard: 'dist/jailwizard.mjs' });
  });

  it('installs and runs offline from a local path, and through npx', async () => {
    const prefix = path.join(dir, 'prefix');
    await runOk(['npm', 'install', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { timeoutMs: 120_000 });
    const v = await runOk([path.join(prefix, 'node_modules/.bin/jailwizard'), '--version']);
    expect(v.stdout.trim()).toBe(PKG.version);
    const npx = await run(['npx', '--offline', '--yes', '--package', tarball, 'jailwizard', '--version'], { timeoutMs: 120_000, cwd: dir });
    expect(npx.exitCode, npx.stderr).toBe(0);
    expect(npx.stdout.trim()).toBe(PKG.version);
  });

  it('refuses a Node older than 18.19 with one line and exit 2', async () => {
    const r = await run([process.execPath, '--input-type=module', '-e', inProcess(['--version'], '18.12.1')]);
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('GUARD_EXIT'));
    expect(lines).toEqual([expect.stringMatching(/^jailwizard: Node\.js v18\.12\.1 is too old; 18\.19 or later is needed\. Debian 12 \/ Ubuntu 24\.04: apt-get install nodejs/)]);
    expect(r.stdout).toBe('');
  });

  it('answers --version and --help without loading the program (so neither React nor Ink)', async () => {
    for (const arg of ['--version', '--help']) {
      const r = await run([process.execPath, '--input-type=module', '-e', inProcess([arg])]);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toContain('PROGRAM_LOADED=false');
      expect(r.stdout).toContain(arg === '--version' ? PKG.version : 'Usage:');
    }
    // A real command does load it.
    const list = await run([process.execPath, '--input-type=module', '-e', inProcess(['list', '--state-dir', path.join(dir, 'state')])]);
    expect(list.stderr).toContain('PROGRAM_LOADED=true');
  });
});
