// The recipes, by name. Order matters: files shared by several recipes are credited to
// the first one that needs them.
import type { Tool } from '../src/types.ts';
import { base } from './base.ts';
import { bash } from './bash.ts';
import { rsync } from './rsync.ts';
import { scp } from './scp.ts';
import { sftp } from './sftp.ts';
import type { Recipe } from './types.ts';

export const RECIPES: Record<Tool, Recipe> = { bash, rsync, scp, sftp };
export { base };
export * from './types.ts';
export { DEVICE_NODES, MATCH_SHELL_WITHOUT_BASH, MINIMAL_SHELL, baseMatch } from './base.ts';
export { BASIC_COMMANDS } from './bash.ts';
