// Reads just enough of an ELF file to know what the loader will do with it: its class,
// byte order, machine, interpreter and dynamic section. We never run the binary (ldd can
// execute the binary's own code), and this works for other arches' binaries too.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Arch } from '../model/types.ts';

export interface ElfInfo {
  bits: 32 | 64;
  arch: Arch | `other:${number}`;
  type: 'exec' | 'dyn' | 'other';
  interp?: string;
  needed: string[];
  soname?: string;
  rpath: string[];
  runpath: string[];
  /** No PT_DYNAMIC: nothing to load. */
  static: boolean;
  /** Raw e_machine and byte order: the loader only accepts objects that match the executable. */
  machine: number;
  endian: 'little' | 'big';
  /** EM_ARM only: the float ABI from e_flags, when the file declares one. */
  armFloat?: 'hard' | 'soft';
}

const ARCH_BY_MACHINE: Record<number, Arch> = { 62: 'x86_64', 183: 'aarch64', 40: 'armhf', 3: 'i386' };

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;
const EF_ARM_ABI_FLOAT_SOFT = 0x200;
const EF_ARM_ABI_FLOAT_HARD = 0x400;
const PN_XNUM = 0xffff;
// Sanity limits so that a corrupt header cannot make us allocate gigabytes.
const MAX_TABLE = 16 << 20;

/** Thrown for a file that starts like ELF but whose headers point outside the file. */
export class ElfFormatError extends Error {
  constructor(path: string, what: string) {
    super(`${path}: malformed or truncated ELF file (${what})`);
    this.name = 'ElfFormatError';
  }
}

interface Segment {
  type: number;
  offset: number;
  vaddr: number;
  filesz: number;
}

/**
 * Parses the ELF headers of `path`. Returns null when the file is not ELF (too short for
 * the magic, or a different magic). Throws ElfFormatError for a truncated or corrupt ELF
 * file, and the usual fs errors (ENOENT, EACCES, EISDIR…) for I/O problems.
 */
export function readElf(path: string): ElfInfo | null {
  const fd = openSync(path, 'r');
  try {
    return parse(path, fd);
  } finally {
    closeSync(fd);
  }
}

function parse(path: string, fd: number): ElfInfo | null {
  const ident = readAt(fd, 0, 64);
  if (ident.length < 16 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) return null;
  const cls = ident[4];
  const data = ident[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) throw new ElfFormatError(path, `unknown class ${cls} or data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  const ehsize = is64 ? 64 : 52;
  if (ident.length < ehsize) throw new ElfFormatError(path, 'file header cut short');

  // Field readers for this file's class and byte order. 64-bit offsets are read as
  // Number: exact below 2^53, which is far beyond any real file.
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const word = is64 ? u64 : u32;
  const wsize = is64 ? 8 : 4;

  const h = ident;
  const eType = u16(h, 16);
  const machine = u16(h, 18);
  const phoff = word(h, is64 ? 32 : 28);
  const shoff = word(h, is64 ? 40 : 32);
  const flags = u32(h, is64 ? 48 : 36);
  const phentsize = u16(h, is64 ? 54 : 42);
  let phnum = u16(h, is64 ? 56 : 44);
  const shentsize = u16(h, is64 ? 58 : 46);

  // More than 0xfffe program headers: the real count is in section header 0's sh_info.
  if (phnum === PN_XNUM) {
    const sh0 = readExact(fd, shoff, shentsize, path, 'section header 0');
    phnum = u32(sh0, is64 ? 44 : 28);
  }

  const info: ElfInfo = {
    bits: is64 ? 64 : 32,
    arch: ARCH_BY_MACHINE[machine] ?? `other:${machine}`,
    type: eType === 2 ? 'exec' : eType === 3 ? 'dyn' : 'other',
    needed: [],
    rpath: [],
    runpath: [],
    static: true,
    machine,
    endian: le ? 'little' : 'big',
  };
  if (machine === 40) {
    if (flags & EF_ARM_ABI_FLOAT_HARD) info.armFloat = 'hard';
    else if (flags & EF_ARM_ABI_FLOAT_SOFT) info.armFloat = 'soft';
  }
  if (phnum === 0) return info; // e.g. a relocatable object: nothing for the loader

  const minPhent = is64 ? 56 : 32;
  if (phentsize < minPhent) throw new ElfFormatError(path, `program header size ${phentsize}`);
  const phTable = readExact(fd, phoff, phentsize * phnum, path, 'program headers');
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize;
    segments.push(
      is64
        ? { type: u32(phTable, o), offset: u64(phTable, o + 8), vaddr: u64(phTable, o + 16), filesz: u64(phTable, o + 32) }
        : { type: u32(phTable, o), offset: u32(phTable, o + 4), vaddr: u32(phTable, o + 8), filesz: u32(phTable, o + 16) },
    );
  }

  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) info.interp = cString(readExact(fd, interp.offset, interp.filesz, path, 'PT_INTERP'), 0);

  const dyn = segments.find((s) => s.type === PT_DYNAMIC);
  if (!dyn) return info;
  info.static = false;

  const dynBuf = readExact(fd, dyn.offset, dyn.filesz, path, 'PT_DYNAMIC');
  const entries: { tag: number; val: number }[] = [];
  for (let o = 0; o + 2 * wsize <= dynBuf.length; o += 2 * wsize) {
    const tag = word(dynBuf, o);
    if (tag === DT_NULL) break;
    entries.push({ tag, val: word(dynBuf, o + wsize) });
  }
  const strtabAddr = entries.find((e) => e.tag === DT_STRTAB)?.val;
  const strsz = entries.find((e) => e.tag === DT_STRSZ)?.val;
  if (strtabAddr === undefined) return info; // no strings, so no names to load
  // DT_STRTAB is a virtual address: the PT_LOAD segment containing it gives the file offset.
  const load = segments.find((s) => s.type === PT_LOAD && strtabAddr >= s.vaddr && strtabAddr < s.vaddr + s.filesz);
  if (!load) throw new ElfFormatError(path, 'DT_STRTAB is not inside any PT_LOAD segment');
  const strOff = load.offset + (strtabAddr - load.vaddr);
  const strLen = Math.min(strsz ?? MAX_TABLE, load.vaddr + load.filesz - strtabAddr);
  const strtab = readExact(fd, strOff, strLen, path, 'dynamic string table');

  const str = (off: number) => {
    if (off >= strtab.length) throw new ElfFormatError(path, `string offset ${off} beyond the string table`);
    return cString(strtab, off);
  };
  const pathList = (s: string) => s.split(':').filter((d) => d !== '');
  for (const e of entries) {
    if (e.tag === DT_NEEDED) info.needed.push(str(e.val));
    else if (e.tag === DT_SONAME) info.soname = str(e.val);
    else if (e.tag === DT_RPATH) info.rpath.push(...pathList(str(e.val)));
    else if (e.tag === DT_RUNPATH) info.runpath.push(...pathList(str(e.val)));
  }
  return info;
}

/** Reads up to `len` bytes at `pos`; shorter at end of file. */
function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

/** Reads exactly `len` bytes at `pos`, or explains which table the file is too short for. */
function readExact(fd: number, pos: number, len: number, path: string, what: string): Buffer {
  if (len > MAX_TABLE || pos < 0 || len < 0) throw new ElfFormatError(path, `${what}: implausible size ${len} at offset ${pos}`);
  const buf = readAt(fd, pos, len);
  if (buf.length < len) throw new ElfFormatError(path, `${what} cut short: wanted ${len} bytes at offset ${pos}, file has ${buf.length}`);
  return buf;
}

function cString(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString('utf8', off, end === -1 ? buf.length : end);
}
