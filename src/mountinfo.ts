// The mount table of this mount namespace, from /proc/self/mountinfo. Read-only.
import { readFileSync } from 'node:fs';

export interface MountEntry {
  /** Where it is mounted (octal escapes such as \040 decoded). */
  target: string;
  /** The filesystem type, e.g. ext4, tmpfs, proc. */
  fsType: string;
  /** Per-mount options (ro, nodev, noexec…) followed by the superblock's. */
  options: string[];
}

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
