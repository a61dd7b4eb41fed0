// Names for the users and jails that root tests create, so a crashed run can be found
// and cleaned up by prefix, and two runs never collide.
import { randomBytes } from 'node:crypto';
import { mkdirSync, chmodSync, readFileSync, rmSync, statSync } from 'node:fs';
import { run } from '../../src/host/run.ts';

/** Per-run id (per test file: vitest loads this module once per file). */
export const RUN_ID = randomBytes(2).toString('hex');
/** Every test user of this run starts with this: `jwt` + 4 lowercase hex. */
export const TEST_PREFIX = `jwt${RUN_ID}`;

const used = new Set<string>();

/** A valid Linux user name, `jwt<hex4><label>`, at most 32 characters. */
export function uniqueUser(label: string): string {
  const name = `${TEST_PREFIX}${label}`;
  if (!/^[a-z0-9_-]*$/.test(label)) throw new Error(`uniqueUser: label ${JSON.stringify(label)} must be [a-z0-9_-]`);
  if (name.length > 32) throw new Error(`uniqueUser: ${name} is longer than 32 characters`);
  // The same label twice would hand two tests the same account.
  if (used.has(name)) throw new Error(`uniqueUser: label ${label} already used in this run`);
  used.add(name);
  return name;
}

/**
 * `/srv/jwtest-<runid>`, created root-owned 0755 (with /srv) so sshd accepts it as a
 * chroot parent. Never under /tmp: sshd refuses its 1777 mode as a parent.
 */
export function testJailRoot(): string {
  const dir = `/srv/jwtest-${RUN_ID}`;
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

/** Removes the per-run jail root and everything in it. */
export function removeTestJailRoot(): void {
  rmSync(`/srv/jwtest-${RUN_ID}`, { recursive: true, force: true });
}

/**
 * userdel's every user whose name starts with `prefix` (and its /home/<name> when that
 * belongs to the user). Refuses prefixes that are not test prefixes, so a slip can never
 * delete real accounts.
 */
export async function cleanupTestUsers(prefix: string = TEST_PREFIX): Promise<string[]> {
  if (!/^jwt[0-9a-f]{4}/.test(prefix)) throw new Error(`cleanupTestUsers: ${prefix} is not a test prefix`);
  const removed: string[] = [];
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid] = line.split(':');
    if (!name || !name.startsWith(prefix)) continue;
    let r = await run(['userdel', name], { timeoutMs: 30_000 });
    // 8: the user still has processes (a lingering sshd session); remove anyway.
    if (r.exitCode === 8) r = await run(['userdel', '-f', name], { timeoutMs: 30_000 });
    if (r.exitCode !== 0) throw new Error(`userdel ${name} failed: ${r.stderr.trim()}`);
    const home = `/home/${name}`;
    try {
      if (statSync(home).uid === Number(uid)) rmSync(home, { recursive: true, force: true });
    } catch {
      // no home on the host: the usual case for jailed users
    }
    removed.push(name);
  }
  return removed;
}
