// The undo of the connection test's files (#11 item 2), without root: leftover clients (any
// process whose argv names the run's scratch dir) are stopped, and only files named after
// the tag go, never a dir, never through a link.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeFilesAction, removeProbeFiles } from '../src/host/probe-files.ts';
import { previewEffect } from '../src/model/effects.ts';
import { pidsNaming } from '../src/host/proc.ts';
import { probeDirs } from '../src/workflows/verify.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'jw-probefiles-'));
  dirs.push(d);
  return d;
}

describe('the connection test\'s files', () => {
  it('journals the dirs the probes write to, and previews its undo as commands that work by hand', () => {
    const dirsOf = probeDirs({ jail: '/srv/j', writable: '/up', groupDir: '/shared', binds: [{ source: '/srv/web', target: '/web', readOnly: true }], extras: ['tmp'] }, '/home/alice');
    expect(dirsOf).toEqual(['/srv/j', '/srv/j/etc', '/srv/j/bin', '/srv/j/home/alice', '/srv/j/up', '/srv/j/shared', '/srv/j/web', '/srv/j/tmp']);
    const a = probeFilesAction({ dirs: ['/srv/j/home/alice'], prefix: 'jwprobe-1a2b', clients: '/var/lib/jailwizard/journal/scratch/1-ab', jail: '/srv/j', uid: 1001 });
    expect(a.undo).toHaveLength(1);
    expect(previewEffect(a.undo[0]!)).toEqual([
      'pkill -KILL -f /var/lib/jailwizard/journal/scratch/1-ab',
      "find /srv/j/home/alice -maxdepth 1 ! -type d \\( -name 'jwprobe-1a2b*' -o -name '.jwprobe-1a2b*' \\) -delete",
      "setpriv --reuid 1001 --regid 1001 --clear-groups -- find /srv/j/home/alice -mindepth 1 -maxdepth 1 -type d -user 1001 -name 'jwprobe-1a2b*' -exec rm -rf -- {} +",
    ]);
  });

  it('removes the tagged files and rsync\'s temp files, nothing else, never a dir or a link\'s target', async () => {
    const jail = tempDir();
    const home = path.join(jail, 'home');
    mkdirSync(home);
    const outside = path.join(jail, 'outside.txt');
    writeFileSync(outside, 'not a probe\'s');
    for (const n of ['jwprobe-1a2b-scp', '.jwprobe-1a2b-rsync.Xy12Zq', 'jwprobe-ffff-other-run', 'notes.txt']) writeFileSync(path.join(home, n), 'x');
    mkdirSync(path.join(home, 'jwprobe-1a2b-dir'));
    symlinkSync(outside, path.join(home, 'jwprobe-1a2b-link'));
    await removeProbeFiles({ dirs: [home, path.join(jail, 'missing')], prefix: 'jwprobe-1a2b', clients: path.join(jail, 'no-such-scratch'), jail, uid: process.getuid!() });
    expect(readdirSync(home).sort()).toEqual(['jwprobe-1a2b-dir', 'jwprobe-ffff-other-run', 'notes.txt']);
    expect(lstatSync(outside).isFile()).toBe(true);
  });

  it('stops a client the killed run left running before it removes the files', async () => {
    const scratch = tempDir();
    const home = tempDir();
    // A stand-in for an orphaned client: its argv names the scratch dir, and it would go on writing.
    const file = path.join(home, 'jwprobe-1a2b-late');
    const child = spawn(process.execPath, ['-e', 'setInterval(() => require("fs").writeFileSync(process.argv[1], "x"), 20)', file, path.join(scratch, 'id_ed25519')], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve) => {
      const poll = () => (existsSync(file) ? resolve() : setTimeout(poll, 20));
      poll();
    });
    await removeProbeFiles({ dirs: [home], prefix: 'jwprobe-1a2b', clients: scratch, jail: '/nonexistent-jail', uid: 65534 });
    expect(await exited).toBe('SIGKILL');
    expect(pidsNaming(scratch)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
  });

  it('removes a tree a probe made (a git repository) as the user, never following a link in it', async () => {
    const home = tempDir();
    const outside = tempDir();
    const keep = path.join(outside, 'keep.txt');
    writeFileSync(keep, 'root\'s');
    const repo = path.join(home, 'jwprobe-1a2b.git');
    mkdirSync(path.join(repo, 'objects'), { recursive: true });
    writeFileSync(path.join(repo, 'objects', 'x'), 'x');
    symlinkSync(outside, path.join(repo, 'link'));
    const uid = 54321;
    // The dir the probes wrote in is the user's, as in a jail (the user may remove what is in it).
    chmodSync(home, 0o755);
    chownSync(home, uid, uid);
    for (const p of [repo, path.join(repo, 'objects'), path.join(repo, 'objects', 'x')]) chownSync(p, uid, uid);
    lchownSync(path.join(repo, 'link'), uid, uid);
    // A dir of someone else's with the tag is not the user's to remove.
    mkdirSync(path.join(home, 'jwprobe-1a2b-roots'));
    await removeProbeFiles({ dirs: [home], prefix: 'jwprobe-1a2b', clients: path.join(home, 'no-such-scratch'), jail: '/nonexistent-jail', uid });
    expect(readdirSync(home)).toEqual(['jwprobe-1a2b-roots']);
    expect(readFileSync(keep, 'utf8')).toBe('root\'s');
  });
});
