// The wizard on the built bundle in a real terminal (tmux), with keys arriving as they do
// over a slow SSH link: several in ONE write. A text field takes letters, Backspaces (DEL
// and BS), Ctrl+U, Home and Delete in one burst; the key field takes a 3-line paste (the
// terminal brackets it, because the wizard asked for bracketed paste); the Tools list takes
// a burst of Space and Down; the User list takes Down then Enter in one write. Each test
// checks the screen and the answers that would be applied (saved with `a` on the Preview),
// at 80x24 and at 60x20. Nothing is applied: each run ends with Ctrl+C on the Preview.
// Bracketed paste is switched off again after Ctrl+C, SIGTERM and SIGHUP (the raw output).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { BIN, setupEnv, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { makeClientKey } from './helpers/sshd.ts';
import { killAllTmux, sleep, startTmux, type TmuxSession } from './helpers/tmux.ts';
import { runOk } from '../src/host/run.ts';

const skip = rootOrSkipReason();

const DOWN = '\u001b[B';
const UP = '\u001b[A';
const HOME = '\u001b[H';
const DELETE = '\u001b[3~';
const DEL = '\u007f';
const BS = '\b';
const CTRL_U = '\u0015';
const ENTER = '\r';
/** After a screen shows up, let it settle before the next burst (the burst itself is one write). */
const SETTLE_MS = 80;
const PTR = '[›>]';
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const titleRe = (title: string): RegExp => new RegExp(`^jailwizard [·-] \\d+/\\d+ ${title}\\s*$`, 'm');
/** The screen with lines the terminal wrapped glued, and runs of blanks as one. */
const flat = (screen: string): string => screen.replace(/\s+/g, ' ');

describe.skipIf(skip)('the wizard takes bursts of keys in a real terminal', () => {
  let env: TestEnv;
  let keyB: { privateKey: string; publicKey: string };
  let fingerprintA: string;
  let existing: string;
  beforeAll(async () => {
    env = await setupEnv();
    keyB = await makeClientKey(env.work, 'id_b');
    fingerprintA = (await runOk(['ssh-keygen', '-l', '-f', `${env.key.privateKey}.pub`])).stdout.split(' ')[1]!;
    // An existing regular user for the User list (removed by teardownEnv with the other test users).
    existing = uniqueUser('exist');
    await runOk(['useradd', '-M', '-s', '/bin/bash', existing]);
  });
  afterAll(async () => {
    await killAllTmux();
    await teardownEnv(env);
  });

  const startWizard = (label: string, cols: number, rows: number): Promise<TmuxSession> =>
    startTmux({ label, cols, rows, cwd: env.work, rawLog: path.join(env.work, `${label}.raw`), cmd: [process.execPath, BIN, ...env.common] });

  async function at(s: TmuxSession, title: string, content?: string | RegExp): Promise<string> {
    await s.waitFor(titleRe(title));
    const shown = content === undefined ? await s.screen() : await s.waitFor(content, undefined, { join: true });
    await sleep(SETTLE_MS);
    return shown;
  }

  /** Jail location (a typed path under the test's jail root), then Arch: on to Access. */
  async function jailAndArch(s: TmuxSession, user: string): Promise<void> {
    await at(s, 'Jail location', new RegExp(`^${PTR} .*/srv/jails/`, 'm'));
    // Up (wraps to "Type a path…") and Enter, in one write.
    await s.burst(UP + ENTER);
    await s.waitFor('(Tab: back to the suggestions)');
    await sleep(SETTLE_MS);
    await s.burst(path.join(env.jailRoot, user) + ENTER);
    await at(s, 'Arch', /this host/);
    await s.burst(ENTER);
    await at(s, 'Access', /public key/);
  }

  /** From Access with keys listed: Options, Preview, and the answers saved there with `a`. */
  async function saveAnswers(s: TmuxSession, user: string): Promise<Record<string, unknown>> {
    await s.burst(ENTER);
    await at(s, 'Options', new RegExp(`^${PTR} shared `, 'm'));
    await s.burst('c');
    await at(s, 'Preview', /Enter: apply these \d+ steps/);
    await s.burst('a');
    await s.waitFor('saved', undefined, { join: true });
    const answers = parse(readFileSync(path.join(env.work, `jailwizard-${user}.yaml`), 'utf8')) as Record<string, unknown>;
    expect(answers.jail).toBe(path.join(env.jailRoot, user));
    return answers;
  }

  /** Ctrl+C on the preview: nothing changed, exit 130, and bracketed paste was on and is off again. */
  async function quit(s: TmuxSession, label: string): Promise<void> {
    await s.burst('\u0003');
    expect(await s.waitForExit()).toBe(130);
    pasteOnThenOff(label);
  }

  /** The raw terminal output: bracketed paste was switched on, and off again after the last time it was on. */
  function pasteOnThenOff(label: string): void {
    const raw = readFileSync(path.join(env.work, `${label}.raw`), 'latin1');
    expect(raw.indexOf('\u001b[?2004h')).toBeGreaterThanOrEqual(0);
    expect(raw.lastIndexOf('\u001b[?2004l')).toBeGreaterThan(raw.lastIndexOf('\u001b[?2004h'));
  }

  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${signal} on an idle screen: the wizard ends with ${code} and switches bracketed paste off`, { timeout: 60_000 }, async () => {
      const label = `sig${code}`;
      const s = await startWizard(label, 80, 24);
      try {
        await at(s, 'Preflight', 'Press Enter to start');
        process.kill(s.pid, signal);
        expect(await s.waitForExit()).toBe(code);
        pasteOnThenOff(label);
      } finally {
        await s.kill();
      }
    });
  }

  for (const [cols, rows] of [
    [80, 24],
    [60, 20],
  ] as const) {
    it(`${cols}x${rows}: a text field takes letters, DEL and BS, Ctrl+U, Home and Delete in one write; the key field a 3-line paste; Tools a burst of Space and Down`, { timeout: 120_000 }, async () => {
      const label = `text${cols}`;
      const user = uniqueUser(`kt${cols}`);
      const s = await startWizard(label, cols, rows);
      try {
        await at(s, 'Preflight', 'Press Enter to start');
        await s.burst(ENTER);
        await at(s, 'User', 'Which user should be jailed?');
        // "New user…" is last: Up wraps to it; Enter in the same write opens the field.
        await s.burst(UP + ENTER);
        await at(s, 'User', 'Name of the new user to jail:');

        // One write: junk cleared with Ctrl+U, then "Xx<user>qq", two Backspaces (DEL and
        // BS), Home, and two Deletes: the field holds exactly <user>.
        await s.burst(`junk${CTRL_U}Xx${user}qq${DEL}${BS}${HOME}${DELETE}${DELETE}`);
        const named = await s.waitFor(new RegExp(`^${PTR} ${user}\\s*$`, 'm'));
        expect(named).toContain(`${user} will be created`);
        expect(named).not.toMatch(/not allowed|""/);
        await s.burst(ENTER);

        await at(s, 'Tools', 'What may the user do');
        // One write: Space (bash) Down Down Space (scp) Down Space (sftp).
        await s.burst(` ${DOWN}${DOWN} ${DOWN} `);
        const tools = await s.waitFor(/^› ◉ sftp\b/m);
        expect(tools).toMatch(/^ +◉ bash\b/m);
        expect(tools).toMatch(/^ +○ rsync\b/m);
        expect(tools).toMatch(/^ +◉ scp\b/m);
        expect(tools).toMatch(/^› ◉ sftp\b/m);
        await sleep(SETTLE_MS);
        // Up, Space (scp off again) and Enter in one write: Enter goes on with bash and sftp.
        await s.burst(`${UP} ${ENTER}`);
        await at(s, 'Jail location');

        // The key field: a 3-line paste (key A, key B, key A again).
        await jailAndArch(s, user);
        await s.paste(`${env.key.publicKey}\n${keyB.publicKey}\n${env.key.publicKey}\n`);
        const report = flat(await s.waitFor((x) => flat(x).includes('line 3:'), 15_000, { join: true }));
        expect(report).toContain('line 1: added ED25519 256');
        expect(report).toContain('line 2: added ED25519 256');
        expect(report).toContain(`line 3: duplicate, already in the list: ${fingerprintA}`);
        // A typed line that is no key: refused with why, and back in the field to be corrected;
        // then Ctrl+U: the field is empty again.
        await sleep(SETTLE_MS);
        await s.burst(`garbage${ENTER}`);
        const back = new RegExp(`${PTR} garbage `);
        await s.waitFor((x) => /refused: "garbage" is not a valid public key/.test(flat(x)) && back.test(flat(x)) && !flat(x).includes('checking'), 15_000, { join: true });
        await sleep(SETTLE_MS);
        await s.burst(CTRL_U);
        await s.waitFor(new RegExp(`^${PTR}\\s*$`, 'm'));
        await sleep(SETTLE_MS);
        const answers = await saveAnswers(s, user);
        expect(answers.user).toBe(user);
        expect(answers.tools).toEqual(['bash', 'sftp']);
        expect(answers.authorizedKeys).toEqual([env.key.publicKey, keyB.publicKey]);
        await quit(s, label);
      } finally {
        await s.kill();
      }
    });

    it(`${cols}x${rows}: on User, Down then Enter in one write picks the user below`, { timeout: 120_000 }, async () => {
      const label = `list${cols}`;
      const s = await startWizard(label, cols, rows);
      try {
        await at(s, 'Preflight', 'Press Enter to start');
        await s.burst(ENTER);
        const list = await at(s, 'User', 'Which user should be jailed?');
        // The users are listed in /etc/passwd order, "New user…" last; the cursor starts on the first.
        const names = [...list.split('\n').flatMap((l) => /^[›> ] (\S+)\s*$/.exec(l)?.[1] ?? []), 'New user'];
        const i = names.indexOf(existing);
        expect(i, `the list:\n${list}`).toBeGreaterThanOrEqual(0);
        // To the entry above ours (the list wraps: above the first is "New user…"), one key at a time.
        const above = (i + names.length - 1) % names.length;
        const moves = above === names.length - 1 ? [UP] : Array.from({ length: above }, () => DOWN);
        for (const key of moves) {
          await s.burst(key);
          await sleep(SETTLE_MS);
        }
        await s.waitFor(new RegExp(`^${PTR} ${escapeRe(names[above]!)}`, 'm'));
        await sleep(SETTLE_MS);
        // Down and Enter as ONE write: Enter picks the user Down moved to.
        await s.burst(DOWN + ENTER);
        await at(s, 'Tools', 'What may the user do');
        await s.burst(`${DOWN}${DOWN}${DOWN} ${ENTER}`); // sftp, and on
        await jailAndArch(s, existing);
        await s.burst(`${env.key.publicKey}${ENTER}`);
        await s.waitFor('Enter on an empty line continues');
        await sleep(SETTLE_MS);
        const answers = await saveAnswers(s, existing);
        expect(answers.user).toBe(existing);
        expect(answers.tools).toEqual(['sftp']);
        await quit(s, label);
      } finally {
        await s.kill();
      }
    });
  }
});
