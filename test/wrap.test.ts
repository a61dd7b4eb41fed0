// Text that fits the terminal: prose at word boundaries, commands with a shell
// continuation that a real sh runs as the same command, long words broken with a marker.
import { describe, expect, it } from 'vitest';
import { shJoin } from '../src/model/effects.ts';
import { ASCII_WRAP, UNICODE_WRAP, shorten, wrapCommand, wrapExact, wrapProse } from '../src/wizard/wrap.ts';
import { run } from '../src/host/run.ts';

const widths = (lines: string[]): number[] => lines.map((l) => [...l].length);

describe('wrapProse', () => {
  it('breaks at blanks only, with the indents asked for, never wider than the columns', () => {
    const text = 'sshd: running (pid 1234); reload with: systemctl reload ssh.service because the stock config is used here';
    for (const columns of [80, 60, 40, 25]) {
      const lines = wrapProse(text, columns, UNICODE_WRAP, 0, 2);
      expect(Math.max(...widths(lines))).toBeLessThanOrEqual(columns);
      // Every word of the text is whole on some line, in order.
      expect(lines.map((l) => l.trim()).join(' ')).toBe(text);
      expect(lines.slice(1).every((l) => l.startsWith('  '))).toBe(true);
    }
  });

  it('keeps aligned blanks inside a line, and breaks a word wider than the window with a visible marker', () => {
    expect(wrapProse('/srv      root 0755', 40, UNICODE_WRAP)).toEqual(['/srv      root 0755']);
    const key = `key SHA256:${'x'.repeat(70)} end`;
    const lines = wrapProse(key, 30, UNICODE_WRAP);
    expect(Math.max(...widths(lines))).toBeLessThanOrEqual(30);
    expect(lines.filter((l) => l.endsWith('↵')).length).toBeGreaterThanOrEqual(2);
    expect(lines.join('').replace(/↵/g, '').replace(/ /g, '')).toBe(key.replace(/ /g, ''));
    expect(wrapProse(key, 30, ASCII_WRAP).some((l) => l.endsWith('+'))).toBe(true);
  });
});

describe('wrapCommand', () => {
  /** What a real sh makes of the wrapped lines: each argument on its own line. */
  async function shArgs(lines: string[]): Promise<string[]> {
    const r = await run(['sh', '-c', lines.join('\n')]);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout.replace(/\n$/, '').split('\n');
  }

  it('continues with ` \\` between whole words; sh runs the copied lines as the same command', async () => {
    const args = ['--chmod=D0755,F0644', "it's quoted", '/usr/lib/x86_64-linux-gnu/libacl.so.1', 'a b  c', ...Array.from({ length: 6 }, (_, i) => `/srv/jails/alice/usr/lib/lib${i}.so`)];
    const command = shJoin(['printf', '%s\\n', ...args]);
    for (const columns of [80, 60, 40]) {
      const lines = wrapCommand(command, columns, UNICODE_WRAP, 4);
      expect(Math.max(...widths(lines))).toBeLessThanOrEqual(columns);
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.slice(0, -1).every((l) => l.endsWith(' \\'))).toBe(true);
      expect(await shArgs(lines)).toEqual(args);
    }
  });

  it('a word that fits the window but not after the indent moves left instead of breaking', async () => {
    const long = `/usr/lib/x86_64-linux-gnu/${'n'.repeat(25)}.so.6`; // 56 columns, 58 with the continuation: fits 60 only unindented
    const lines = wrapCommand(shJoin(['printf', '%s\\n', long, 'x']), 60, UNICODE_WRAP, 4);
    expect(lines.some((l) => l.includes(long))).toBe(true);
    expect(Math.max(...widths(lines))).toBeLessThanOrEqual(60);
    expect(await shArgs(lines)).toEqual([long, 'x']);
  });

  it('a trailing comment goes on lines of its own that start with #, so nothing of it runs', async () => {
    const command = `${shJoin(['printf', '%s\\n', 'user=alice,host=localhost,addr=127.0.0.1'])}  # expect: chrootdirectory /srv/jails/alice, forcecommand internal-sftp, disableforwarding yes`;
    const lines = wrapCommand(command, 50, UNICODE_WRAP, 4);
    expect(Math.max(...widths(lines))).toBeLessThanOrEqual(50);
    expect(lines.filter((l) => l.trimStart().startsWith('# ')).length).toBeGreaterThanOrEqual(2);
    expect(await shArgs(lines)).toEqual(['user=alice,host=localhost,addr=127.0.0.1']);
  });

  it('a short command is left as it is', () => {
    expect(wrapCommand('rmdir /srv/jails/alice', 80, UNICODE_WRAP, 4)).toEqual(['    rmdir /srv/jails/alice']);
  });
});

describe('wrapExact and shorten', () => {
  it("a file's long line is broken at a blank and marked; a short one is left alone", () => {
    expect(wrapExact('Match User alice', 40, UNICODE_WRAP, 4)).toEqual(['    Match User alice']);
    const lines = wrapExact('input(type="imuxsock" Socket="/srv/jails/alice/dev/log" CreatePath="on")', 40, UNICODE_WRAP, 4);
    expect(Math.max(...widths(lines))).toBeLessThanOrEqual(40);
    expect(lines[0]!.endsWith(' ↵')).toBe(true);
  });

  it('a key wider than the screen (an authorized_keys line) carries one marker per broken line', () => {
    const key = `ssh-rsa ${'A'.repeat(150)} root@vm`;
    const lines = wrapExact(key, 40, UNICODE_WRAP, 4);
    expect(Math.max(...widths(lines))).toBeLessThanOrEqual(40);
    for (const l of lines.slice(0, -1)) expect(l.match(/↵/g), l).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/root@vm$/);
    // Unwrapped, the pieces give the key back.
    expect(lines.map((l) => l.trim().replace(/ ?↵$/, '')).join('')).toBe(key.replaceAll(' ', ''));
  });

  it('shortens a row at a word boundary with the ellipsis', () => {
    expect(shorten('the only addresses allowed to log in', 25, '...')).toBe('the only addresses...');
    expect(shorten('short', 25, '...')).toBe('short');
  });
});
