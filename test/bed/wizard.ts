// The wizard inside a booted root, in a real terminal (tmux on this host, the program in the
// container through nsenter), driven by keystrokes from the first screen to a passed
// connection test and the Summary.
import { expect } from 'vitest';
import { sleep, startTmux, type TmuxSession } from '../helpers/tmux.ts';
import { type Tool } from '../../src/model/types.ts';
import { TOOLS } from '../../recipes/index.ts';
import type { Bed } from './bed.ts';

/** Let Ink subscribe to input after a screen appears. */
const SETTLE_MS = 100;
const CURSOR = '[❯›>]';
const title = (t: string): RegExp => new RegExp(`^jailwizard [·-] \\d+/\\d+ ${t}\\s*$`, 'm');
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function on(s: TmuxSession, screen: string, content: string | RegExp, timeoutMs = 30_000): Promise<string> {
  await s.waitFor(title(screen), timeoutMs);
  const shown = await s.waitFor(content, timeoutMs);
  await sleep(SETTLE_MS);
  return shown;
}

/** Ticks exactly `want` on the Tools screen, moving down the list once. */
async function tick(s: TmuxSession, want: Tool[]): Promise<void> {
  for (const [i, t] of TOOLS.entries()) {
    const row = await s.waitFor(new RegExp(`^${CURSOR} (◉|○) ${t}\\b`, 'm'));
    const isOn = new RegExp(`^${CURSOR} ◉ ${t}\\b`, 'm').test(row);
    if (isOn !== want.includes(t)) {
      await s.send('Space');
      await s.waitFor(new RegExp(`^. ${want.includes(t) ? '◉' : '○'} ${t}\\b`, 'm'));
    }
    if (i < TOOLS.length - 1) await s.send('Down');
    await sleep(SETTLE_MS);
  }
}

/**
 * New user `user` with `tools` in `jail`, the admin's key by its .pub path, default options,
 * then Enter on the preview; returns the Summary once the wizard exited 0.
 */
export async function runWizard(bed: Bed, user: string, tools: Tool[], jail: string): Promise<string> {
  const s = await startTmux({ label: 'bed-wizard', cols: 80, rows: 24, cmd: bed.c.execArgv(['jailwizard'], { TERM: 'xterm-256color' }) });
  try {
    await on(s, 'Preflight', 'Press Enter to start', 60_000);
    await s.send('Enter');
    const users = await on(s, 'User', /Which user|Name of the new user/);
    if (users.includes('Which user')) {
      await s.send('Up'); // wraps to "New user…"
      await s.waitFor(new RegExp(`^${CURSOR} New user`, 'm'));
      await sleep(SETTLE_MS);
      await s.send('Enter');
      await s.waitFor('Name of the new user');
      await sleep(SETTLE_MS);
    }
    await s.type(user);
    await s.waitFor(new RegExp(`^${CURSOR} ${user}\\s*$`, 'm'));
    await sleep(SETTLE_MS);
    await s.send('Enter');

    await on(s, 'Tools', 'What may the user do');
    await tick(s, tools);
    await s.send('Enter');

    await on(s, 'Jail location', new RegExp(`^${CURSOR} `, 'm'));
    await s.send('Up'); // wraps to "Type a path…"
    await s.waitFor(new RegExp(`^${CURSOR} Type a path`, 'm'));
    await sleep(SETTLE_MS);
    await s.send('Enter');
    await s.waitFor((x) => !x.includes('Type a path'));
    await sleep(SETTLE_MS);
    await s.type(jail);
    await s.waitFor(new RegExp(`^${CURSOR} ${literal(jail)}\\s*$`, 'm'));
    await sleep(SETTLE_MS);
    await s.send('Enter');

    await on(s, 'Arch', /this host/);
    await s.send('Enter');

    await on(s, 'Access', /public key/);
    await s.type('/root/.ssh/id_ed25519.pub');
    await s.waitFor('/root/.ssh/id_ed25519.pub', undefined, { join: true });
    await sleep(SETTLE_MS);
    await s.send('Enter');
    await s.waitFor('admin@bed', 30_000, { join: true });
    await sleep(SETTLE_MS);
    await s.send('Enter'); // the empty line: continue

    await on(s, 'Options', new RegExp(`^${CURSOR} shared `, 'm'));
    await s.send('c');
    await on(s, 'Preview', /Enter: apply these \d+ steps/, 60_000);
    await s.send('Enter');

    // The heading wraps at 80 columns ("20 probes\n  passed."): read it across the break.
    const summary = await s.waitFor((x) => /probes\s+passed/.test(x) && /Enter: exit/.test(x), 300_000);
    expect(summary).toMatch(title('Summary'));
    await sleep(SETTLE_MS);
    await s.send('Enter');
    expect(await s.waitForExit(30_000)).toBe(0);
    return summary;
  } finally {
    await s.kill();
  }
}
