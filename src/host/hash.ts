// sha256, the one hash jailwizard compares content by: of text it holds, and of a file read
// through its fd with safe-fs's rules (no link a user planted is followed, no FIFO is opened).
import { createHash } from 'node:crypto';
import { closeSync, constants as C, readSync } from 'node:fs';
import { openAt, readBuffer, withParent, type DirHandle, type Name } from './safe-fs.ts';

const hasher = () => createHash('sha256');

/** sha256 of text or bytes, in hex. */
export function sha256(data: string | Buffer): string {
  return hasher().update(data).digest('hex');
}

/** sha256 of the regular file `name` in the open dir `d`, streamed through its own fd. */
export function sha256At(d: DirHandle, name: Name): string {
  const { fd } = openAt(d, name, C.O_RDONLY, 'file');
  try {
    const h = hasher();
    const buf = readBuffer();
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** sha256 of the regular file at `p`, reached from "/" by safe-fs (a link in a dir a user can change is refused). */
export function sha256File(p: string): string {
  return withParent(p, (d, name) => sha256At(d, name));
}
