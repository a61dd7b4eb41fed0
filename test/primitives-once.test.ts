// Each host primitive is written once, in its module in src/host; everything else calls it.
// A second copy anywhere in the product code (src/, screens/, recipes/) fails here, naming
// the file and line and the module to call instead.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Every product source file, relative to the repository root. */
function productFiles(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const p = path.posix.join(rel, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|tsx|mts|js|mjs)$/.test(e.name)) out.push(p);
    }
  };
  for (const top of ['src', 'screens', 'recipes']) walk(top);
  return out.sort();
}

/** What each primitive looks like when written out, and the one file allowed to write it. */
export const PRIMITIVES: { name: string; home: string; pattern: RegExp }[] = [
  { name: 'sha256', home: 'src/host/hash.ts', pattern: /createHash\s*\(/ },
  { name: 'octal mode formatting', home: 'src/model/mode.ts', pattern: /\.toString\(\s*8\s*\)/ },
  { name: 'mountinfo reading', home: 'src/host/mountinfo.ts', pattern: /mountinfo['"`]/ },
  { name: 'mountinfo octal escapes', home: 'src/host/mountinfo.ts', pattern: /\\\\\(?\[0-7\]\{3\}/ },
  { name: '"is systemd running"', home: 'src/host/systemd.ts', pattern: /run\/systemd\/system['"`]/ },
  { name: "sshd's default pidfile", home: 'src/host/pidfile.ts', pattern: /sshd\.pid['"`]/ },
  { name: 'LOCKED_WITHOUT_PASSWORD', home: 'src/host/accounts.ts', pattern: /\b(const|let|var)\s+LOCKED_WITHOUT_PASSWORD\b/ },
  // Reading the account files by path (extra-commands lists /etc/shadow as a tree it refuses to
  // copy, and a probe names it as the path a jailed user must not read: neither is a reader).
  { name: 'passwd/group/shadow reading', home: 'src/host/accounts.ts', pattern: /(?<!tree: |path: )['"`]\/etc\/(shadow|passwd|group)['"`]/ },
  // Taking an account line apart by position (name:x:uid:gid:…), by index or by destructuring.
  { name: 'passwd/group/shadow parsing', home: 'src/host/accounts.ts', pattern: /\.split\(\s*':'\s*\)\s*\[\s*[2-6]\s*\]|[lL]ine\??\.split\(\s*':'\s*\)\s*\[\s*1\s*\]|\bl\.startsWith\(`\$\{\w+\}:`\)|\[\s*name\s*(=\s*''\s*)?,\s*,/ },
  { name: 'address matching', home: 'src/host/address.ts', pattern: /\bBlockList\b|<<\s*8n|<<\s*16n/ },
];

/** Where `pattern` occurs, as `file:line: text`, outside comments' leading markers. */
function occurrences(files: string[], pattern: RegExp): string[] {
  const hits: string[] = [];
  for (const f of files) {
    readFileSync(path.join(ROOT, f), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) hits.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

describe('host primitives are written once', () => {
  const files = productFiles();

  it('finds the product code (a walk that finds nothing would prove nothing)', () => {
    expect(files.length).toBeGreaterThan(50);
    for (const p of PRIMITIVES) expect(files, p.home).toContain(p.home);
  });

  for (const p of PRIMITIVES) {
    it(`${p.name}: only in ${p.home}`, () => {
      const all = occurrences(files, p.pattern);
      // The home itself must hold it, or the pattern has drifted from the code it guards.
      expect(all.filter((h) => h.startsWith(`${p.home}:`)), `${p.pattern} no longer matches ${p.home}`).not.toEqual([]);
      expect(all.filter((h) => !h.startsWith(`${p.home}:`)), `call ${p.home} instead`).toEqual([]);
    });
  }

  it('each pattern catches the copies it replaced', () => {
    const copies: Record<string, string> = {
      sha256: "const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');",
      'octal mode formatting': "const oct = (m: number): string => (m & 0o7777).toString(8).padStart(4, '0');",
      'mountinfo reading': "readFileSync('/proc/self/mountinfo', 'utf8')",
      'mountinfo octal escapes': "s.replace(/\\\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))",
      '"is systemd running"': "if (existsSync('/run/systemd/system')) {",
      "sshd's default pidfile": "const pidFile = eff.get('pidfile')?.[0] ?? '/run/sshd.pid';",
      LOCKED_WITHOUT_PASSWORD: "const LOCKED_WITHOUT_PASSWORD = new Set(['!', '!!', '!*', '']);",
      'passwd/group/shadow reading': "const line = readFileSync('/etc/shadow', 'utf8')",
      'passwd/group/shadow parsing': "shadowField: shadowLine?.split(':')[1],",
      'passwd/group/shadow parsing (getent)': "const g = (await run(['getent', 'group', group])).stdout.split(':')[2];",
      'address matching': "if (isIPv4(s)) return { value: s.split('.').reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n), width: 32 };",
    };
    for (const [name, copy] of Object.entries(copies)) {
      const p = PRIMITIVES.find((x) => name.startsWith(x.name));
      expect(p, name).toBeDefined();
      expect(p!.pattern.test(copy), `${name}: ${copy}`).toBe(true);
    }
    for (const p of PRIMITIVES) expect(Object.keys(copies).some((n) => n.startsWith(p.name)), p.name).toBe(true);
  });
});
