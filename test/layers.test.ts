// The layers import one way: each folder may import only from the folders to its left.
//   src/model <- recipes <- src/host <- src/plan <- src/engine <- src/workflows <- src/commands, src/wizard, screens
// And no file imports itself back through others, not even for a type (no cycles).
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const LAYERS: { layer: number; dirs: string[] }[] = [
  { layer: 0, dirs: ['src/model'] },
  { layer: 1, dirs: ['recipes'] },
  { layer: 2, dirs: ['src/host'] },
  { layer: 3, dirs: ['src/plan'] },
  { layer: 4, dirs: ['src/engine'] },
  { layer: 5, dirs: ['src/workflows'] },
  { layer: 6, dirs: ['src/commands', 'src/wizard', 'screens', 'src/main.ts'] },
];

function layerOf(file: string): number | undefined {
  for (const { layer, dirs } of LAYERS) {
    if (dirs.some((d) => file === d || file.startsWith(`${d}/`))) return layer;
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** Every relative import and re-export of a file, resolved to a path from the root; `types` says whether it carries only types. */
function importsOf(file: string): { to: string; typeOnly: boolean }[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const found: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)(\s+type)?\b([^;]*?)\bfrom\s+['"](\.[^'"]+)['"]/gms)) {
    // `import { type A, type B }` carries only types as well.
    const names = /\{([^}]*)\}/.exec(m[3]!)?.[1]?.split(',').map((n) => n.trim()).filter(Boolean) ?? [];
    const typeOnly = !!m[2] || (names.length > 0 && names.every((n) => n.startsWith('type ')) && !/^\s*\w/.test(m[3]!.split('{')[0]!));
    found.push({ spec: m[4]!, typeOnly });
  }
  for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push({ spec: m[1]!, typeOnly: false });
  return found.map(({ spec, typeOnly }) => ({ to: path.normalize(path.join(path.dirname(file), spec)), typeOnly }));
}

type Graph = Map<string, { to: string; typeOnly: boolean }[]>;

/** Imports that reach a layer to the right of the importer's. */
function upwardImports(graph: Graph): string[] {
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    for (const { to } of targets) if ((layerOf(to) ?? -1) > layerOf(from)!) upward.push(`${from} -> ${to}`);
  }
  return upward;
}

/**
 * Cycles among the imports. Type-only imports vanish from the program, but a loop of them
 * still says two files are one idea split in two, so they count as well.
 */
function importCycles(graph: Graph): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, trail: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      found.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of graph.get(f) ?? []) visit(t.to, [...trail, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  return found;
}

const files = ['src', 'screens', 'recipes'].flatMap(sourceFiles);
const graph: Graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('layers', () => {
  it('puts every source file in a layer', () => {
    expect(files.filter((f) => layerOf(f) === undefined)).toEqual([]);
  });

  it('imports only from the same layer or one to its left', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('has no import cycles, type imports included', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('the checks catch what they are for: an upward import and a cycle', () => {
    const bad: Graph = new Map([
      ['src/host/run.ts', [{ to: 'src/engine/executor.ts', typeOnly: true }]],
      ['src/engine/executor.ts', [{ to: 'src/engine/journal.ts', typeOnly: false }]],
      ['src/engine/journal.ts', [{ to: 'src/engine/executor.ts', typeOnly: false }]],
      ['src/model/a.ts', [{ to: 'src/model/b.ts', typeOnly: true }]],
      ['src/model/b.ts', [{ to: 'src/model/a.ts', typeOnly: true }]],
    ]);
    expect(upwardImports(bad)).toEqual(['src/host/run.ts -> src/engine/executor.ts']);
    expect(importCycles(bad)).toEqual(['src/engine/executor.ts -> src/engine/journal.ts -> src/engine/executor.ts', 'src/model/a.ts -> src/model/b.ts -> src/model/a.ts']);
    // How an import is read: `import type`, `{ type A }` and a value import.
    expect(importsOf('src/engine/journal.ts').some((i) => i.to === 'src/model/journal.ts' && i.typeOnly)).toBe(true);
    expect(importsOf('src/engine/journal.ts').some((i) => i.to === 'src/host/safe-fs.ts' && !i.typeOnly)).toBe(true);
  });
});
