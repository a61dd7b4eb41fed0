// Root's file operations where a jailed user may have a hand in the path.
//
// The one approach, used everywhere: walk from a directory fd. A path is resolved one
// component at a time from "/", each step opened through /proc/self/fd/N/<name> with
// O_NOFOLLOW and checked with fstat. A symlink is followed only when it sits in a dir that
// root alone can change (owned by root, no group/other write); in any other dir it is
// refused, whatever it points to. The operation then acts on a name inside the parent's fd
// (mkdir, rename, unlink, symlink) or on an fd of the entry itself (fchown, fchmod, write),
// so a rename, a swapped link or a renameat2 exchange between the check and the act cannot
// send it elsewhere. Files are opened O_NONBLOCK|O_NOFOLLOW and fstat'ed as regular files
// before anything touches them (opening a FIFO would block). Temporary files are made only
// in dirs root alone can change, with O_EXCL. What cannot be done this way is refused.
//
// Node has no openat, mkdirat or renameat2; /proc/self/fd/N/<name> is how they are reached.
// A child process sees its own /proc/self: externalPath() names our fd by our pid instead.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as C,
  copyFileSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { octal } from '../model/mode.ts';

/** A refusal: the path runs through something a user can change. Never retried, never forced. */
export class UnsafePathError extends Error {
  readonly code = 'EUNSAFE';
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

/**
 * Marks an error thrown before an operation changed anything: the executor then skips that
 * action's undo, which would meet the same planted link or missing entry and leave the
 * rollback incomplete. A refusal (UnsafePathError) always comes before a change.
 */
const UNCHANGED = Symbol('safe-fs: nothing changed');

function unchanged(e: unknown): unknown {
  if (typeof e === 'object' && e !== null) Object.defineProperty(e, UNCHANGED, { value: true });
  return e;
}

export function changedNothing(e: unknown): boolean {
  return e instanceof UnsafePathError || (typeof e === 'object' && e !== null && UNCHANGED in e);
}

/** Runs `body`, marking whatever it throws as thrown before any change. */
function beforeChange<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    throw unchanged(e);
  }
}

/** A dir entry's name: a string, or the raw bytes readdir gave (names need not be UTF-8). */
export type Name = string | Buffer;

export interface DirHandle {
  fd: number;
  /** The dir's path with every link resolved, for messages. */
  path: string;
  uid: number;
  mode: number;
  /** Only root can add, remove or rename entries here. */
  rootOnly: boolean;
}

const MAX_LINKS = 40;
const DIR_FLAGS = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW | C.O_NONBLOCK;

/** Only root can add, remove or rename entries of a dir with this owner and mode. */
export function rootOnly(st: Pick<Stats, 'uid' | 'mode'>): boolean {
  return st.uid === 0 && (st.mode & 0o022) === 0;
}

function checkName(name: Name): void {
  const s = typeof name === 'string' ? name : name.toString('latin1');
  if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0')) throw new Error(`safe-fs: bad name ${JSON.stringify(s)}`);
}

function show(name: Name): string {
  return typeof name === 'string' ? name : name.toString('utf8');
}

/** The path of `name` inside the open dir `d`, as this process sees it. */
export function at(d: DirHandle, name: Name): string | Buffer {
  checkName(name);
  const head = `/proc/self/fd/${d.fd}/`;
  return typeof name === 'string' ? head + name : Buffer.concat([Buffer.from(head), name]);
}

/** The same, for a child process (mknod, setfacl): it sees its own /proc/self. */
export function externalPath(d: DirHandle, name?: string): string {
  if (name !== undefined) checkName(name);
  return `/proc/${process.pid}/fd/${d.fd}${name === undefined ? '' : `/${name}`}`;
}

function handle(fd: number, p: string): DirHandle {
  const st = fstatSync(fd);
  if (!st.isDirectory()) {
    closeSync(fd);
    throw Object.assign(new Error(`ENOTDIR: not a directory, ${p}`), { code: 'ENOTDIR', path: p });
  }
  return { fd, path: p, uid: st.uid, mode: st.mode & 0o7777, rootOnly: rootOnly(st) };
}

export function closeDir(d: DirHandle): void {
  closeSync(d.fd);
}

/**
 * Opens the dir at absolute path `p`, component by component from "/". A symlink on the
 * way is followed only where root alone could have made it; anywhere else: UnsafePathError.
 */
export function openDir(p: string): DirHandle {
  if (!path.isAbsolute(p)) throw new Error(`safe-fs: ${p} is not absolute`);
  let todo = p.split('/').filter((x) => x !== '' && x !== '.');
  let d = handle(openSync('/', C.O_RDONLY | C.O_DIRECTORY), '/');
  let links = 0;
  try {
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === '..') {
        // Lexically: the walked prefix is a real path (every link on it was resolved).
        const up = path.dirname(d.path);
        closeDir(d);
        d = handle(openSync('/', C.O_RDONLY | C.O_DIRECTORY), '/');
        todo = [...up.split('/').filter(Boolean), ...todo];
        continue;
      }
      const here = path.join(d.path, name);
      let fd: number;
      try {
        fd = openSync(at(d, name), DIR_FLAGS);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw e;
        const st = lstatSync(at(d, name));
        // A link when opened, a dir again when looked at: swapped back and forth meanwhile.
        if (st.isDirectory() && !d.rootOnly) throw new UnsafePathError(here, `changed while jailwizard walked ${d.path}, which uid ${d.uid} can change`);
        if (!st.isSymbolicLink()) throw e;
        if (!d.rootOnly) throw new UnsafePathError(here, `a symlink in ${d.path}, which uid ${d.uid} can change (mode ${octal(d.mode)}); jailwizard does not follow it`);
        if (++links > MAX_LINKS) throw Object.assign(new Error(`ELOOP: too many symlinks, ${p}`), { code: 'ELOOP', path: p });
        const target = readlinkSync(at(d, name));
        const resolved = path.isAbsolute(target) ? target : path.join(d.path, target);
        closeDir(d);
        d = handle(openSync('/', C.O_RDONLY | C.O_DIRECTORY), '/');
        todo = [...resolved.split('/').filter((x) => x !== '' && x !== '.'), ...todo];
        continue;
      }
      const next = handle(fd, here);
      closeDir(d);
      d = next;
    }
    return d;
  } catch (e) {
    closeDir(d);
    throw unchanged(e);
  }
}

export function withDir<T>(p: string, body: (d: DirHandle) => T): T {
  const d = openDir(p);
  try {
    return body(d);
  } finally {
    closeDir(d);
  }
}

/** The same for an async body (a child process given externalPath): the fd stays open until it settles. */
export async function withDirAsync<T>(p: string, body: (d: DirHandle) => Promise<T>): Promise<T> {
  const d = openDir(p);
  try {
    return await body(d);
  } finally {
    closeDir(d);
  }
}

function split(p: string): { dir: string; name: string } {
  const norm = path.normalize(p);
  const name = path.basename(norm);
  if (!path.isAbsolute(norm) || name === '' || name === '..') throw new Error(`safe-fs: ${p} names no entry`);
  return { dir: path.dirname(norm), name };
}

/** Runs `body` with the open parent dir of `p` and the last name; the name itself is never followed. */
export function withParent<T>(p: string, body: (d: DirHandle, name: string) => T): T {
  const { dir, name } = split(p);
  return withDir(dir, (d) => body(d, name));
}

export function withParentAsync<T>(p: string, body: (d: DirHandle, name: string) => Promise<T>): Promise<T> {
  const { dir, name } = split(p);
  return withDirAsync(dir, (d) => body(d, name));
}

/**
 * Like withParent, but a last component that is a symlink in a dir root alone can change is
 * followed (sshd follows ChrootDirectory's links too); in any other dir it is refused.
 */
export function withEntry<T>(p: string, body: (d: DirHandle, name: string) => T, links = 0): T {
  return withParent(p, (d, name) => {
    const st = beforeChange(() => lstatAt(d, name));
    if (!st?.isSymbolicLink()) return body(d, name);
    if (!d.rootOnly) throw new UnsafePathError(path.join(d.path, name), `is a symlink in ${d.path}, which uid ${d.uid} can change; jailwizard does not follow it`);
    if (links >= MAX_LINKS) throw unchanged(Object.assign(new Error(`ELOOP: too many symlinks, ${p}`), { code: 'ELOOP', path: p }));
    const target = beforeChange(() => readlinkSync(at(d, name)));
    return withEntry(path.isAbsolute(target) ? target : path.join(d.path, target), body, links + 1);
  });
}

// ---------------------------------------------------------------- entries

/** lstat of the entry itself, or undefined when there is none. */
export function lstatAt(d: DirHandle, name: Name): Stats | undefined {
  try {
    return lstatSync(at(d, name));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The names in an open dir, as raw bytes (a user's names need not be UTF-8). */
export function listAt(d: DirHandle): Buffer[] {
  return readdirSync(`/proc/self/fd/${d.fd}`, { encoding: 'buffer' });
}

export type Kind = 'file' | 'dir';

/**
 * Opens an existing regular file or dir by name: never through a link, never blocking on a
 * FIFO, and fstat'ed to be what it was lstat'ed as. Anything else (a FIFO, a socket, a
 * device, a link) is refused before it is opened.
 */
export function openAt(d: DirHandle, name: Name, flags: number, want: Kind | 'either'): { fd: number; st: Stats } {
  const where = path.join(d.path, show(name));
  const before = beforeChange(() => lstatAt(d, name));
  if (!before) throw unchanged(Object.assign(new Error(`ENOENT: no such file or directory, ${where}`), { code: 'ENOENT', path: where }));
  const kind: Kind | undefined = before.isFile() ? 'file' : before.isDirectory() ? 'dir' : undefined;
  if (!kind || (want !== 'either' && want !== kind)) throw new UnsafePathError(where, `is ${describe(before)}, not ${want === 'either' ? 'a regular file or a directory' : want === 'file' ? 'a regular file' : 'a directory'}`);
  let fd: number;
  try {
    fd = openSync(at(d, name), flags | C.O_NOFOLLOW | C.O_NONBLOCK | (kind === 'dir' ? C.O_DIRECTORY : 0));
  } catch (e) {
    // lstat saw a file or dir; O_NOFOLLOW met a link: swapped in between.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new UnsafePathError(where, 'changed while jailwizard opened it');
    throw unchanged(e);
  }
  const st = fstatSync(fd);
  if (st.ino !== before.ino || st.dev !== before.dev || (kind === 'file' ? !st.isFile() : !st.isDirectory())) {
    closeSync(fd);
    throw new UnsafePathError(where, 'changed while jailwizard opened it');
  }
  return { fd, st };
}

function describe(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device node';
  return st.isDirectory() ? 'a directory' : 'a regular file';
}

/** chown then chmod through one fd (chown clears setuid bits, and the mode is not masked). */
export function setOwnerModeAt(d: DirHandle, name: Name, o: { uid?: number; gid?: number; mode?: number }): void {
  const { fd, st } = openAt(d, name, C.O_RDONLY, 'either');
  try {
    // A hard link a user made in their dir may alias a file of someone else's.
    if (!d.rootOnly && st.isFile() && st.nlink !== 1) throw new UnsafePathError(path.join(d.path, show(name)), `has ${st.nlink} hard links; jailwizard changes owner and mode only of a file with one`);
    if (o.uid !== undefined || o.gid !== undefined) fchownSync(fd, o.uid ?? -1, o.gid ?? -1);
    if (o.mode !== undefined) fchmodSync(fd, o.mode);
  } finally {
    closeSync(fd);
  }
}

/** mkdir, then owner and mode through the new dir's own fd. */
export function mkdirAt(d: DirHandle, name: string, mode: number, uid: number, gid: number): void {
  mkdirSync(at(d, name), 0o700);
  const { fd, st } = openAt(d, name, C.O_RDONLY, 'dir');
  try {
    // In a dir a user can change, a dir of theirs may have been swapped in: refuse it.
    if (st.uid !== 0 || (st.mode & 0o7777) !== 0o700) throw new UnsafePathError(path.join(d.path, name), 'was replaced right after jailwizard made it');
    fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

function requireRootOnly(d: DirHandle, what: string): void {
  if (!d.rootOnly) throw new UnsafePathError(d.path, `uid ${d.uid} can change this dir (mode ${octal(d.mode)}); jailwizard ${what} only in dirs root alone can change`);
}

/** A new file beside `name`, O_EXCL, in a dir root alone can change; the caller renames or removes it. */
function tempFile(d: DirHandle): { name: string; fd: number } {
  requireRootOnly(d, 'makes temporary files');
  const name = `.jailwizard-tmp-${randomBytes(6).toString('hex')}`;
  return { name, fd: openSync(at(d, name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600) };
}

/** Writes a whole file beside and renames it over `name`, so nobody reads it half-written. */
export function writeFileAt(d: DirHandle, name: string, data: string | Buffer, mode: number, uid: number, gid: number): void {
  const tmp = tempFile(d);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length; ) off += writeSync(tmp.fd, buf, off, buf.length - off);
    fsyncSync(tmp.fd);
    fchownSync(tmp.fd, uid, gid);
    fchmodSync(tmp.fd, mode);
    closeSync(tmp.fd);
    renameSync(at(d, tmp.name), at(d, name));
  } catch (e) {
    closeQuietly(tmp.fd);
    unlinkQuietly(d, tmp.name);
    throw e;
  }
}

/** Copies the host file `from` beside and renames it over `name` (a running binary is replaced, not rewritten). */
export function copyFileAt(d: DirHandle, name: string, from: string, mode: number, uid: number, gid: number): void {
  const tmp = tempFile(d);
  try {
    closeSync(tmp.fd);
    copyFileSync(from, at(d, tmp.name));
    const { fd } = openAt(d, tmp.name, C.O_RDONLY, 'file');
    try {
      fchownSync(fd, uid, gid);
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
    renameSync(at(d, tmp.name), at(d, name));
  } catch (e) {
    unlinkQuietly(d, tmp.name);
    throw e;
  }
}

/** The content of a regular file, refused above `max` bytes. */
export function readFileAt(d: DirHandle, name: Name, max: number): Buffer {
  const { fd, st } = openAt(d, name, C.O_RDONLY, 'file');
  try {
    if (st.size > max) throw new UnsafePathError(path.join(d.path, show(name)), `is ${st.size} bytes, more than the ${max} jailwizard reads`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * One read buffer for the synchronous copies and hashes (here and in host/hash.ts): a fresh
 * zero-filled MiB per file cost more than hashing a jail's small files and fed the garbage
 * collector. Only the bytes just read are ever used.
 */
let ioBuffer: Buffer | undefined;
export function readBuffer(): Buffer {
  return (ioBuffer ??= Buffer.allocUnsafe(1 << 20));
}

/** Copies a regular file out to `dest` (a new file of root's), through its fd; returns its stat. */
export function copyOutAt(d: DirHandle, name: Name, dest: string): Stats {
  const { fd, st } = openAt(d, name, C.O_RDONLY, 'file');
  const out = openSync(dest, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  try {
    const buf = readBuffer();
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
    }
    fsyncSync(out);
    return st;
  } finally {
    closeSync(out);
    closeSync(fd);
  }
}

// One system call each: when it fails, nothing changed.
export function symlinkAt(d: DirHandle, name: string, target: string): void {
  beforeChange(() => symlinkSync(target, at(d, name)));
}

export function unlinkAt(d: DirHandle, name: Name): void {
  beforeChange(() => unlinkSync(at(d, name)));
}

export function rmdirAt(d: DirHandle, name: Name): void {
  beforeChange(() => rmdirSync(at(d, name)));
}

/** rename(2) between two open dirs: neither name is followed. */
export function renameAt(from: DirHandle, fromName: Name, to: DirHandle, toName: Name): void {
  renameSync(at(from, fromName), at(to, toName));
}

/**
 * Appends `text` to a regular file with one link, creating it (O_EXCL, with this owner and
 * mode) when absent. In a dir a user can change it must be root's or that user's: sshd
 * reads nothing else there. Nothing of the file is read.
 */
export function appendAt(d: DirHandle, name: string, text: string, create: { mode: number; uid: number; gid: number }): void {
  let fd: number;
  if (lstatAt(d, name) === undefined) {
    fd = openSync(at(d, name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW | C.O_NONBLOCK, 0o600);
    fchownSync(fd, create.uid, create.gid);
    fchmodSync(fd, create.mode);
  } else {
    fd = openAt(d, name, C.O_WRONLY | C.O_APPEND, 'file').fd;
  }
  try {
    checkOwnFile(d, name, fstatSync(fd));
    const buf = Buffer.from(text);
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Undoes appendAt: when the file still ends with exactly `text`, cuts it off (reading only
 * those bytes); `removeIfEmpty` removes a file appendAt created. Returns false when the file
 * no longer ends with `text` (someone changed it since): then nothing is touched.
 */
export function unappendAt(d: DirHandle, name: string, text: string, removeIfEmpty: boolean): boolean {
  const { fd, st } = openAt(d, name, C.O_RDWR, 'file');
  try {
    checkOwnFile(d, name, st);
    const tail = Buffer.from(text);
    if (st.size < tail.length) return false;
    const got = Buffer.alloc(tail.length);
    readSync(fd, got, 0, tail.length, st.size - tail.length);
    if (!got.equals(tail)) return false;
    ftruncateSync(fd, st.size - tail.length);
    fsyncSync(fd);
    if (removeIfEmpty && st.size === tail.length) {
      const now = lstatAt(d, name);
      if (now && now.ino === st.ino && now.dev === st.dev) unlinkAt(d, name);
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** A file root writes into: one link (no alias of another file), and in a user's dir root's or that user's. */
function checkOwnFile(d: DirHandle, name: string, st: Stats): void {
  const where = path.join(d.path, name);
  if (st.nlink !== 1) throw new UnsafePathError(where, `has ${st.nlink} hard links; jailwizard writes only into a file with one`);
  if (!d.rootOnly && st.uid !== 0 && st.uid !== d.uid) throw new UnsafePathError(where, `belongs to uid ${st.uid}, neither root nor uid ${d.uid} who owns ${d.path}`);
}

// ---------------------------------------------------------------- by path

/** lstat of a path whose dirs are walked safely; undefined when it does not exist. */
export function safeLstat(p: string): Stats | undefined {
  try {
    return withParent(p, (d, name) => lstatAt(d, name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** A regular file's content by path, safely; undefined when absent. */
export function safeReadFile(p: string, max: number): Buffer | undefined {
  try {
    return withParent(p, (d, name) => readFileAt(d, name, max));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Owner and mode of a regular file or dir through its own fd (links followed only where root alone made them). */
export function safeSetOwnerMode(p: string, o: { uid?: number; gid?: number; mode?: number }): void {
  withEntry(p, (d, name) => setOwnerModeAt(d, name, o));
}

/** Whether every dir from "/" down to and including `p` is root's alone (so nobody else can change what is under it). */
export function rootOnlyChain(p: string): boolean {
  let cur = '/';
  for (const part of ['', ...p.split('/').filter(Boolean)]) {
    cur = part ? path.join(cur, part) : cur;
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch {
      return false;
    }
    if (!st.isDirectory() || !rootOnly(st)) return false;
  }
  return true;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

function unlinkQuietly(d: DirHandle, name: string): void {
  try {
    unlinkAt(d, name);
  } catch {
    // already renamed or never made
  }
}
