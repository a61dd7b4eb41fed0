// Extra commands (answers.extraBinaries): which host file a name or path means, and whether
// jailwizard may copy it into a jail at all. Read-only: nothing here writes.
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { readElf } from './elf.ts';
import { inside } from '../model/paths.ts';
import { ENTRY_POINTS } from '../../recipes/extra-commands.ts';

const PATH_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Host files no jail may hold, whatever they are: host keys, password hashes, kernel views, jailwizard's own state. */
const NEVER_COPIED: { tree: string; what: string }[] = [
  { tree: '/etc/ssh', what: "sshd's host keys and config" },
  { tree: '/etc/shadow', what: 'the password hashes' },
  { tree: '/etc/shadow-', what: 'the password hashes' },
  { tree: '/etc/gshadow', what: 'the group password hashes' },
  { tree: '/etc/gshadow-', what: 'the group password hashes' },
  { tree: '/proc', what: "the kernel's view of processes" },
  { tree: '/sys', what: "the kernel's view of devices" },
];

export interface ExtraBinary {
  asked: string;
  path?: string;
  /** The file itself, symlinks resolved (/bin/su is /usr/bin/su on merged-/usr hosts): what is copied. */
  real?: string;
  setid: boolean;
  /** An ELF executable (not a script, a library or data). */
  elf: boolean;
  /** Why jailwizard refuses to copy it, whatever it is (host keys, shadow, /proc, /sys, the state dir). */
  forbidden?: string;
  /** It exists but is not a regular file with an execute bit. */
  notExecutable?: boolean;
}

/**
 * Every path the name passes through on the way to the file: the path itself and each symlink
 * target, made absolute. `/usr/local/bin/x -> /proc/self/exe` ends in /usr/bin/node, so the
 * real path alone would not show that it went through /proc.
 */
export function symlinkHops(p: string): string[] {
  const hops = [path.resolve(p)];
  for (let i = 0; i < 40; i++) {
    const cur = hops[hops.length - 1]!;
    let next: string;
    try {
      if (!lstatSync(cur).isSymbolicLink()) break;
      next = readlinkSync(cur);
    } catch {
      break; // missing, or unreadable (/proc/1/exe in a container): the hops so far are checked
    }
    hops.push(path.resolve(path.dirname(cur), next));
  }
  return hops;
}

/** Why no jail may hold a file reached through these paths (each hop and the real path), or undefined. */
export function forbiddenSource(hops: string[], stateDir: string | undefined): string | undefined {
  const trees = [...NEVER_COPIED, ...(stateDir ? [{ tree: path.resolve(stateDir), what: "jailwizard's state" }] : [])];
  for (const h of hops) {
    const hit = trees.find((n) => inside(h, n.tree));
    if (!hit) continue;
    const where = h === hit.tree ? `is ${h}` : `is under ${hit.tree}`;
    return `${h === hops[0] ? '' : `leads to ${h}, which `}${where} (${hit.what})`;
  }
  return undefined;
}

/** ELF that runs as a program: an executable, or a position-independent one (an interpreter, or no soname as static-pie has). */
function isElfExecutable(p: string): boolean {
  try {
    const e = readElf(p);
    if (!e) return false;
    return e.type === 'exec' || (e.type === 'dyn' && (e.interp !== undefined || e.soname === undefined));
  } catch {
    return false;
  }
}

/** An extra binary by name or path, as the host has it. */
export function resolveExtra(asked: string, stateDir?: string): ExtraBinary {
  const p = asked.startsWith('/') ? asked : PATH_DIRS.map((d) => path.join(d, asked)).find((c) => existsSync(c));
  if (!p) return { asked, setid: false, elf: false };
  const hops = symlinkHops(p);
  let real: string | undefined;
  try {
    real = realpathSync(p);
  } catch {
    real = undefined;
  }
  const forbidden = forbiddenSource(real ? [...hops, real] : hops, stateDir);
  if (forbidden) return { asked, path: p, real, setid: false, elf: false, forbidden };
  if (!real) return { asked, setid: false, elf: false };
  // Only a regular file is opened: a FIFO would block the open, a device is no program.
  const st = statSync(real);
  if (!st.isFile() || (st.mode & 0o111) === 0) return { asked, path: p, real, setid: false, elf: false, notExecutable: true };
  return { asked, path: p, real, setid: (st.mode & 0o6000) !== 0, elf: isElfExecutable(real) };
}

/** The other entry points of a program that come along with it (git-upload-pack… for git), where the host has them beside it. */
export function entryPointsOf(x: ExtraBinary): string[] {
  if (!x.path || !x.elf) return [];
  const names = ENTRY_POINTS[path.basename(x.path)]?.names ?? [];
  return names.map((n) => path.join(path.dirname(x.path!), n)).filter((p) => existsSync(p));
}
