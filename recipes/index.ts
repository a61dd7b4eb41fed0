// The recipes, by name. Order matters: files shared by several recipes are credited to
// the first one that needs them, and the wizard lists the tools in this order.
// Adding a tool: write recipes/<tool>.ts and register it below (README: "Adding a tool").
import { base } from './base.ts';
import { bash } from './bash.ts';
import { rsync } from './rsync.ts';
import { scp } from './scp.ts';
import { sftp } from './sftp.ts';
import { shell } from './shell.ts';
import type { Recipe, Tool } from './types.ts';

/** Every tool's recipe, by name, in registration order. */
export const RECIPES: Record<Tool, Recipe> = {};
/** The tools an answers file may name, in registration order (a live list: registerRecipe adds to it). */
export const TOOLS: Tool[] = [];

/** Makes a tool known to the planner, the connection test, the hints, doctor and the wizard. */
export function registerRecipe(r: Recipe): void {
  if (r.name === shell.name || r.name === base.name) throw new Error(`recipe name ${r.name} is reserved`);
  if (!RECIPES[r.name]) TOOLS.push(r.name);
  RECIPES[r.name] = r;
}

/** Forgets a registered tool (tests that register a throw-away recipe). */
export function unregisterRecipe(name: Tool): void {
  delete RECIPES[name];
  const i = TOOLS.indexOf(name);
  if (i >= 0) TOOLS.splice(i, 1);
}

for (const r of [bash, rsync, scp, sftp]) registerRecipe(r);

/** A tool's recipe, or the shell's (the login shell rsync and scp bring without bash). */
export function recipeFor(name: string): Recipe | undefined {
  return name === shell.name ? shell : RECIPES[name];
}

/** The recipes of the chosen tools, in registration order. */
export function chosenRecipes(tools: readonly Tool[]): Recipe[] {
  return TOOLS.filter((t) => tools.includes(t)).map((t) => RECIPES[t]!);
}

export { base, shell };
export * from './types.ts';
export { DEVICE_NODES, MATCH_SHELL_WITHOUT_BASH, MINIMAL_SHELL, baseMatch } from './base.ts';
export { BASIC_COMMANDS } from './bash.ts';
