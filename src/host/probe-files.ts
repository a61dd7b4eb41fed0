// What the connection test leaves on the host while it runs, and how a rollback takes it
// away: the clients (ssh, sftp, scp, rsync) log in as the jailed user and create files
// named after the test's tag in the jail. Journaled before the first client starts, so a
// kill -9 at any moment is undone by `jailwizard rollback`: leftover clients (and the ssh
// control master they share, its socket in the scratch dir) are stopped,
// the user's sessions in the jail are let end, and the tagged files go.
import path from 'node:path';
import { run } from './run.ts';
import { listAt, lstatAt, unlinkAt, withDir } from './safe-fs.ts';
import type { Action, Effect } from '../model/effects.ts';
import { pidsChrootedIn, pidsNaming } from './proc.ts';

type ProbeFiles = Extract<Effect, { kind: 'probe-files' }>;

/** How long a rollback waits for leftover clients and sessions to end before it goes on. */
const WAIT_MS = 15_000;

/** The journal entry for a connection test: the dirs its probes may write to, with its undo. */
export function probeFilesAction(e: Omit<ProbeFiles, 'kind'>): Action {
  const effect: ProbeFiles = { kind: 'probe-files', ...e };
  return { effect, undo: [{ ...effect, kind: 'remove-probe-files' }], pre: { kind: 'none' } };
}

async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + WAIT_MS; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Stops the clients that still run (after a kill -9 they are orphans that would go on
 * uploading) and then waits for the user's sessions in the jail to end, then removes the
 * tagged files. Only names that start with the tag, never a dir, never through a link.
 */
export async function removeProbeFiles(e: Omit<ProbeFiles, 'kind'>): Promise<void> {
  const leftover = pidsNaming(e.clients);
  for (const pid of leftover) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  if (leftover.length > 0) {
    await until(() => pidsNaming(e.clients).length === 0);
    // Their sessions end once sshd sees the connection close. Only then: an admin's own
    // session of this user (not ours to wait for) does not hold up a normal test.
    if (e.uid !== undefined) await until(() => pidsChrootedIn(e.jail, e.uid!).length === 0);
  }
  const trees: { path: string; uid: number; gid: number }[] = [];
  for (const dir of e.dirs) {
    try {
      // Through the dir's fd (safe-fs): a dir the user swapped for a link is not followed.
      withDir(dir, (d) => {
        for (const n of listAt(d)) {
          const name = n.toString('utf8');
          if (!name.startsWith(e.prefix) && !name.startsWith(`.${e.prefix}`)) continue;
          try {
            const st = lstatAt(d, n);
            if (st?.isDirectory() === false) unlinkAt(d, n);
            else if (st && e.uid !== undefined && st.uid === e.uid && st.uid !== 0) trees.push({ path: path.join(dir, name), uid: st.uid, gid: st.gid });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // gone meanwhile is what we want
          }
        }
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Gone, not a dir, or behind a link jailwizard does not follow: nothing of ours to take.
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EUNSAFE') throw err;
    }
  }
  // A tree a probe made as the user (git's repository) goes as the user too: root never walks
  // into a tree the user can change, and as the user rm can only take what the user could.
  for (const t of trees) await run(['setpriv', '--reuid', String(t.uid), '--regid', String(t.gid), '--clear-groups', '--', 'rm', '-rf', '--', t.path]);
}
