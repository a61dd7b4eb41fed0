// Small synthetic ELF files and sysroots made of them, for the loader rules and the
// layouts of systems this host cannot download (RHEL, Alpine): the resolver reads only
// headers, so these files are all it needs.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface ElfSpec {
  bits: 32 | 64;
  le: boolean;
  machine: number;
  type?: number;
  interp?: string;
  needed?: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  dynamic?: boolean;
}

/** A minimal ELF file: headers, one PT_LOAD over the whole file, PT_INTERP, PT_DYNAMIC and its strings. */
export function makeElf(s: ElfSpec): Buffer {
  const is64 = s.bits === 64;
  const W = is64 ? 8 : 4;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const base = 0x10000;
  const dynamic = s.dynamic ?? true;

  let strtab = '\0';
  const str = (v: string) => {
    const off = strtab.length;
    strtab += `${v}\0`;
    return off;
  };
  const dyn: [number, number][] = [];
  for (const n of s.needed ?? []) dyn.push([1, str(n)]);
  if (s.soname) dyn.push([14, str(s.soname)]);
  if (s.rpath) dyn.push([15, str(s.rpath)]);
  if (s.runpath) dyn.push([29, str(s.runpath)]);

  const phnum = 1 + (s.interp ? 1 : 0) + (dynamic ? 1 : 0);
  const interpOff = ehsize + phnum * phentsize;
  const interpLen = s.interp ? s.interp.length + 1 : 0;
  const strOff = interpOff + interpLen;
  const dynOff = Math.ceil((strOff + strtab.length) / 8) * 8;
  dyn.push([5, base + strOff], [10, strtab.length], [0, 0]);
  const size = dynOff + (dynamic ? dyn.length * 2 * W : 0);
  const b = Buffer.alloc(size);

  const u16 = (o: number, v: number) => (s.le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const u32 = (o: number, v: number) => (s.le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const word = (o: number, v: number) => (is64 ? (s.le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o)) : u32(o, v));

  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, s.le ? 1 : 2, 1]);
  u16(16, s.type ?? 3);
  u16(18, s.machine);
  u32(20, 1);
  word(is64 ? 32 : 28, ehsize); // e_phoff
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, phnum);

  let ph = ehsize;
  const phdr = (type: number, offset: number, filesz: number) => {
    u32(ph, type);
    if (is64) {
      word(ph + 8, offset);
      word(ph + 16, base + offset);
      word(ph + 32, filesz);
      word(ph + 40, filesz);
    } else {
      u32(ph + 4, offset);
      u32(ph + 8, base + offset);
      u32(ph + 16, filesz);
      u32(ph + 20, filesz);
    }
    ph += phentsize;
  };
  phdr(1, 0, size); // PT_LOAD
  if (s.interp) phdr(3, interpOff, interpLen);
  if (dynamic) phdr(2, dynOff, dyn.length * 2 * W);

  if (s.interp) b.write(s.interp, interpOff, 'latin1');
  b.write(strtab, strOff, 'latin1');
  if (dynamic) dyn.forEach(([tag, val], i) => (word(dynOff + i * 2 * W, tag), word(dynOff + i * 2 * W + W, val)));
  return b;
}

/** x86_64 (EM_X86_64), little-endian, 64-bit. */
export const x64 = (o: Omit<ElfSpec, 'bits' | 'le' | 'machine'> = {}): Buffer => makeElf({ bits: 64, le: true, machine: 62, ...o });

/**
 * Writes `files` under `root`: a Buffer is a file's content, a string is a symlink's target
 * (verbatim, so absolute targets point inside the root only for a resolver that treats the
 * root as `/`).
 */
export function writeTree(root: string, files: Record<string, Buffer | string>): string {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(root, posix.dirname(p)), { recursive: true });
    if (typeof content === 'string') symlinkSync(content, join(root, p));
    else writeFileSync(join(root, p), content);
  }
  return root;
}
