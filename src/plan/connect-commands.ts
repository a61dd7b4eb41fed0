// The commands a jailed user types to connect, for the wizard's summary and apply's
// closing lines: each chosen tool's recipe says them (ConnectHint), this fills them in.
import { chosenRecipes } from '../../recipes/index.ts';
import { isLoopback, type Endpoint } from '../model/endpoint.ts';

export type { Endpoint };
export { isLoopback };

/** user@host for ssh (a bare IPv6 address) and for sftp, scp and rsync (in brackets). */
export function destination(user: string, host: string, brackets: boolean): string {
  return brackets && host.includes(':') ? `${user}@[${host}]` : `${user}@${host}`;
}

/** The commands a user types, from the chosen tools' recipes, in their hints' order, each once. */
export function connectCommands(user: string, tools: readonly string[], t: Endpoint): string[] {
  const hints = chosenRecipes(tools).flatMap((r) => r.connect ?? []);
  const lines = [...hints].sort((a, b) => a.order - b.order).map((h) => fillHint(h.template, user, t));
  return [...new Set(lines)];
}

/** A ConnectHint's template with the port's `{…}` kept or dropped and the placeholders filled in. */
export function fillHint(template: string, user: string, t: Endpoint): string {
  return template
    .replace(/\{([^}]*)\}/g, (_, part: string) => (t.port === 22 ? '' : part))
    .replace(/%(sshdest|dest|port)/g, (_, k: string) => (k === 'port' ? String(t.port) : destination(user, t.host, k === 'dest')));
}
