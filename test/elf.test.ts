// The ELF reader and the ld.so emulation. The main proof is the oracle: on this host,
// for every dynamic executable in /usr/bin, /usr/sbin and /usr/lib/openssh, our closure
// must be exactly what ldd reports. Foreign arches are checked against real Debian
// packages, and the loader rules that the host's binaries never exercise (RPATH,
// RUNPATH, $ORIGIN, soname reuse) against small synthetic ELF files.
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElfFormatError, readElf } from '../src/host/elf.ts';
import { hostEntriesFor, resolveClosure, type HostEntry } from '../src/host/ld-resolve.ts';
import { run } from '../src/host/run.ts';
import { foreignSysroot, type DebArch } from './helpers/foreign-debs.ts';
import { makeElf, writeTree, x64 } from './helpers/elf-fixture.ts';

const scratch = mkdtempSync(join(tmpdir(), 'jw-elf-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

/** The dynamic executables of a directory: regular ELF files with an interpreter (or ET_EXEC and dynamic). */
function dynamicExecutables(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (!lstatSync(p).isFile()) continue; // symlinks point at files we list anyway
    let elf;
    try {
      elf = readElf(p);
    } catch {
      continue;
    }
    if (elf && !elf.static && (elf.interp !== undefined || elf.type === 'exec')) out.push(p);
  }
  return out;
}

/** What ldd says: the real paths it loaded, and the names it could not find. */
function parseLdd(stdout: string): { paths: Set<string>; notFound: Set<string> } {
  const paths = new Set<string>();
  const notFound = new Set<string>();
  for (const line of stdout.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('linux-vdso') || line.startsWith('linux-gate')) continue;
    const nf = /^(\S+) => not found$/.exec(line);
    const arrow = /^\S+ => (\/\S*) \(0x[0-9a-f]+\)$/.exec(line);
    const bare = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line); // the interpreter
    if (nf) notFound.add(nf[1]!);
    else if (arrow || bare) paths.add(realpathSync((arrow ?? bare)![1]!));
  }
  return { paths, notFound };
}

describe('resolveClosure against ldd on this host (the oracle)', () => {
  it('gives exactly the libraries ldd gives, for every dynamic executable', async () => {
    const bins = ['/usr/bin', '/usr/sbin', '/usr/lib/openssh'].flatMap(dynamicExecutables);
    expect(bins.length).toBeGreaterThan(100);

    const t0 = performance.now();
    const lddOut = await pool(bins, 8, (b) => run(['ldd', b], { timeoutMs: 30_000 }));
    const lddMs = performance.now() - t0;
    const t1 = performance.now();
    resolveClosure(bins);
    const oursMs = performance.now() - t1;

    const mismatches: string[] = [];
    const lddFailures: string[] = [];
    let compared = 0;
    let statics = 0;
    bins.forEach((bin, i) => {
      const r = lddOut[i]!;
      if (r.exitCode !== 0) {
        // glibc's ldd says this for static-pie binaries (PT_DYNAMIC but nothing to load).
        if (/not a dynamic executable/.test(r.stdout + r.stderr)) statics++;
        // Any other ldd failure is not silently skipped: it is reported below.
        else lddFailures.push(`${bin}: ldd exited ${r.exitCode}: ${(r.stderr || r.stdout).trim()}`);
        return;
      }
      compared++;
      const want = parseLdd(r.stdout);
      const got = resolveClosure([bin]);
      const self = realpathSync(bin);
      const gotPaths = new Set(got.realObjects.filter((p) => p !== self));
      const gotMissing = new Set(got.missing.map((m) => m.name));
      const extra = [...gotPaths].filter((p) => !want.paths.has(p));
      const lacking = [...want.paths].filter((p) => !gotPaths.has(p));
      const missDiff = [...new Set([...gotMissing, ...want.notFound])].filter((n) => gotMissing.has(n) !== want.notFound.has(n));
      if (extra.length || lacking.length || missDiff.length)
        mismatches.push(`${bin}: extra ${JSON.stringify(extra)}, lacking ${JSON.stringify(lacking)}, not-found differs ${JSON.stringify(missDiff)}`);
    });

    console.log(
      `[elf oracle] ${bins.length} dynamic executables; compared ${compared} with ldd, ${statics} static-pie skipped, ` +
        `${lddFailures.length} ldd failures; resolveClosure(all) ${oursMs.toFixed(0)} ms vs ldd (8 in parallel) ${lddMs.toFixed(0)} ms`,
    );
    expect(lddFailures, `ldd failed on:\n${lddFailures.join('\n')}`).toEqual([]);
    expect(mismatches, `closures that differ from ldd:\n${mismatches.join('\n')}`).toEqual([]);
    expect(compared).toBeGreaterThan(100);
  });
});

// What each arch's bash needs, as Debian 12 ships it (packages are not usr-merged: they
// install into /lib, and the loader is a relative symlink beside the triplet dir, or for
// amd64 the absolute /lib64 symlink, which must resolve inside the sysroot, not on the host).
const FOREIGN: Record<DebArch, { arch: string; bits: number; interp: string; interpReal: string; triplet: string }> = {
  arm64: { arch: 'aarch64', bits: 64, interp: '/lib/ld-linux-aarch64.so.1', interpReal: '/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', triplet: 'aarch64-linux-gnu' },
  armhf: { arch: 'armhf', bits: 32, interp: '/lib/ld-linux-armhf.so.3', interpReal: '/lib/arm-linux-gnueabihf/ld-linux-armhf.so.3', triplet: 'arm-linux-gnueabihf' },
  i386: { arch: 'i386', bits: 32, interp: '/lib/ld-linux.so.2', interpReal: '/lib/i386-linux-gnu/ld-linux.so.2', triplet: 'i386-linux-gnu' },
  amd64: { arch: 'x86_64', bits: 64, interp: '/lib64/ld-linux-x86-64.so.2', interpReal: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', triplet: 'x86_64-linux-gnu' },
};

describe('foreign arches, from Debian packages', () => {
  const roots = {} as Record<DebArch, string>;
  // Downloads from the Debian mirror on the first run (cached in test/.cache/foreign).
  // A download failure fails these tests on purpose: see test/helpers/foreign-debs.ts.
  beforeAll(async () => {
    for (const a of Object.keys(FOREIGN) as DebArch[]) roots[a] = await foreignSysroot(a);
  });

  for (const [deb, x] of Object.entries(FOREIGN) as [DebArch, (typeof FOREIGN)[DebArch]][]) {
    it(`${deb}: bash needs exactly its loader, libtinfo and libc`, () => {
      const root = roots[deb];
      const elf = readElf(join(root, 'bin/bash'))!;
      expect(elf).toMatchObject({ arch: x.arch, bits: x.bits, interp: x.interp, static: false });
      // arm64 and armhf bash also name the loader itself (reused through its soname).
      expect(elf.needed.filter((n) => !n.startsWith('ld-'))).toEqual(['libtinfo.so.6', 'libc.so.6']);
      if (deb === 'armhf') expect(elf.armFloat).toBe('hard');

      const c = resolveClosure(['/bin/bash'], { root });
      expect(c.missing).toEqual([]);
      const lib = `/lib/${x.triplet}`;
      expect(c.objects).toEqual(['/bin/bash', x.interp, `${lib}/libtinfo.so.6`, `${lib}/libc.so.6`]);
      expect(c.realObjects).toEqual(['/bin/bash', x.interpReal, `${lib}/libtinfo.so.6.4`, `${lib}/libc.so.6`]);
      const ld = readElf(join(root, x.interpReal))!;
      expect(ld).toMatchObject({ arch: x.arch, bits: x.bits, type: 'dyn' });
    });

    it(`${deb}: rsync's closure is complete`, () => {
      const c = resolveClosure(['/usr/bin/rsync'], { root: roots[deb] });
      expect(c.missing).toEqual([]);
      const names = c.objects.map((p) => posix.basename(p)).sort();
      expect(names).toEqual(
        ['rsync', posix.basename(x.interp), 'libacl.so.1', 'libpopt.so.0', 'liblz4.so.1', 'libzstd.so.1', 'libxxhash.so.0', 'libcrypto.so.3', 'libz.so.1', 'libc.so.6'].sort(),
      );
    });
  }

  it('skips a library of the wrong class or machine found earlier in the search path', () => {
    // An aarch64 sysroot whose ld.so.conf lists, before the right directory, one holding
    // amd64's libtinfo (64-bit, other machine) and one holding armhf's (32-bit).
    const root = join(scratch, 'wrong-arch');
    cpSync(join(roots.arm64, 'lib'), join(root, 'lib'), { recursive: true, verbatimSymlinks: true });
    cpSync(join(roots.arm64, 'bin/bash'), join(root, 'bin/bash'));
    mkdirSync(join(root, 'opt/w64'), { recursive: true });
    mkdirSync(join(root, 'opt/w32'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    cpSync(join(roots.amd64, 'lib/x86_64-linux-gnu/libtinfo.so.6.4'), join(root, 'opt/w64/libtinfo.so.6'));
    cpSync(join(roots.armhf, 'lib/arm-linux-gnueabihf/libtinfo.so.6.4'), join(root, 'opt/w32/libtinfo.so.6'));
    writeFileSync(join(root, 'etc/ld.so.conf'), '# wrong arches first\n/opt/w64\n/opt/w32\n/lib/aarch64-linux-gnu\n');

    const c = resolveClosure(['/bin/bash'], { root });
    expect(c.missing).toEqual([]);
    expect(c.objects).toContain('/lib/aarch64-linux-gnu/libtinfo.so.6');
    expect(c.objects.filter((p) => p.startsWith('/opt'))).toEqual([]);
  });
});

describe('hostEntriesFor on this host (usr-merged Debian 12)', () => {
  const brief = (es: HostEntry[]) => es.map((e) => [e.path, e.kind, e.target].filter((v) => v !== undefined).join(' '));

  /** Every entry's parent is `/` or a directory listed before it, and stats match lstat. */
  function checkOrderAndStats(es: HostEntry[]) {
    const seen = new Set<string>(['/']);
    for (const e of es) {
      expect(seen.has(posix.dirname(e.path)), `${e.path} comes before its parent`).toBe(true);
      if (e.kind === 'dir') seen.add(e.path);
      const st = lstatSync(e.path);
      expect(e).toMatchObject({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size });
    }
    expect(new Set(es.map((e) => e.path)).size).toBe(es.length);
  }

  it('follows the whole chain to the x86_64 loader', () => {
    const es = hostEntriesFor(['/lib64/ld-linux-x86-64.so.2']);
    expect(brief(es)).toEqual([
      '/lib64 symlink usr/lib64',
      '/usr dir',
      '/usr/lib64 dir',
      '/usr/lib64/ld-linux-x86-64.so.2 symlink /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
      '/lib symlink usr/lib',
      '/usr/lib dir',
      '/usr/lib/x86_64-linux-gnu dir',
      '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 file',
    ]);
    checkOrderAndStats(es);
  });

  it('goes through /bin -> usr/bin, and deduplicates across paths', () => {
    const es = hostEntriesFor(['/bin/bash', '/usr/bin/bash', '/lib/x86_64-linux-gnu/libc.so.6']);
    expect(brief(es)).toEqual(['/bin symlink usr/bin', '/usr dir', '/usr/bin dir', '/usr/bin/bash file', '/lib symlink usr/lib', '/usr/lib dir', '/usr/lib/x86_64-linux-gnu dir', '/usr/lib/x86_64-linux-gnu/libc.so.6 file']);
    checkOrderAndStats(es);
  });

  it('stays inside a root, survives symlink loops, and names what does not resolve', () => {
    const root = join(scratch, 'links');
    mkdirSync(join(root, 'real'), { recursive: true });
    writeFileSync(join(root, 'real/f'), 'x');
    symlinkSync('/real', join(root, 'abs')); // absolute: must mean <root>/real, not the host's /real
    symlinkSync('../real/f', join(root, 'real/up'));
    symlinkSync('loop2', join(root, 'loop1'));
    symlinkSync('loop1', join(root, 'loop2'));
    expect(brief(hostEntriesFor(['/abs/up'], { root }))).toEqual(['/abs symlink /real', '/real dir', '/real/up symlink ../real/f', '/real/f file']);
    expect(() => hostEntriesFor(['/loop1'], { root })).toThrow(/loop1 does not resolve/);
    expect(() => hostEntriesFor(['/nope'], { root })).toThrow(/nope does not resolve/);
  });
});

describe('readElf edge cases', () => {
  it('returns null for files that are not ELF', () => {
    writeFileSync(join(scratch, 'text'), '#!/bin/sh\necho hi\n');
    writeFileSync(join(scratch, 'empty'), '');
    writeFileSync(join(scratch, 'magic-only'), '\x7fEL');
    expect(readElf(join(scratch, 'text'))).toBeNull();
    expect(readElf(join(scratch, 'empty'))).toBeNull();
    expect(readElf(join(scratch, 'magic-only'))).toBeNull();
  });

  it('explains a truncated ELF file instead of crashing', () => {
    const bash = readFileSync('/usr/bin/bash');
    for (const len of [20, 64, 300, 4096]) {
      writeFileSync(join(scratch, 'cut'), bash.subarray(0, len));
      expect(() => readElf(join(scratch, 'cut'))).toThrow(ElfFormatError);
      expect(() => readElf(join(scratch, 'cut'))).toThrow(/truncated ELF file .*cut short/);
    }
  });

  it('throws the I/O error for a missing file or a directory', () => {
    expect(() => readElf(join(scratch, 'does-not-exist'))).toThrow(/ENOENT/);
    expect(() => readElf(scratch)).toThrow(/EISDIR/);
  });

  it('reads 32-bit big-endian and 64-bit little-endian files alike', () => {
    const fields = { interp: '/lib/ld.so.1', needed: ['libc.so.6', 'libm.so.6'], soname: 'libx.so.1', rpath: '/a:/b', runpath: '$ORIGIN/../lib' };
    writeFileSync(join(scratch, 'be32'), makeElf({ ...fields, bits: 32, le: false, machine: 8 /* MIPS */ }));
    writeFileSync(join(scratch, 'le64'), makeElf({ ...fields, bits: 64, le: true, machine: 183 }));
    const common = { interp: '/lib/ld.so.1', needed: ['libc.so.6', 'libm.so.6'], soname: 'libx.so.1', rpath: ['/a', '/b'], runpath: ['$ORIGIN/../lib'], static: false, type: 'dyn' };
    expect(readElf(join(scratch, 'be32'))).toMatchObject({ ...common, bits: 32, arch: 'other:8', endian: 'big' });
    expect(readElf(join(scratch, 'le64'))).toMatchObject({ ...common, bits: 64, arch: 'aarch64', endian: 'little' });
    writeFileSync(join(scratch, 'static'), makeElf({ bits: 64, le: true, machine: 62, type: 2, dynamic: false }));
    expect(readElf(join(scratch, 'static'))).toMatchObject({ arch: 'x86_64', type: 'exec', static: true, needed: [] });
  });
});

describe('loader rules, on synthetic x86_64 ELF files', () => {
  const LIBDIR = '/usr/lib/x86_64-linux-gnu';
  const sysroot = (name: string, files: Record<string, Buffer | string>): string => writeTree(join(scratch, name), files);
  const loader = { '/lib64/ld.so': x64({ soname: 'ld.so' }) };

  it('DT_RPATH (with $ORIGIN) is inherited by libraries without DT_RUNPATH', () => {
    const root = sysroot('rpath', {
      ...loader,
      '/opt/app/bin/app': x64({ interp: '/lib64/ld.so', needed: ['liba.so'], rpath: '$ORIGIN/../lib' }),
      '/opt/app/lib/liba.so': x64({ needed: ['libb.so', 'ld.so'] }),
      '/opt/app/lib/libb.so': x64({}),
      [`${LIBDIR}/libb.so`]: x64({}),
      '/usr/bin/app': '/opt/app/bin/app', // $ORIGIN is the executable's real directory
    });
    const c = resolveClosure(['/usr/bin/app'], { root });
    expect(c).toEqual({
      objects: ['/usr/bin/app', '/lib64/ld.so', '/opt/app/bin/../lib/liba.so', '/opt/app/bin/../lib/libb.so'],
      realObjects: ['/opt/app/bin/app', '/lib64/ld.so', '/opt/app/lib/liba.so', '/opt/app/lib/libb.so'],
      missing: [],
    });
  });

  it('DT_RUNPATH applies to the object itself only, and hides its own DT_RPATH', () => {
    const root = sysroot('runpath', {
      ...loader,
      '/opt/app/app': x64({ interp: '/lib64/ld.so', needed: ['liba.so', 'libc.so'], runpath: '/opt/app/lib', rpath: '/opt/rp' }),
      '/opt/app/lib/liba.so': x64({ needed: ['libb.so'] }),
      '/opt/app/lib/libb.so': x64({}),
      '/opt/rp/libc.so': x64({}),
      [`${LIBDIR}/libb.so`]: x64({}),
      [`${LIBDIR}/libc.so`]: x64({}),
    });
    const c = resolveClosure(['/opt/app/app'], { root });
    expect(c.objects).toEqual(['/opt/app/app', '/lib64/ld.so', '/opt/app/lib/liba.so', `${LIBDIR}/libc.so`, `${LIBDIR}/libb.so`]);
  });

  it('reuses a loaded object by soname, reports what is missing and by whom', () => {
    const root = sysroot('soname', {
      ...loader,
      '/usr/bin/app': x64({ interp: '/lib64/ld.so', needed: ['libx.so', 'liby.so'] }),
      [`${LIBDIR}/libx.so`]: x64({ soname: 'libx.so.1' }),
      [`${LIBDIR}/libx.so.1`]: x64({ soname: 'libx.so.1' }), // another file: never opened
      [`${LIBDIR}/liby.so`]: x64({ needed: ['libx.so.1', 'libgone.so.3'] }),
    });
    const c = resolveClosure(['/usr/bin/app', '/usr/bin/nothere'], { root });
    expect(c.objects).toEqual(['/usr/bin/app', '/lib64/ld.so', `${LIBDIR}/libx.so`, `${LIBDIR}/liby.so`]);
    expect(c.missing).toEqual([
      { name: 'libgone.so.3', neededBy: `${LIBDIR}/liby.so` },
      { name: '/usr/bin/nothere', neededBy: '' },
    ]);
  });

  it('follows ld.so.conf includes (relative and globbed) in order, ignoring comments and hwcap', () => {
    const root = sysroot('conf', {
      ...loader,
      '/usr/bin/app': x64({ interp: '/lib64/ld.so', needed: ['libq.so'] }),
      '/opt/second/libq.so': x64({}),
      '/opt/first/libq.so': x64({}),
      [`${LIBDIR}/libq.so`]: x64({}),
    });
    mkdirSync(join(root, 'etc/ld.so.conf.d'), { recursive: true });
    writeFileSync(join(root, 'etc/ld.so.conf'), 'hwcap 0 nosegneg\ninclude ld.so.conf.d/*.conf # relative to /etc\n/opt/second\n');
    writeFileSync(join(root, 'etc/ld.so.conf.d/b.conf'), '/opt/second\n');
    writeFileSync(join(root, 'etc/ld.so.conf.d/a.conf'), '# first, sorted by name\n/opt/first\n');
    expect(resolveClosure(['/usr/bin/app'], { root }).objects).toContain('/opt/first/libq.so');
  });

  it('musl: libc is the loader itself, the path is /etc/ld-musl-ARCH.path, no ld.so.conf or multiarch dirs', () => {
    const musl = '/lib/ld-musl-x86_64.so.1';
    const root = sysroot('musl', {
      [musl]: x64({ soname: 'libc.musl-x86_64.so.1' }),
      '/lib/libc.musl-x86_64.so.1': 'ld-musl-x86_64.so.1',
      '/usr/bin/app': x64({ interp: musl, needed: ['libq.so.1', 'libc.musl-x86_64.so.1', 'libm.so.6'] }),
      '/usr/local/lib/libq.so.1': x64({ needed: ['libr.so.2'] }),
      '/usr/lib/libq.so.1': x64({}), // later in musl's default path
      '/usr/lib/libr.so.2': x64({}),
      [`${LIBDIR}/libq.so.1`]: x64({}), // glibc's multiarch dir: musl never looks there
    });
    writeTree(root, { '/etc/ld.so.conf': Buffer.from('/opt/glibc-only\n'), '/opt/glibc-only/libr.so.2': x64({}) });
    const c = resolveClosure(['/usr/bin/app'], { root });
    expect(c).toEqual({ objects: ['/usr/bin/app', musl, '/usr/local/lib/libq.so.1', '/usr/lib/libr.so.2'], realObjects: ['/usr/bin/app', musl, '/usr/local/lib/libq.so.1', '/usr/lib/libr.so.2'], missing: [] });

    // With a path file, only its dirs count (':' and newlines both separate).
    writeTree(root, { '/etc/ld-musl-x86_64.path': Buffer.from('/opt/one:/usr/lib\n/opt/two\n'), '/opt/two/libq.so.1': x64({}) });
    expect(resolveClosure(['/usr/bin/app'], { root }).objects).toEqual(['/usr/bin/app', musl, '/usr/lib/libq.so.1']);
  });

  it('musl: an rpath is searched up the chain of loaders, DT_RUNPATH included', () => {
    const musl = '/lib/ld-musl-aarch64.so.1';
    const a64 = (o: Parameters<typeof x64>[0]) => makeElf({ bits: 64, le: true, machine: 183, ...o });
    const root = sysroot('musl-rpath', {
      [musl]: a64({}),
      '/opt/app/bin/app': a64({ interp: musl, needed: ['liba.so'], runpath: '$ORIGIN/../lib' }),
      '/opt/app/lib/liba.so': a64({ needed: ['libb.so'] }), // no rpath of its own: the app's applies (unlike glibc's RUNPATH)
      '/opt/app/lib/libb.so': a64({}),
      '/usr/lib/libb.so': a64({}),
    });
    expect(resolveClosure(['/opt/app/bin/app'], { root }).realObjects).toEqual(['/opt/app/bin/app', musl, '/opt/app/lib/liba.so', '/opt/app/lib/libb.so']);
  });
});
