// src/host/safe-fs.ts: root's operations in dirs someone else can change. Private temp dirs
// only (no users, no host files): a dir chowned to nobody (65534) stands for a user's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../src/host/run.ts';
import { Executor } from '../src/engine/executor.ts';
import type { Action, Plan } from '../src/model/effects.ts';
import {
  UnsafePathError,
  appendAt,
  changedNothing,
  listAt,
  lstatAt,
  mkdirAt,
  openAt,
  openDir,
  readFileAt,
  renameAt,
  rootOnly,
  rootOnlyChain,
  safeSetOwnerMode,
  unappendAt,
  withDir,
  withEntry,
  withParent,
  writeFileAt,
} from '../src/host/safe-fs.ts';
import { constants as C } from 'node:fs';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let work: string;
/** A root-only file the operations below must never reach. */
let canary: string;
/** A root-only dir the same. */
let canaryDir: string;

function state(p: string): string {
  const st = lstatSync(p);
  return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? readFileSync(p, 'utf8') : readdirSync(p).join(',')}`;
}

/** A dir that uid `owner` can change (mode 0755 theirs, or 0777/1777 root's). */
function userDir(name: string, owner = NOBODY, mode = 0o755): string {
  const p = path.join(work, name);
  mkdirSync(p);
  chownSync(p, owner, owner);
  chmodSync(p, mode);
  return p;
}

/** doctor --fix's one-step plan for a group-writable .ssh: chmod 0755, undone by chmod 0775. */
function chmodPlan(target: string): Plan {
  const fix: Action = { effect: { kind: 'run', argv: ['chmod', '0755', target] }, undo: [{ kind: 'run', argv: ['chmod', '0775', target] }], pre: { kind: 'none' } };
  return { command: 'apply', user: 'nobody', notes: [], steps: [{ id: 'fix', title: 'Fix the keys dir', why: [], actions: [fix] }] };
}

const EXCHANGE_LOOP = 'import ctypes, sys\nlibc = ctypes.CDLL(None)\na, b = sys.argv[1].encode(), sys.argv[2].encode()\nwhile True:\n    libc.renameat2(-100, a, -100, b, 2)\n';

describe.skipIf(!isRoot)('safe-fs', () => {
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'jw-safefs-'));
    canary = path.join(work, 'canary');
    writeFileSync(canary, 'root only', { mode: 0o600 });
    canaryDir = path.join(work, 'canary-dir');
    mkdirSync(canaryDir, { mode: 0o700 });
  });
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('knows which dirs only root can change', () => {
    expect(rootOnly({ uid: 0, mode: 0o755 })).toBe(true);
    expect(rootOnly({ uid: 0, mode: 0o1777 })).toBe(false);
    expect(rootOnly({ uid: 0, mode: 0o2770 })).toBe(false);
    expect(rootOnly({ uid: NOBODY, mode: 0o700 })).toBe(false);
    expect(rootOnlyChain(work)).toBe(false); // under /tmp, 1777
    expect(rootOnlyChain('/usr/lib')).toBe(true);
  });

  it('follows a link root made in its own dir, and refuses one in a dir a user can change', () => {
    const real = path.join(work, 'real');
    mkdirSync(real, { recursive: true });
    writeFileSync(path.join(real, 'f'), 'x');
    symlinkSync('real', path.join(work, 'rootlink'));
    // work itself is root's, 0700: its links are root's.
    expect(withDir(path.join(work, 'rootlink'), (d) => d.path)).toBe(real);
    const u = userDir('u-follow');
    symlinkSync(canaryDir, path.join(u, 'link'));
    expect(() => openDir(path.join(u, 'link'))).toThrow(UnsafePathError);
    expect(() => openDir(path.join(u, 'link', 'x'))).toThrow(/does not follow it/);
    // The last name of withParent is never followed; withEntry follows it only in a root-only dir.
    expect(withParent(path.join(u, 'link'), (d, n) => lstatAt(d, n)?.isSymbolicLink())).toBe(true);
    expect(() => withEntry(path.join(u, 'link'), () => 1)).toThrow(UnsafePathError);
    expect(withEntry(path.join(work, 'rootlink'), (d, n) => path.join(d.path, n))).toBe(real);
    // A world-writable dir of root's is a user's dir too.
    const w = userDir('w-follow', 0, 0o1777);
    symlinkSync(canaryDir, path.join(w, 'link'));
    expect(() => openDir(path.join(w, 'link'))).toThrow(UnsafePathError);
  });

  it('never changes owner or mode through a link, and never opens a FIFO or a socket', async () => {
    const u = userDir('u-modes');
    symlinkSync(canary, path.join(u, 'authorized_keys'));
    const before = state(canary);
    expect(() => safeSetOwnerMode(path.join(u, 'authorized_keys'), { mode: 0o644 })).toThrow(UnsafePathError);
    expect(() => safeSetOwnerMode(path.join(u, 'authorized_keys'), { uid: 0, gid: 0 })).toThrow(UnsafePathError);
    expect(state(canary)).toBe(before);

    const fifo = path.join(u, 'fifo');
    expect((await run(['mkfifo', fifo])).exitCode).toBe(0);
    expect(() => withParent(fifo, (d, n) => openAt(d, n, C.O_RDONLY, 'file'))).toThrow(/is a FIFO/);
    expect(() => withParent(fifo, (d, n) => readFileAt(d, n, 100))).toThrow(/is a FIFO/);
    expect(() => safeSetOwnerMode(fifo, { mode: 0o600 })).toThrow(/is a FIFO/);
    const sock = path.join(u, 'sock');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(sock, r));
    try {
      expect(() => withParent(sock, (d, n) => openAt(d, n, C.O_RDONLY, 'either'))).toThrow(/is a socket/);
    } finally {
      srv.close();
    }
    // A hard link in the user's dir: it may alias someone else's file.
    const other = path.join(work, 'other-mode');
    writeFileSync(other, 'x', { mode: 0o600 });
    linkSync(other, path.join(u, 'alias'));
    expect(() => safeSetOwnerMode(path.join(u, 'alias'), { mode: 0o644 })).toThrow(/hard links/);
    expect(statSync(other).mode & 0o7777).toBe(0o600);
    // A regular file of the user's: changed through its own fd.
    writeFileSync(path.join(u, 'keys'), 'k\n', { mode: 0o664 });
    safeSetOwnerMode(path.join(u, 'keys'), { mode: 0o644 });
    expect(statSync(path.join(u, 'keys')).mode & 0o7777).toBe(0o644);
  });

  it('makes a dir inside a dir a user can change, and a renameat2 exchange loop never lands it elsewhere', async () => {
    const u = userDir('u-race');
    symlinkSync(canaryDir, path.join(u, 'evil'));
    const before = state(canaryDir);
    const loop: ChildProcess = spawn('/usr/bin/python3', ['-c', EXCHANGE_LOOP, path.join(u, 'new'), path.join(u, 'evil')], { stdio: 'ignore' });
    let made = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 300; i++) {
        try {
          withDir(u, (d) => {
            mkdirAt(d, 'new', 0o750, NOBODY, NOBODY);
            made++;
          });
        } catch (e) {
          if (!(e instanceof UnsafePathError) && !['ELOOP', 'ENOENT', 'EEXIST', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
          refused++;
        }
        // Put things back while the loop still runs: once `new` is gone nothing is exchanged.
        const fresh = path.join(u, 'new');
        const evil = path.join(u, 'evil');
        for (let k = 0; k < 10_000 && lstatSync(fresh, { throwIfNoEntry: false }); k++) {
          try {
            rmdirSync(fresh);
          } catch {
            try {
              unlinkSync(fresh);
            } catch {
              // swapped meanwhile: again
            }
          }
        }
        const ev = lstatSync(evil, { throwIfNoEntry: false });
        if (ev?.isDirectory()) rmdirSync(evil);
        if (!ev || ev.isDirectory()) symlinkSync(canaryDir, evil);
      }
    } finally {
      loop.kill('SIGKILL');
    }
    expect(state(canaryDir)).toBe(before);
    expect(made + refused).toBe(300);
  });

  it('writes whole files only in dirs root alone can change, leaving no temporary file', () => {
    const u = userDir('u-write');
    expect(() => withDir(u, (d) => writeFileAt(d, 'f', 'x', 0o644, 0, 0))).toThrow(/only in dirs root alone can change/);
    expect(readdirSync(u)).toEqual([]);
    const r = path.join(work, 'root-write');
    mkdirSync(r, { mode: 0o755 });
    symlinkSync(canary, path.join(r, 'f'));
    withDir(r, (d) => writeFileAt(d, 'f', 'new content\n', 0o640, 0, 0));
    // The link itself was replaced, not followed.
    expect(lstatSync(path.join(r, 'f')).isFile()).toBe(true);
    expect(readFileSync(path.join(r, 'f'), 'utf8')).toBe('new content\n');
    expect(statSync(path.join(r, 'f')).mode & 0o7777).toBe(0o640);
    expect(readdirSync(r)).toEqual(['f']);
    expect(readFileSync(canary, 'utf8')).toBe('root only');
  });

  it('appends a line to a user-owned file and cuts exactly it off again, reading nothing else', () => {
    const u = userDir('u-append');
    const keys = path.join(u, 'authorized_keys');
    writeFileSync(keys, 'ssh-ed25519 AAAA user@laptop', { mode: 0o600 });
    chownSync(keys, NOBODY, NOBODY);
    const line = '\nfrom="127.0.0.1" ssh-ed25519 BBBB test\n';
    withParent(keys, (d, n) => appendAt(d, n, line, { mode: 0o600, uid: 0, gid: 0 }));
    expect(readFileSync(keys, 'utf8')).toBe(`ssh-ed25519 AAAA user@laptop${line}`);
    expect(withParent(keys, (d, n) => unappendAt(d, n, line, false))).toBe(true);
    expect(readFileSync(keys, 'utf8')).toBe('ssh-ed25519 AAAA user@laptop');
    expect(statSync(keys).uid).toBe(NOBODY);
    // Changed since: left alone.
    writeFileSync(keys, 'something else');
    expect(withParent(keys, (d, n) => unappendAt(d, n, line, false))).toBe(false);
    // Absent: made, and removed again by the undo.
    const fresh = path.join(u, 'fresh');
    withParent(fresh, (d, n) => appendAt(d, n, line, { mode: 0o644, uid: 0, gid: 0 }));
    expect([statSync(fresh).uid, statSync(fresh).mode & 0o7777]).toEqual([0, 0o644]);
    expect(withParent(fresh, (d, n) => unappendAt(d, n, line, true))).toBe(true);
    expect(existsSync(fresh)).toBe(false);
    // A link, a hard link of another file, a file of a third uid: refused.
    symlinkSync(canary, path.join(u, 'link'));
    expect(() => withParent(path.join(u, 'link'), (d, n) => appendAt(d, n, line, { mode: 0o600, uid: 0, gid: 0 }))).toThrow(/is a symlink/);
    const other = path.join(work, 'other-file');
    writeFileSync(other, 'other', { mode: 0o600 });
    linkSync(other, path.join(u, 'hard'));
    expect(() => withParent(path.join(u, 'hard'), (d, n) => appendAt(d, n, line, { mode: 0o600, uid: 0, gid: 0 }))).toThrow(/hard links/);
    writeFileSync(path.join(u, 'third'), '', { mode: 0o600 });
    chownSync(path.join(u, 'third'), 1234, 1234);
    expect(() => withParent(path.join(u, 'third'), (d, n) => appendAt(d, n, line, { mode: 0o600, uid: 0, gid: 0 }))).toThrow(/neither root nor uid/);
    expect(readFileSync(canary, 'utf8')).toBe('root only');
    expect(readFileSync(other, 'utf8')).toBe('other');
  });

  it('lists and renames names that are not UTF-8 or hold a newline', () => {
    const u = userDir('u-names', NOBODY, 0o1777);
    const odd = [Buffer.from('a\nb'), Buffer.from([0x66, 0xff, 0xfe])];
    for (const n of odd) writeFileSync(Buffer.concat([Buffer.from(`${u}/`), n]), 'x');
    const q = path.join(work, 'quarantine');
    mkdirSync(q, { mode: 0o700 });
    withDir(u, (d) =>
      withDir(q, (qd) => {
        const names = listAt(d);
        expect(names.length).toBe(2);
        for (const n of names) renameAt(d, n, qd, n);
      }),
    );
    expect(readdirSync(u)).toEqual([]);
    expect(readdirSync(q, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort()).toEqual(odd.map((b) => b.toString('hex')).sort());
  });
  it('a chmod refused at a planted link fails its step with nothing to undo: the rollback completes', async () => {
    // doctor --fix on a hand-made jail: the user swaps their .ssh for a link to a root dir
    // between the preview and the run. The refusal comes before any change, so the undo
    // (chmod back) must not run into the same link and call the rollback incomplete.
    const u = userDir('u-fix');
    symlinkSync(canaryDir, path.join(u, '.ssh'));
    const stateDir = path.join(work, 'state-fix');
    const ex = Executor.begin(stateDir, 'doctor', 'nobody');
    const target = path.join(u, '.ssh');
    const plan = chmodPlan(target);
    await expect(ex.apply(plan)).rejects.toThrow(/does not follow it/);
    const manual = await ex.rollback('the step failed');
    expect(manual).toEqual([]);
    ex.finish('rolled-back');
    expect(statSync(canaryDir).mode & 0o7777).toBe(0o700);
  });

  it('a chmod of a dir the user removed between the preview and the run fails with nothing to undo', async () => {
    // The same doctor --fix, where the user deleted their .ssh instead: the chmod never
    // happened, so there is no "chmod 0775" for the admin to run by hand.
    const u = userDir('u-gone');
    const stateDir = path.join(work, 'state-gone');
    const ex = Executor.begin(stateDir, 'doctor', 'nobody');
    const target = path.join(u, '.ssh');
    const plan = chmodPlan(target);
    await expect(ex.apply(plan)).rejects.toThrow(/ENOENT/);
    expect(await ex.rollback('the step failed')).toEqual([]);
    ex.finish('rolled-back');
  });

  it('owner and mode under a renameat2 exchange loop: every failure says nothing changed, and the link target is never touched', async () => {
    // The user swaps their .ssh dir with a link to a root dir, over and over. Whether the swap
    // lands between lstat and open (openAt) or inside the walk (openDir), the error must say
    // nothing changed, or the executor would undo a chmod that never happened, through the link.
    const u = userDir('u-swap');
    const ssh = path.join(u, '.ssh');
    mkdirSync(ssh, { mode: 0o775 });
    writeFileSync(path.join(ssh, 'authorized_keys'), 'k\n', { mode: 0o664 });
    chownSync(ssh, NOBODY, NOBODY);
    chownSync(path.join(ssh, 'authorized_keys'), NOBODY, NOBODY);
    symlinkSync(canaryDir, path.join(u, 'evil'));
    const before = state(canaryDir);
    const loop: ChildProcess = spawn('/usr/bin/python3', ['-c', EXCHANGE_LOOP, ssh, path.join(u, 'evil')], { stdio: 'ignore' });
    const codes = new Map<string, number>();
    try {
      for (let i = 0; i < 600; i++) {
        const p = i % 2 === 0 ? ssh : path.join(ssh, 'authorized_keys');
        try {
          safeSetOwnerMode(p, { mode: i % 2 === 0 ? 0o755 : 0o644 });
          codes.set('ok', (codes.get('ok') ?? 0) + 1);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? String(e);
          codes.set(code, (codes.get(code) ?? 0) + 1);
          if (!changedNothing(e)) throw e;
        }
      }
    } finally {
      loop.kill('SIGKILL');
    }
    console.log(`[safe-fs] exchange loop outcomes: ${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    expect([...codes.values()].reduce((a, b) => a + b, 0)).toBe(600);
    expect(state(canaryDir)).toBe(before);
  });
});
