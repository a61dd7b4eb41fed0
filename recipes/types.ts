// A recipe says what one tool needs inside the jail and in sshd's Match block, and why.
// The planner reads recipes; it never hard-codes a tool. `why` is shown to the admin.
import type { Tool } from '../src/types.ts';

/** Placeholder in `binaries` for the path of sshd's external sftp Subsystem (a host fact). */
export const SFTP_SUBSYSTEM = '@sftp-subsystem';

export interface Recipe {
  name: 'base' | Tool;
  /** One line for the wizard's tool list. */
  summary: string;
  /** Why the recipe does what it does, in words the admin is shown in the preview. */
  why: string[];
  /** Host binaries copied into the jail at the same path, with their ELF closure. */
  binaries: string[];
  /** The tool runs through the user's login shell (`sh -c 'rsync --server …'`). */
  needsShell: boolean;
  /** Lines for sshd's `Match User` block when no chosen tool needs a shell. */
  matchWithoutShell?: Record<string, string>;
  /** Distro package that provides each binary, by package manager. */
  packages?: Partial<Record<'apt-get' | 'dnf' | 'pacman' | 'apk', string>>;
}
