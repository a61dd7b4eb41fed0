// A recipe is everything jailwizard knows about one tool, as data: what it needs inside the
// jail and in sshd's Match block and why, which package brings it, how the connection test
// proves it, how its users connect, and how doctor recognises it in a jail it did not make.
// The planner, the connection test (src/workflows/verify.ts), the connect hints and doctor interpret it.

/** A tool's name, as in answers files and records (bash, rsync, scp, sftp, or a registered one). */
export type Tool = string;

export type PackageManager = 'apt-get' | 'dnf' | 'pacman' | 'apk';

export interface Recipe {
  name: string;
  /** One line for the wizard's tool list. */
  summary: string;
  /** Why the recipe does what it does, in words the admin is shown in the preview. */
  why: string[];
  /** What `why` says instead when bash is the login shell too (a reason about the small shell no longer holds). */
  whyWithBash?: string[];
  /** Host binaries copied into the jail at the same path, with their ELF closure. */
  binaries: string[];
  /** The tool runs through the user's login shell (`sh -c 'rsync --server …'`). */
  needsShell: boolean;
  /** Lines for sshd's `Match User` block whenever this recipe is in the jail. */
  match?: Record<string, string>;
  /** Lines for sshd's `Match User` block when no chosen tool needs a shell. */
  matchWithoutShell?: Record<string, string>;
  /** Distro package that provides the binaries, by package manager. */
  packages?: Partial<Record<PackageManager, string>>;
  /** How the connection test proves the tool works and cannot be used to escape. */
  probes?: ProbeSpec[];
  /** The commands the tool's users type to connect (see ConnectHint). */
  connect?: ConnectHint[];
  /** How doctor tells that a jail it did not make grants this tool. */
  detect?: ToolDetection;
}

// ---- probes ----

/** The real client a probe runs. */
export type ProbeClient = 'ssh' | 'sftp' | 'scp' | 'rsync';

/**
 * What a probe does and what it expects; src/workflows/verify.ts knows how to do each with each client.
 * - round-trip: upload a random payload, download it again: the bytes must be equal.
 * - jail-listing: change to `path` and list it: the names must be the jail's top level
 *   (so `/..` proves the session cannot leave the jail).
 * - read-refused: read `path` (e.g. /etc/shadow): the server must refuse, nothing may arrive.
 * - write-refused: create a file at each of the paths the user must never write (the jail
 *   root, /etc/, /bin/, the user's authorized_keys): refused, and the host file unchanged.
 * - no-shell: `echo hi` must not run.
 * - runs: over ssh, the command at `path` with `args` must start in the jail: found,
 *   executable, its libraries loaded (through the login shell, or behind jailwizard's gate).
 */
export type ProbeExpect = 'round-trip' | 'jail-listing' | 'read-refused' | 'write-refused' | 'no-shell' | 'runs';

/** When a probe applies; every condition given must hold. */
export interface ProbeCondition {
  /** The jail is (or is not) read-only (internal-sftp -R). */
  readOnly?: boolean;
  /** This tool is the user's only one. */
  onlyTool?: boolean;
}

export interface ProbeSpec {
  /**
   * The label printed for the probe. For write-refused, `{path}` becomes each forbidden
   * path's label ("the jail root", "/etc/", …).
   */
  name: string;
  /**
   * Where in the run the probe goes (ascending; equal values keep the tools' order):
   * 100-199 the tools work, 200-299 the options, 300-399 escapes, 400 the forbidden
   * writes, 500 the source refusal. verify's PROBE_ORDER names the slots.
   */
  order: number;
  when?: ProbeCondition;
  client: ProbeClient;
  /** Extra client arguments (['-O'] for scp's legacy protocol), or the arguments of a `runs` command. */
  args?: string[];
  /** The jail path the probe works on (jail-listing, read-refused), or the command a `runs` probe starts. */
  path?: string;
  expect: ProbeExpect;
}

// ---- connect hints ----

/**
 * One command a user types to connect. In `template`, `%dest` is user@host (an IPv6 host in
 * brackets, as sftp, scp and rsync want it), `%sshdest` is user@host as ssh wants it, `%port`
 * the port, and `{…}` is kept only when the port is not 22: `sftp{ -P %port} %dest`.
 * Hints print in ascending `order`; the same command from two tools prints once.
 */
export interface ConnectHint {
  order: number;
  template: string;
}

// ---- doctor ----

/** Signs that a jail jailwizard did not make grants the tool (any one is enough). */
export interface ToolDetection {
  /** The user's login shell has this name and is present in the jail. */
  loginShell?: string;
  /** The jail holds this binary. */
  inJail?: string;
  /** Sessions reach sshd's sftp subsystem: internal-sftp, or the external server copied into the jail. */
  sftpSubsystem?: boolean;
  /** A ForceCommand starting with this means this tool and no other. */
  forceCommand?: string;
}
