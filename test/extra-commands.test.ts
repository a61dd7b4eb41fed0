// Which host files an extra command may be (#12 item 6): only ELF executables, never host
// keys, password hashes, /proc, /sys or jailwizard's state, however the path gets there.
// Reads the real host only (no changes), so no lock is needed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveExtra } from '../src/host/extra-commands.ts';

describe('resolveExtra', () => {
  let dir: string;
  let state: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jw-extra-'));
    state = path.join(dir, 'state');
    writeFileSync(path.join(dir, 'placeholder'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const refused = (asked: string) => resolveExtra(asked, state);

  it('refuses host keys, shadow files, /proc and /sys, whatever they are', () => {
    for (const p of ['/etc/shadow', '/etc/gshadow', '/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/sshd_config', '/proc/self/exe', '/proc/1/exe', '/sys/kernel/notes']) {
      if (!existsSync(p) && !p.startsWith('/proc/')) continue;
      const x = refused(p);
      expect(x.forbidden, p).toBeDefined();
      expect(x.elf, p).toBe(false);
    }
    expect(refused('/etc/shadow').forbidden).toBe('is /etc/shadow (the password hashes)');
    expect(refused('/etc/ssh/ssh_host_ed25519_key').forbidden).toBe("is under /etc/ssh (sshd's host keys and config)");
    expect(refused('/proc/self/exe').forbidden).toBe("is under /proc (the kernel's view of processes)");
  });

  it('follows every symlink hop: a link to /proc/self/exe (an ELF in the end) is refused', () => {
    const link = path.join(dir, 'node-link');
    symlinkSync('/proc/self/exe', link);
    const x = refused(link);
    expect(x.forbidden).toBe("leads to /proc/self/exe, which is under /proc (the kernel's view of processes)");
    const shadowLink = path.join(dir, 'shadow-link');
    symlinkSync('/etc/shadow', shadowLink);
    expect(refused(shadowLink).forbidden).toMatch(/leads to \/etc\/shadow/);
  });

  it("refuses a program inside jailwizard's state dir", () => {
    const inState = path.join(state, 'jails', 'true');
    rmSync(path.dirname(inState), { recursive: true, force: true });
    mkdirSync(path.dirname(inState), { recursive: true });
    copyFileSync('/bin/true', inState);
    chmodSync(inState, 0o755);
    expect(refused(inState).forbidden).toBe(`is under ${state} (jailwizard's state)`);
    // Through a link from elsewhere, too.
    const link = path.join(dir, 'true-link');
    symlinkSync(inState, link);
    expect(refused(link).forbidden).toMatch(/leads to .*jailwizard's state/);
  });

  it('accepts ELF executables only: not scripts, libraries, data or files without an execute bit', () => {
    const git = resolveExtra('git', state);
    expect(git).toMatchObject({ path: '/usr/bin/git', elf: true, setid: false });
    expect(git.forbidden).toBeUndefined();

    const script = path.join(dir, 'script.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o755);
    expect(refused(script)).toMatchObject({ elf: false });
    expect(refused(script).notExecutable).toBeUndefined();

    const noX = path.join(dir, 'true-0644');
    copyFileSync('/bin/true', noX);
    chmodSync(noX, 0o644);
    expect(refused(noX)).toMatchObject({ elf: false, notExecutable: true });

    // A shared library with a soname and no interpreter is no program.
    const lib = ['/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/aarch64-linux-gnu/libz.so.1'].find((p) => existsSync(p));
    expect(lib, 'no libz.so.1 on this host').toBeDefined();
    expect(refused(lib!).elf).toBe(false);

    // A directory or a device is not a program either (and a FIFO is never opened).
    expect(refused('/usr/bin')).toMatchObject({ elf: false, notExecutable: true });
    expect(refused('/dev/null')).toMatchObject({ elf: false, notExecutable: true });
  });

  it('a name not on the host has no path', () => {
    expect(resolveExtra('no-such-command-jw', state)).toEqual({ asked: 'no-such-command-jw', setid: false, elf: false });
  });
});
