// How many bytes a file or a tree takes, for `list` and the journal's history bound.
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Bytes under a path, counting each inode once and not following symlinks (0 when absent). */
export function duBytes(root: string): number {
  const seen = new Set<number>();
  let total = 0;
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      if (st.isFile()) total += st.size;
    }
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(path.join(p, n));
  };
  walk(root);
  return total;
}
