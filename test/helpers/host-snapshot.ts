// Snapshots of the host state jailwizard may touch, to prove that remove/rollback puts
// every byte back. Timestamps are left out on purpose: only content, type, mode and
// ownership count.
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Account files: hashed, plus the text of passwd and group for readable diffs. */
const DEFAULT_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/subuid', '/etc/subgid'];
const TEXT_FILES = new Set(['/etc/passwd', '/etc/group']);
const DEFAULT_DIRS = ['/etc/ssh/authorized_keys'];

/** One line per file or directory entry, e.g. `file 0644 0:0 sha256=…`, or `absent`. */
type Entry = string;

export interface HostSnapshot {
  /** path → entry line */
  files: Map<string, Entry>;
  /** passwd/group text, for line diffs */
  texts: Map<string, string | undefined>;
  /** dir → (relative path → entry line); '.' is the dir itself */
  dirs: Map<string, Map<string, Entry>>;
}

/**
 * The host's account files and keys dir plus `extra`; with `defaults: false`, only `extra`
 * (another root's files, seen from here). passwd and group texts are kept for diffs.
 * `root`: read every path under this dir instead of / (a container's root seen from the host).
 */
export async function snapshotHost(extra: { files?: string[]; dirs?: string[]; defaults?: boolean; root?: string } = {}): Promise<HostSnapshot> {
  const snap: HostSnapshot = { files: new Map(), texts: new Map(), dirs: new Map() };
  const defaults = extra.defaults ?? true;
  const at = (p: string): string => (extra.root ? join(extra.root, p) : p);
  for (const f of unique([...(defaults ? DEFAULT_FILES : []), ...(extra.files ?? [])])) {
    snap.files.set(f, await describe(at(f)));
    if (TEXT_FILES.has(f) || /\/etc\/(passwd|group)$/.test(f)) snap.texts.set(f, await readFile(at(f), 'utf8').catch(() => undefined));
  }
  for (const d of unique([...(defaults ? DEFAULT_DIRS : []), ...(extra.dirs ?? [])])) {
    const listing = new Map<string, Entry>();
    await walk(at(d), '.', listing);
    snap.dirs.set(d, listing);
  }
  return snap;
}

/** Human-readable differences from a to b; empty means identical. */
export function diffSnapshots(a: HostSnapshot, b: HostSnapshot): string[] {
  const out: string[] = [];
  for (const path of unique([...a.files.keys(), ...b.files.keys()])) {
    const ea = a.files.get(path) ?? 'not snapshotted';
    const eb = b.files.get(path) ?? 'not snapshotted';
    if (ea === eb) continue;
    out.push(`${path}: ${ea} -> ${eb}`);
    const ta = a.texts.get(path);
    const tb = b.texts.get(path);
    if (ta !== undefined && tb !== undefined) out.push(...lineDiff(path, ta, tb));
  }
  for (const dir of unique([...a.dirs.keys(), ...b.dirs.keys()])) {
    const la = a.dirs.get(dir) ?? new Map<string, Entry>();
    const lb = b.dirs.get(dir) ?? new Map<string, Entry>();
    for (const rel of unique([...la.keys(), ...lb.keys()]).sort()) {
      const ea = la.get(rel) ?? 'absent';
      const eb = lb.get(rel) ?? 'absent';
      if (ea !== eb) out.push(`${join(dir, rel)}: ${ea} -> ${eb}`);
    }
  }
  return out;
}

async function describe(path: string): Promise<Entry> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw e;
  }
  const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
  const head = `${typeName(st)} ${mode} ${st.uid}:${st.gid}`;
  if (st.isFile()) return `${head} sha256=${createHash('sha256').update(await readFile(path)).digest('hex')}`;
  if (st.isSymbolicLink()) return `${head} -> ${await readlink(path)}`;
  if (st.isCharacterDevice() || st.isBlockDevice()) return `${head} rdev=${st.rdev}`;
  return head;
}

async function walk(root: string, rel: string, into: Map<string, Entry>): Promise<void> {
  const path = join(root, rel);
  const entry = await describe(path);
  if (entry === 'absent' && rel === '.') return; // an absent dir is a valid state: no entries
  into.set(rel, entry);
  if (!entry.startsWith('dir ')) return;
  for (const name of (await readdir(path)).sort()) await walk(root, rel === '.' ? name : join(rel, name), into);
}

function typeName(st: Awaited<ReturnType<typeof lstat>>): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'chardev';
  if (st.isBlockDevice()) return 'blockdev';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'unknown';
}

/** Lines only in a (-) and only in b (+), so a failing test says which account changed. */
function lineDiff(path: string, ta: string, tb: string): string[] {
  const la = ta.split('\n');
  const lb = tb.split('\n');
  const sa = new Set(la);
  const sb = new Set(lb);
  const out = [
    ...la.filter((l) => !sb.has(l)).map((l) => `  ${path} - ${l}`),
    ...lb.filter((l) => !sa.has(l)).map((l) => `  ${path} + ${l}`),
  ];
  if (out.length === 0) out.push(`  ${path}: same lines, different order or count`);
  return out;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
