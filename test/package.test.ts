// Shipping: `npm pack` gives a small bin and the program's chunks with their source maps;
// it installs and runs offline from a local path; the bin refuses an old Node; --version and
// --help load nothing; the splash knows every flag that takes a value; a command loads only
// its own chunks; a bug's frames name src/ files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk } from '../src/host/run.ts';
import { OPTIONS } from '../src/commands/flags.ts';
import { BIN } from './helpers/jw.ts';

const DIST = path.dirname(BIN);

const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/** Imports the bin in-process with a given argv (and, to check its refusal, a fake Node version). */
const inProcess = (args: string[], fakeNode?: string): string => `
${fakeNode ? `Object.defineProperty(process.versions, 'node', { value: '${fakeNode}' }); Object.defineProperty(process, 'version', { value: 'v${fakeNode}' });` : ''}
process.argv = [process.argv[0], 'jailwizard', ...${JSON.stringify(args)}];
const exit = process.exit;
process.exit = (c) => { process.stderr.write('GUARD_EXIT=' + c + '\\n'); exit(c); };
await import(${JSON.stringify(`file://${BIN}`)});
`;

/** The chunks a chunk imports statically (`import … from "./x.mjs"`), itself included. */
function staticClosure(start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of readFileSync(path.join(DIST, f), 'utf8').matchAll(/(?:\bfrom|\bimport)\s*"\.\/([^"]+)"/g)) todo.push(m[1]!);
  }
  return seen;
}

/** The source files a chunk was built from, from its map: `src/commands/cli.ts`, `node_modules/ink/…`. */
function sourcesOf(chunk: string): string[] {
  const map = JSON.parse(readFileSync(path.join(DIST, `${chunk}.map`), 'utf8')) as { sources: string[] };
  return map.sources.map((s) => path.relative(path.resolve('.'), path.resolve(DIST, s)));
}

/** The chunk that holds a source file. */
function chunkOf(source: string): string {
  const found = readdirSync(DIST).filter((f) => f.endsWith('.mjs') && f !== 'jailwizard.mjs' && sourcesOf(f).includes(source));
  expect(found, source).toHaveLength(1);
  return found[0]!;
}

describe('the package', () => {
  let dir: string;
  let tarball: string;
  let packed: string[];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'jw-pack-'));
    const r = await runOk(['npm', 'pack', '--json', '--pack-destination', dir], { timeoutMs: 120_000 });
    const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(dir, info[0]!.filename);
    packed = info[0]!.files.map((f) => f.path).sort();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is a bin with a shebang and the chunks with their source maps, in a tarball under 1.5 MB, with no dependencies', () => {
    const built = readdirSync(DIST).map((f) => `dist/${f}`);
    expect(packed).toEqual(['LICENSE', 'README.md', ...built, 'package.json'].sort());
    // Every chunk of the program has its map beside it, and says so.
    const chunks = built.filter((f) => f.endsWith('.mjs') && f !== 'dist/jailwizard.mjs');
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(packed).toContain(`${c}.map`);
      expect(readFileSync(c, 'utf8').trimEnd().endsWith(`//# sourceMappingURL=${path.basename(c)}.map`), c).toBe(true);
    }
    // No module is imported from a data: URL any more (each frame carried a megabyte of it).
    for (const f of built) expect(readFileSync(f, 'utf8'), f).not.toMatch(/import\(\s*["'`]data:/);
    expect(statSync(tarball).size).toBeLessThan(1.5e6);
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(BIN).mode & 0o111).not.toBe(0);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies?: object; bin: Record<string, string> };
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.bin).toEqual({ jailwizard: 'dist/jailwizard.mjs' });
  });

  it('installs and runs offline from a local path, and through npx; a bug there names src/ files', async () => {
    const prefix = path.join(dir, 'prefix');
    await runOk(['npm', 'install', '--offline', '--no-audit', '--no-fund', '--prefix', prefix, tarball], { timeoutMs: 120_000 });
    const installed = path.join(prefix, 'node_modules/.bin/jailwizard');
    const v = await runOk([installed, '--version']);
    expect(v.stdout.trim()).toBe(PKG.version);
    const npx = await run(['npx', '--offline', '--yes', '--package', tarball, 'jailwizard', '--version'], { timeoutMs: 120_000, cwd: dir });
    expect(npx.exitCode, npx.stderr).toBe(0);
    expect(npx.stdout.trim()).toBe(PKG.version);
    // Installed elsewhere, the maps still lead to the sources' paths within the package.
    const preload = path.join(dir, 'broken-getuid.mjs');
    writeFileSync(preload, 'process.getuid = () => { throw new TypeError("getuid broke (test)"); };\n');
    const tmp = mkdtempSync(path.join(dir, 'tmp-'));
    const bug = await run([process.execPath, '--import', preload, installed, 'check', '--all', '--state-dir', path.join(dir, 'state')], { env: { TMPDIR: tmp } });
    expect(bug.exitCode, bug.stderr).toBe(1);
    expect(bug.stderr).toMatch(/^ {4}at requireRoot \(src\/commands\/cli\.ts:\d+:\d+\)$/m);
  });

  it('a command without a bug opens no source map: they are read only to report one', async () => {
    const trace = path.join(dir, 'list.strace');
    const r = await run(['strace', '-f', '-qq', '-e', 'trace=open,openat', '-o', trace, process.execPath, BIN, 'list', '--state-dir', path.join(dir, 'state-list')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const opened = readFileSync(trace, 'utf8');
    // The trace does see the bundle's chunks being opened, so it would see a map too.
    expect(opened).toMatch(/dist\/program\.mjs"/);
    expect(opened.split('\n').filter((l) => l.includes('.mjs.map'))).toEqual([]);
  });

  it('refuses a Node older than 18.19 with one line and exit 2', async () => {
    const r = await run([process.execPath, '--input-type=module', '-e', inProcess(['--version'], '18.12.1')]);
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('GUARD_EXIT'));
    expect(lines).toEqual([expect.stringMatching(/^jailwizard: Node\.js v18\.12\.1 is too old; 18\.19 or later is needed\. Debian 12 \/ Ubuntu 24\.04: apt-get install nodejs/)]);
    expect(r.stdout).toBe('');
  });

  it('answers --version and --help with the bin alone (the program is not loaded)', async () => {
    const alone = path.join(dir, 'bin-alone');
    mkdirSync(alone);
    copyFileSync(BIN, path.join(alone, 'jailwizard.mjs'));
    for (const arg of ['--version', '--help']) {
      const r = await run([process.execPath, path.join(alone, 'jailwizard.mjs'), arg]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain(arg === '--version' ? PKG.version : 'Usage:');
    }
    // A real command does need the program.
    const list = await run([process.execPath, path.join(alone, 'jailwizard.mjs'), 'list', '--state-dir', path.join(dir, 'state')]);
    expect(list.exitCode).toBe(1);
    expect(list.stderr).toContain('program.mjs');
  });

  it('a command loads its own chunks: neither Ink, React, the screens nor execa before they are needed', () => {
    const atStart = [...staticClosure('program.mjs')].flatMap(sourcesOf);
    expect(atStart).toContain('src/commands/cli.ts');
    // The crash reporter (and the source maps it reads) load only when there is a bug to report.
    for (const later of ['node_modules/ink/', 'node_modules/react/', 'screens/', 'node_modules/execa/', 'src/commands/apply.ts', 'src/commands/wizard.ts', 'src/host/crash.ts']) {
      expect(atStart.filter((s) => s.startsWith(later)), later).toEqual([]);
    }
    // The wizard's chunks hold Ink, React and the screens; they load only with the wizard.
    const wizard = [...staticClosure(chunkOf('src/commands/wizard.ts'))].flatMap(sourcesOf);
    expect(wizard.some((s) => s.startsWith('node_modules/ink/'))).toBe(false);
    const tui = [...staticClosure(chunkOf('screens/tui.ts'))].flatMap(sourcesOf);
    for (const needed of ['node_modules/ink/', 'node_modules/react/', 'screens/App.tsx']) expect(tui.some((s) => s.startsWith(needed)), needed).toBe(true);
    // Only the commands that read an answers file load the YAML parser (src/host/answers-file.ts).
    const yamlIn = (source: string) => [...staticClosure(chunkOf(source))].flatMap(sourcesOf).some((s) => s.startsWith('node_modules/yaml/'));
    for (const cmd of ['update', 'check', 'remove', 'list', 'test', 'doctor']) expect(yamlIn(`src/commands/${cmd}.ts`), cmd).toBe(false);
    expect(yamlIn('src/commands/apply.ts')).toBe(true);
    // update with nothing to do reads records and stats files: the planner and the executor load only for a jail that drifted.
    const update = [...staticClosure(chunkOf('src/commands/update.ts'))].flatMap(sourcesOf);
    for (const later of ['src/plan/', 'src/engine/', 'src/host/facts.ts', 'src/host/ld-resolve.ts']) expect(update.filter((s) => s.startsWith(later)), later).toEqual([]);
  });

  it('the splash skips the value of every flag the CLI says takes one (one table), and only those', async () => {
    const fakeTty = 'process.stdin.isTTY = true; process.stdout.isTTY = true; process.env.TERM = "xterm"; process.env.LANG = "C.UTF-8";';
    const valued = Object.entries(OPTIONS).filter(([, o]) => o.type === 'string').map(([name]) => `--${name}`);
    expect(valued).toContain('--config');
    // An unknown flag after it: the program then stops at once with a usage error.
    for (const flag of valued) {
      const r = await run([process.execPath, '--input-type=module', '-e', fakeTty + inProcess([flag, 'some-value', '--no-such-flag'])]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stdout, flag).toContain('Checking this host');
    }
    for (const flag of Object.keys(OPTIONS).filter((n) => !valued.includes(`--${n}`))) {
      const r = await run([process.execPath, '--input-type=module', '-e', fakeTty + inProcess([`--${flag}`, 'some-command', '--no-such-flag'])]);
      expect(r.stdout, flag).not.toContain('Checking this host');
    }
  });
});
