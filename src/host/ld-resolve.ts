// Works out which files a binary needs at run time the way glibc's ld.so would, from the
// ELF headers alone (no ldd: it can run the binary's own code, and it cannot handle
// another arch). Everything happens inside a sysroot: symlinks are resolved as if that
// root were `/`, exactly as they will be inside the jail.
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { readElf, type ElfInfo } from './elf.ts';
import type { Arch } from '../model/types.ts';

export interface Closure {
  /** Every object in the closure (the binaries themselves, the interpreter, every library), as the path the loader would open (inside root, written as an absolute path without the root prefix). */
  objects: string[];
  /** realpath of each object, same form. */
  realObjects: string[];
  missing: { name: string; neededBy: string }[];
}

export interface HostEntry {
  /** Absolute, inside root. */
  path: string;
  kind: 'dir' | 'file' | 'symlink';
  /** st_mode & 0o7777 */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink text, verbatim. */
  target?: string;
}

interface Opts {
  root?: string;
}

// Multiarch directories, the values of $LIB and $PLATFORM (as Debian's ld.so expands them).
const MULTIARCH: Record<Arch, { dirs: string[]; lib: string; platform: string }> = {
  x86_64: { dirs: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64', '/usr/lib64'], lib: 'lib/x86_64-linux-gnu', platform: 'x86_64' },
  aarch64: { dirs: ['/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/lib64', '/usr/lib64'], lib: 'lib/aarch64-linux-gnu', platform: 'aarch64' },
  armhf: { dirs: ['/lib/arm-linux-gnueabihf', '/usr/lib/arm-linux-gnueabihf'], lib: 'lib/arm-linux-gnueabihf', platform: 'v7l' },
  i386: { dirs: ['/lib/i386-linux-gnu', '/usr/lib/i386-linux-gnu'], lib: 'lib/i386-linux-gnu', platform: 'i686' },
};
// Debian's ld.so itself only falls back to the multiarch dirs; /lib and /usr/lib are
// the classic defaults of other distros and cost nothing when empty.
const COMMON_DIRS = ['/lib', '/usr/lib'];
// musl's loader (/lib/ld-musl-ARCH.so.1) is also its libc. It reads no ld.so.conf and
// knows no multiarch dirs: its path is /etc/ld-musl-ARCH.path (':' or newline separated),
// else this default.
const MUSL_DEFAULT_PATH = ['/lib', '/usr/local/lib', '/usr/lib'];
const MUSL_LOADER = /\/ld-musl-([^/]+)\.so\.1$/;
// Names musl never opens: libc, libpthread, librt, libm, libdl, libutil and libxnet (any
// suffix, e.g. libc.musl-x86_64.so.1) are the loader itself.
const MUSL_BUILTIN = /^lib(c|pthread|rt|m|dl|util|xnet)\./;
// Like the kernel's limit on symlinks followed in one lookup (ELOOP).
const MAX_SYMLINKS = 40;

/** One file or directory seen inside the root, with the lstat that described it. */
interface Seen {
  path: string;
  st: Stats;
  target?: string;
}

/**
 * A view of a sysroot with caches, so that resolving a thousand binaries does each lstat,
 * readdir and ELF parse once. Lives for one public call: the filesystem may change later.
 */
class RootView {
  private stats = new Map<string, Stats | null>();
  private links = new Map<string, string>();
  private reals = new Map<string, string | null>();
  private listings = new Map<string, Set<string> | null>();
  private elfs = new Map<string, ElfInfo | null>();

  constructor(readonly root: string) {}

  /** The host path of a path inside the root. */
  host(p: string): string {
    return this.root === '/' ? p : this.root + p;
  }

  lstat(p: string): Stats | null {
    let st = this.stats.get(p);
    if (st === undefined) {
      try {
        st = lstatSync(this.host(p));
      } catch (e) {
        if (!isMissing(e)) throw e;
        st = null;
      }
      this.stats.set(p, st);
    }
    return st;
  }

  readlink(p: string): string {
    let t = this.links.get(p);
    if (t === undefined) {
      t = readlinkSync(this.host(p));
      this.links.set(p, t);
    }
    return t;
  }

  /**
   * Resolves `p` component by component as the kernel would inside a chroot at root:
   * absolute symlink targets restart at the root, `..` never climbs above it. Calls
   * `seen` for every dir, symlink and final file met, in dependency order. Returns the
   * real path, or null if some component is missing, is not a directory, or loops.
   */
  walk(p: string, seen?: (s: Seen) => void): string | null {
    const pending = splitPath(p).reverse(); // a stack: next component last
    let cur = ''; // '' is the root itself
    let followed = 0;
    while (pending.length > 0) {
      const c = pending.pop()!;
      if (c === '.') continue;
      if (c === '..') {
        cur = cur.slice(0, cur.lastIndexOf('/'));
        continue;
      }
      const next = `${cur}/${c}`;
      const st = this.lstat(next);
      if (!st) return null;
      if (st.isSymbolicLink()) {
        if (++followed > MAX_SYMLINKS) return null;
        const target = this.readlink(next);
        seen?.({ path: next, st, target });
        if (target.startsWith('/')) cur = '';
        pending.push(...splitPath(target).reverse());
        continue;
      }
      if (pending.length > 0 && !st.isDirectory()) return null;
      seen?.({ path: next, st });
      cur = next;
    }
    return cur || '/';
  }

  realpath(p: string): string | null {
    let r = this.reals.get(p);
    if (r === undefined) {
      r = this.walk(p);
      this.reals.set(p, r);
    }
    return r;
  }

  /** Names in a directory (following symlinks inside the root), or null if it is not one. */
  list(dir: string): Set<string> | null {
    const real = this.realpath(dir);
    if (real === null) return null;
    let names = this.listings.get(real);
    if (names === undefined) {
      try {
        names = new Set(readdirSync(this.host(real)));
      } catch (e) {
        if (!isMissing(e)) throw e;
        names = null;
      }
      this.listings.set(real, names);
    }
    return names;
  }

  /** The ELF headers of a real path; null for a non-ELF, unreadable or corrupt file. */
  elf(real: string): ElfInfo | null {
    let info = this.elfs.get(real);
    if (info === undefined) {
      const st = this.lstat(real);
      info = null;
      if (st?.isFile()) {
        try {
          info = readElf(this.host(real));
        } catch {
          // The loader refuses a file it cannot read or parse; so do we.
          info = null;
        }
      }
      this.elfs.set(real, info);
    }
    return info;
  }
}

/** An object "loaded" into the emulated process. */
interface Loaded {
  /** The path the loader opened (l_name). */
  name: string;
  real: string;
  elf: ElfInfo;
  /** Names that refer to it: the DT_NEEDED names it was loaded for, its path and DT_SONAME. */
  names: Set<string>;
  /** The object whose DT_NEEDED first loaded it (l_loader): its DT_RPATH chain goes up this way. */
  loader?: Loaded;
  /** $ORIGIN */
  origin: string;
}

/**
 * The shared-library closure of `binaries` inside `opts.root` (default `/`). Each binary is
 * resolved as its own process would be. A binary that is not ELF (a script) is listed
 * as an object with no dependencies; a binary that does not exist is reported missing
 * with an empty `neededBy`.
 */
export function resolveClosure(binaries: string[], opts: Opts = {}): Closure {
  const view = new RootView(normalizeRoot(opts.root));
  const conf = ldSoConfDirs(view);
  const muslPaths = new Map<string, string[]>();
  const objects = new Map<string, string>(); // opened path -> real path
  const missing: Closure['missing'] = [];
  const missingSeen = new Set<string>();
  const addMissing = (name: string, neededBy: string) => {
    const key = `${name}\0${neededBy}`;
    if (!missingSeen.has(key)) {
      missingSeen.add(key);
      missing.push({ name, neededBy });
    }
  };

  for (const bin of binaries) {
    const binPath = absolute(bin);
    const real = view.realpath(binPath);
    if (real === null) {
      addMissing(binPath, '');
      continue;
    }
    objects.set(binPath, real);
    const elf = view.elf(real);
    if (!elf || elf.static) continue;
    const musl = elf.interp ? MUSL_LOADER.exec(elf.interp)?.[1] : undefined;
    let dirs = conf;
    if (musl !== undefined) {
      if (!muslPaths.has(musl)) muslPaths.set(musl, muslPathDirs(view, musl));
      dirs = muslPaths.get(musl)!;
    }
    for (const l of loadProcess(view, dirs, binPath, real, elf, addMissing, musl !== undefined)) objects.set(l.name, l.real);
  }
  return { objects: [...objects.keys()], realObjects: [...objects.values()], missing };
}

/**
 * Emulates ld.so loading one executable: the interpreter, then DT_NEEDED breadth-first.
 * `conf` is ld.so.conf's dirs for glibc, musl's whole path for musl.
 */
function loadProcess(
  view: RootView,
  conf: string[],
  binPath: string,
  real: string,
  elf: ElfInfo,
  addMissing: (name: string, neededBy: string) => void,
  musl = false,
): Loaded[] {
  // ld.so computes the executable's $ORIGIN from /proc/self/exe, i.e. its real path.
  const main: Loaded = { name: binPath, real, elf, names: new Set([binPath]), origin: posix.dirname(real) };
  const loaded: Loaded[] = [main];

  if (elf.interp) {
    const interpReal = view.realpath(elf.interp);
    const interpElf = interpReal === null ? null : view.elf(interpReal);
    if (interpReal === null || !interpElf) {
      addMissing(elf.interp, binPath);
    } else {
      // Its soname (ld-linux-x86-64.so.2) is how libc's DT_NEEDED finds it again.
      const names = new Set([elf.interp]);
      if (interpElf.soname) names.add(interpElf.soname);
      loaded.push({ name: elf.interp, real: interpReal, elf: interpElf, names, origin: posix.dirname(elf.interp) });
    }
  }

  // Breadth-first, like _dl_map_object_deps: the order decides which object is the
  // l_loader of which, and so whose DT_RPATH applies.
  const interp = elf.interp ? loaded.find((l) => l.name === elf.interp) : undefined;
  const queue: Loaded[] = [main];
  for (let i = 0; i < queue.length; i++) {
    const requester = queue[i]!;
    for (const needed of requester.elf.needed) {
      const already = loaded.find((l) => l.names.has(needed));
      if (already) continue;
      if (musl && interp && MUSL_BUILTIN.test(needed)) {
        interp.names.add(needed);
        continue;
      }
      const found = musl ? findObjectMusl(view, conf, needed, requester, main) : findObject(view, conf, needed, requester, main);
      if (!found) {
        addMissing(needed, requester.name);
        continue;
      }
      // The same file reached under another name is not loaded twice (ld.so compares dev/ino).
      const same = loaded.find((l) => l.real === found.real);
      if (same) {
        same.names.add(needed);
        continue;
      }
      const names = new Set([needed, found.name]);
      if (found.elf.soname) names.add(found.elf.soname);
      const obj: Loaded = { ...found, names, loader: requester, origin: posix.dirname(found.name) };
      loaded.push(obj);
      queue.push(obj);
    }
  }
  return loaded;
}

/** `path` as the loader would open it for `main`'s process: an ELF object of its class and machine, or null. */
function openable(view: RootView, path: string, main: Loaded): { name: string; real: string; elf: ElfInfo } | null {
  const real = view.realpath(path);
  if (real === null) return null;
  const elf = view.elf(real);
  return elf && compatible(elf, main.elf) ? { name: path, real, elf } : null;
}

/** Where ld.so would find `needed` for `requester`, or null. */
function findObject(view: RootView, conf: string[], needed: string, requester: Loaded, main: Loaded): { name: string; real: string; elf: ElfInfo } | null {
  const accept = (p: string) => openable(view, p, main);

  // A name with a slash is a path, opened as is (relative ones from / here: no cwd).
  if (needed.includes('/')) return accept(absolute(expandTokens(needed, requester, main.elf)));

  for (const dir of searchDirs(conf, requester, main)) {
    // A cached lstat per candidate: cheaper than listing big lib dirs on every call.
    const hit = accept(dir === '/' ? `/${needed}` : `${dir}/${needed}`);
    if (hit) return hit;
  }
  return null;
}

/**
 * Where musl's loader would find `needed`: a name with a slash as is; else the rpath of
 * the requester and then of each object up its chain of loaders (DT_RUNPATH where an
 * object has one, else its DT_RPATH: musl treats both alike), then musl's path.
 */
function findObjectMusl(view: RootView, path: string[], needed: string, requester: Loaded, main: Loaded): { name: string; real: string; elf: ElfInfo } | null {
  const accept = (p: string) => openable(view, p, main);
  if (needed.includes('/')) return accept(absolute(expandTokens(needed, requester, main.elf)));
  const dirs: string[] = [];
  for (let l: Loaded | undefined = requester; l; l = l.loader) {
    const own = l.elf.runpath.length > 0 ? l.elf.runpath : l.elf.rpath;
    for (const d of own) dirs.push(cleanDir(expandTokens(d, l, main.elf)));
  }
  dirs.push(...path);
  for (const dir of dirs) {
    const hit = accept(dir === '/' ? `/${needed}` : `${dir}/${needed}`);
    if (hit) return hit;
  }
  return null;
}

/** musl's library path for one loader arch: /etc/ld-musl-ARCH.path when it exists, else the default. */
function muslPathDirs(view: RootView, arch: string): string[] {
  const file = `/etc/ld-musl-${arch}.path`;
  const real = view.realpath(file);
  if (real === null || !view.lstat(real)?.isFile()) return MUSL_DEFAULT_PATH;
  const text = readFileSync(view.host(real), 'utf8');
  return text
    .split(/[:\n]/)
    .map((d) => d.trim())
    .filter((d) => d.startsWith('/'))
    .map(cleanDir);
}

/** The directories ld.so tries for a DT_NEEDED of `requester`, in order. */
function searchDirs(conf: string[], requester: Loaded, main: Loaded): string[] {
  const dirs: string[] = [];
  const add = (list: string[], owner: Loaded) => {
    for (const d of list) dirs.push(cleanDir(expandTokens(d, owner, main.elf)));
  };
  // DT_RPATH up the chain of loaders, then the executable's, unless the requester has
  // DT_RUNPATH. An object that has DT_RUNPATH has its own DT_RPATH ignored.
  if (requester.elf.runpath.length === 0) {
    let sawMain = false;
    for (let l: Loaded | undefined = requester; l; l = l.loader) {
      if (l.elf.runpath.length === 0) add(l.elf.rpath, l);
      sawMain ||= l === main;
    }
    if (!sawMain && main.elf.runpath.length === 0) add(main.elf.rpath, main);
  }
  add(requester.elf.runpath, requester);
  dirs.push(...conf);
  const arch = main.elf.arch;
  if (arch in MULTIARCH) dirs.push(...MULTIARCH[arch as Arch].dirs);
  dirs.push(...COMMON_DIRS);
  return dirs;
}

/** The loader skips files of another class, byte order or machine (ld.so.conf lists every installed arch's dirs). */
function compatible(lib: ElfInfo, exe: ElfInfo): boolean {
  if (lib.bits !== exe.bits || lib.machine !== exe.machine || lib.endian !== exe.endian) return false;
  // armel and armhf libraries share EM_ARM; the declared float ABI tells them apart.
  if (lib.armFloat && exe.armFloat && lib.armFloat !== exe.armFloat) return false;
  return true;
}

/** $ORIGIN, $LIB and $PLATFORM (also in the ${…} form). Unknown tokens stay as they are. */
function expandTokens(s: string, owner: Loaded, exe: ElfInfo): string {
  if (!s.includes('$')) return s;
  const ma = exe.arch in MULTIARCH ? MULTIARCH[exe.arch as Arch] : undefined;
  return s.replace(/\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))/g, (whole, a?: string, b?: string) => {
    const token = a ?? b;
    if (token === 'ORIGIN') return owner.origin;
    if (token === 'LIB') return ma ? ma.lib : whole;
    return ma ? ma.platform : whole;
  });
}

/**
 * The directories from `<root>/etc/ld.so.conf`, following `include` globs recursively.
 * ld.so really reads /etc/ld.so.cache, which ldconfig builds from these directories in
 * this order (then the multiarch defaults), so the first match wins in both.
 */
function ldSoConfDirs(view: RootView): string[] {
  const dirs: string[] = [];
  const visited = new Set<string>();
  const parse = (file: string) => {
    const real = view.realpath(file);
    if (real === null || visited.has(real)) return; // a missing file is fine; a loop is ignored
    visited.add(real);
    let text: string;
    try {
      text = readFileSync(view.host(real), 'utf8');
    } catch (e) {
      if (isMissing(e)) return;
      throw e;
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      const include = /^include\s+(.*)$/.exec(line);
      if (include) {
        for (let pattern of include[1]!.trim().split(/\s+/)) {
          if (!pattern.startsWith('/')) pattern = posix.join(posix.dirname(file), pattern);
          for (const f of globInRoot(view, pattern)) parse(f);
        }
      } else if (/^hwcap\s/.test(line)) {
        continue; // obsolete hwcap-specific cache entries: ignored by modern ldconfig
      } else if (line.startsWith('/')) {
        // Old syntax allowed "dir=libtype"; the directory is before the '='.
        dirs.push(cleanDir(line.replace(/=.*$/, '').trim()));
      }
    }
  };
  parse('/etc/ld.so.conf');
  return [...new Set(dirs)];
}

/** Expands `*`, `?` and `[…]` per path component inside the root; sorted like glob(3). */
function globInRoot(view: RootView, pattern: string): string[] {
  let paths = [''];
  for (const part of splitPath(pattern)) {
    const next: string[] = [];
    for (const base of paths) {
      if (!/[*?[]/.test(part)) {
        next.push(`${base}/${part}`);
        continue;
      }
      const names = view.list(base || '/');
      if (!names) continue;
      const re = globToRegExp(part);
      for (const n of [...names].sort()) if (re.test(n) && !(n.startsWith('.') && !part.startsWith('.'))) next.push(`${base}/${n}`);
    }
    paths = next;
  }
  return paths.filter((p) => p !== '' && view.realpath(p) !== null);
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) re += '\\[';
      else {
        let set = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        re += `[${set}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Everything a jail must contain so that each of `paths` resolves inside it exactly as
 * inside root: every ancestor dir, every symlink met on the way (with its target
 * followed, recursively) and the final file. Each entry comes after the entries its own
 * path goes through. Throws if a path does not resolve.
 */
export function hostEntriesFor(paths: string[], opts: Opts = {}): HostEntry[] {
  const view = new RootView(normalizeRoot(opts.root));
  const entries = new Map<string, HostEntry>();
  for (const p of paths) {
    const real = view.walk(absolute(p), (s) => {
      if (entries.has(s.path)) return;
      const kind = s.st.isSymbolicLink() ? 'symlink' : s.st.isDirectory() ? 'dir' : 'file';
      const e: HostEntry = { path: s.path, kind, mode: s.st.mode & 0o7777, uid: s.st.uid, gid: s.st.gid, size: s.st.size };
      if (s.target !== undefined) e.target = s.target;
      entries.set(s.path, e);
    });
    if (real === null) throw new Error(`${p} does not resolve inside ${view.root} (missing component, not a directory, or a symlink loop)`);
  }
  return [...entries.values()];
}

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '');
}

function absolute(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}

/** Drops repeated and trailing slashes, as ld.so does for search dirs; keeps `..` (resolved physically later). */
function cleanDir(d: string): string {
  return absolute(splitPath(d).join('/'));
}

function normalizeRoot(root = '/'): string {
  const r = posix.resolve(root);
  return r === '/' ? '/' : r.replace(/\/+$/, '');
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
