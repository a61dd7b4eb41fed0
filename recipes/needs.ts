// What a jail needs, derived from the recipes and the answers alone: the binaries each chosen
// tool brings, whether a shell must be there, what a shared jail holds for all its users, and
// the files of the runtime extras. Pure: the host's fact gathering and the planner both use it.
import { EXTRAS, usesGate, type Answers, type BindMount, type Extra, type Tool } from '../src/model/types.ts';
import { RECIPES, SFTP_SUBSYSTEM, shell as SHELL_RECIPE, TOOLS } from './index.ts';

export interface BinaryGroup {
  /** A tool, the minimal shell, extra commands, or the runtime extras (locale, terminfo, nss). */
  name: Tool | 'shell' | 'extra' | 'runtime';
  title: string;
  binaries: string[];
}

export function needsShell(tools: readonly Tool[]): boolean {
  return tools.some((t) => RECIPES[t].needsShell);
}

/**
 * Which host binaries each chosen tool puts in the jail, in recipe order. The sftp-server is
 * the external Subsystem's; a user behind the gate needs one even when the Subsystem is
 * internal-sftp (sshd hands the gate the request), so then it is `gatedSftpServer`.
 */
export function toolBinaries(tools: readonly Tool[], sftpSubsystem: string | undefined, gatedSftpServer?: string): BinaryGroup[] {
  const shell = needsShell(tools);
  const sftpServer = sftpSubsystem ?? (usesGate({ tools }) ? gatedSftpServer : undefined);
  const groups: BinaryGroup[] = [];
  if (shell && !tools.includes('bash')) {
    groups.push({ name: 'shell', title: SHELL_RECIPE.summary, binaries: SHELL_RECIPE.binaries });
  }
  for (const t of TOOLS) {
    if (!tools.includes(t)) continue;
    // sftp without any shell is internal-sftp: no binaries at all.
    if (RECIPES[t]!.matchWithoutShell && !shell) continue;
    const bins = RECIPES[t].binaries.flatMap((b) => (b === SFTP_SUBSYSTEM ? (sftpServer ? [sftpServer] : []) : [b]));
    if (bins.length > 0) groups.push({ name: t, title: RECIPES[t].summary, binaries: bins });
  }
  return groups;
}

/** What a jail holds for all its users: the union of every sharer's answers (one user's answers for a per-user jail). */
export interface JailWide {
  tools: Tool[];
  extraBinaries: string[];
  extras: Extra[];
  binds: BindMount[];
  log: boolean;
  allowSetuid: boolean;
}

export function jailWide(a: Answers, sharers: Answers[] = []): JailWide {
  const all = [a, ...sharers];
  const binds = new Map<string, BindMount>();
  for (const x of all) for (const b of x.binds ?? []) if (!binds.has(b.target)) binds.set(b.target, b);
  return {
    tools: TOOLS.filter((t) => all.some((x) => x.tools.includes(t))),
    extraBinaries: [...new Set(all.flatMap((x) => x.extraBinaries ?? []))],
    extras: EXTRAS.filter((e) => all.some((x) => x.extras?.includes(e))),
    binds: [...binds.values()].sort((x, y) => x.target.localeCompare(y.target)),
    log: all.some((x) => x.log === true),
    allowSetuid: all.some((x) => x.allowSetuid === true),
  };
}

export const TERMINFO_NAMES = ['xterm', 'xterm-256color', 'xterm-color', 'screen', 'screen-256color', 'tmux', 'tmux-256color'];

export const TERMINFO_DIRS = ['/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo'];

export const LOCALE_DIR = '/usr/lib/locale/C.utf8';

export const NSS_FILES_LIBS = ['/lib/x86_64-linux-gnu/libnss_files.so.2', '/lib/aarch64-linux-gnu/libnss_files.so.2', '/lib/arm-linux-gnueabihf/libnss_files.so.2', '/lib/i386-linux-gnu/libnss_files.so.2', '/lib64/libnss_files.so.2'];
