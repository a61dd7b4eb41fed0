// The vocabulary shared by the planner, the executor and the commands.

import type { Tool } from './recipe.ts';

/** A tool's name; the registered ones are recipes/index.ts's TOOLS. */
export type { Tool };

export const ARCHES = ['x86_64', 'aarch64', 'armhf', 'i386'] as const;
export type Arch = (typeof ARCHES)[number];

/** Runtime pieces that ELF headers cannot reveal, added by name (what jk_cp's ini sections do). */
export const EXTRAS = ['locale', 'terminfo', 'profile', 'tmp', 'nss'] as const;
export type Extra = (typeof EXTRAS)[number];

/** A host directory shown inside the jail. The host data itself is never changed by jailwizard. */
export interface BindMount {
  /** Host directory, e.g. /srv/web/example.com. */
  source: string;
  /** Path inside the jail, e.g. /web. */
  target: string;
  readOnly: boolean;
}

/** What the admin asked for: the answers file, or the wizard's answers. */
export interface Answers {
  user: string;
  tools: Tool[];
  jail: string;
  arch: Arch | 'auto';
  authorizedKeys: string[];
  createUser: boolean;
  group?: string;
  installMissing: boolean;
  // ---- options; each absent key means the default, so older files and records still read the same.
  /** Several users share this jail, each with /home/<user> inside. */
  shared?: boolean;
  /** The one dir (inside the jail) the user owns; default the home. */
  writable?: string;
  /** sftp-only: internal-sftp -R. */
  readOnly?: boolean;
  /** sftp-only: internal-sftp -u, e.g. "0027". */
  umask?: string;
  /** sftp-only: internal-sftp -d, the dir a session starts in. */
  startDir?: string;
  /** A setgid, group-writable dir inside the jail for `group`'s members. */
  groupDir?: string;
  binds?: BindMount[];
  /** sftp-only: internal-sftp logs (-l INFO -f AUTH) through /dev/log inside the jail. */
  log?: boolean;
  /** Source addresses or networks the user may log in from (Match … Address and from=). */
  allowFrom?: string[];
  /** More host binaries (path or name), copied with their ELF closure. */
  extraBinaries?: string[];
  extras?: Extra[];
  /** Copy setuid/setgid extra binaries with their bit; refused otherwise. */
  allowSetuid?: boolean;
  /** Privileged groups (sudo, adm, shadow, disk…) an adopted user may stay in; refused otherwise. */
  allowPrivilegedGroups?: string[];
  /**
   * The dirs the user can write are bind-mounted onto themselves noexec,nosuid,nodev, so nothing
   * uploaded runs. Default: on for a user without bash who has rsync or scp (the gate's users).
   */
  noexec?: boolean;
}

/** True when the user's sessions are internal-sftp (sftp is the only tool). */
export function isSftpOnly(a: Pick<Answers, 'tools'>): boolean {
  return a.tools.length === 1 && a.tools[0] === 'sftp';
}

/** A user with rsync or scp but no bash: sshd runs the gate (ForceCommand), which runs only their tools. */
export function usesGate(a: { tools: readonly Tool[] }): boolean {
  return !a.tools.includes('bash') && a.tools.some((t) => t === 'rsync' || t === 'scp');
}

/** Whether the user's writable dirs are mounted noexec: as asked, else for the gate's users. */
export function wantsNoexec(a: { tools: readonly Tool[]; noexec?: boolean }): boolean {
  return a.noexec ?? usesGate(a);
}

/** What one gated user may run, as paths inside the jail. */
export interface GateGrant {
  rsync?: string;
  scp?: string;
  /** The sftp-server binary that serves sftp and scp's SFTP mode. */
  sftp?: string;
  /** The sftp Subsystem command sshd passes on (a path, or internal-sftp). */
  sftpSubsystem?: string;
  /** The dir that holds git-upload-pack and git-receive-pack. */
  git?: string;
  /** Other extra commands, run with the user's arguments. */
  commands: string[];
}
