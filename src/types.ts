// The vocabulary shared by the planner, the executor and the commands.

export const TOOLS = ['bash', 'rsync', 'scp', 'sftp'] as const;
export type Tool = (typeof TOOLS)[number];

export const ARCHES = ['x86_64', 'aarch64', 'armhf', 'i386'] as const;
export type Arch = (typeof ARCHES)[number];

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
}
