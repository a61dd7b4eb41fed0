// The mount table of this mount namespace, from /proc/self/mountinfo. Read-only.
import { readFileSync } from 'node:fs';

export interface MountEntry {
  /** Where it is mounted, every octal escape decoded. */
  target: string;
  /** The filesystem type, e.g. ext4, tmpfs, proc. */
  fsType: string;
  /** Per-mount options (ro, nodev, noexec…) followed by the superblock's. */
  options: string[];
}

/**
 * The kernel writes a space, tab, newline and backslash in a path as \040 \011 \012 \134
 * (seq_file's mangle); each \ooo is decoded in one pass, so \134040 stays a backslash and "040".
 */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses mountinfo text: `id parent major:minor root target options [optional…] - type source superoptions`. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (!f[4] || sep < 0) continue;
    out.push({ target: unescape(f[4]), fsType: f[sep + 1] ?? '', options: [...(f[5] ?? '').split(','), ...(f[sep + 3] ?? '').split(',')] });
  }
  return out;
}

export function readMountInfo(): MountEntry[] {
  try {
    return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return [];
  }
}

/** The mount that holds `p` (an absolute path, symlinks already resolved): the last of the longest matching targets. */
export function mountOf(p: string, mounts: MountEntry[] = readMountInfo()): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if ((p === m.target || p.startsWith(m.target === '/' ? '/' : `${m.target}/`)) && (!best || m.target.length >= best.target.length)) best = m;
  }
  return best;
}

/** The mount points in this mount namespace. */
export function mountPoints(): Set<string> {
  return new Set(readMountInfo().map((m) => m.target));
}

export function isMountPoint(p: string): boolean {
  return mountPoints().has(p);
}
