// The wizard in a real terminal (tmux), driven by keystrokes as an admin would, against the
// private sshd: the whole flow at 80x24 and 60x20, Ctrl+C and SIGHUP during Run, going back
// from the preview, a pipe instead of a terminal, and TERM=dumb / NO_COLOR / LANG=C.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { BIN, hasUnfinishedJournal, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { killAllTmux, sleep, startTmux, waitForPidExit, type TmuxSession } from './helpers/tmux.ts';
import { run, runOk } from '../src/host/run.ts';
import { type Tool } from '../src/model/types.ts';
import { TOOLS } from '../recipes/index.ts';

const skip = rootOrSkipReason();

/** After a screen shows up, let Ink's effects (useInput re-subscribing) run before the next key. */
const SETTLE_MS = 80;
/** Run plus the connection test: copying binaries and every probe with the real clients. */
const RUN_MS = 180_000;

const escapeRe = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const titleRe = (title: string): RegExp => new RegExp(`^jailwizard [·-] \\d+/\\d+ ${title}\\s*$`, 'm');
const TITLE_ANY = /^jailwizard [·-] \d+\/\d+ /gm;
/** SGR colour codes: foreground, background, bright, 256 and true colour, and their resets. */
const COLOUR = /\u001b\[(?:[0-9]+;)*(?:3[0-9]|9[0-7]|4[0-9]|10[0-7])(?:;[0-9]+)*m/;
/** Cursor movement and erasing: up/down/forward/back/next/previous line/column/position, erase display or line. */
const CURSOR_MOVE = /\u001b\[[0-9;]*[ABCDEFGHJKf]/;
/** The cursor of a list: Ink's select (❯), the wizard's own (›), or ASCII (>). */
const PTR = '[❯›>]';

describe.skipIf(skip)('the wizard in a real terminal', () => {
  let env: TestEnv;
  let fingerprint: string;
  beforeAll(async () => {
    env = await setupEnv();
    // The start of what the Access screen shows for the test key ("ED25519 256 SHA256:… comment",
    // cut to the window's width).
    fingerprint = (await runOk(['ssh-keygen', '-l', '-f', `${env.key.privateKey}.pub`])).stdout.split(' ')[1]!.slice(0, 24);
  });
  afterAll(async () => {
    await killAllTmux();
    await teardownEnv(env);
  });

  interface WizardOptions {
    label: string;
    cols?: number;
    rows?: number;
    env?: Record<string, string | undefined>;
    rawLog?: string;
  }
  const startWizard = (o: WizardOptions): Promise<TmuxSession> =>
    startTmux({ label: o.label, cols: o.cols, rows: o.rows, env: o.env, rawLog: o.rawLog, cwd: env.work, cmd: [process.execPath, BIN, ...env.common] });

  /** Waits for a screen by its title line (and optional content), then lets it settle. */
  async function screen(s: TmuxSession, title: string, content?: string | RegExp, timeoutMs?: number): Promise<string> {
    await s.waitFor(titleRe(title), timeoutMs);
    const shown = content === undefined ? await s.screen() : await s.waitFor(content, timeoutMs);
    await sleep(SETTLE_MS);
    return shown;
  }

  /** Moves the Tools cursor over every tool and toggles it until exactly `want` is on. */
  async function chooseTools(s: TmuxSession, want: Tool[], unicode = true): Promise<void> {
    const on = unicode ? '◉' : '[x]';
    const off = unicode ? '○' : '[ ]';
    const line = (mark: string, t: Tool): RegExp => new RegExp(`^. ${escapeRe(mark).source} ${t}\\b`, 'm');
    for (const [i, t] of TOOLS.entries()) {
      const cursorOn = new RegExp(`^${PTR} (${escapeRe(on).source}|${escapeRe(off).source}) ${t}\\b`, 'm');
      const current = await s.waitFor(cursorOn);
      if (line(on, t).test(current) !== want.includes(t)) {
        await s.send('Space');
        await s.waitFor(line(want.includes(t) ? on : off, t));
      }
      if (i < TOOLS.length - 1) await s.send('Down');
    }
    await sleep(SETTLE_MS);
  }

  /**
   * Preflight → User ("New user…", typed) → Tools → Jail ("Type a path…") → Arch → Access →
   * Options (`options` sets some; the defaults otherwise) → Preview.
   */
  async function toPreview(
    s: TmuxSession,
    user: string,
    tools: Tool[],
    check: (title: string) => Promise<void> = async () => {},
    options: () => Promise<void> = async () => {},
  ): Promise<string> {
    await screen(s, 'Preflight', 'Press Enter to start');
    await check('Preflight');
    await s.send('Enter');

    const list = await screen(s, 'User', /Which user|Name of the new user/);
    await check('User');
    if (list.includes('Which user')) {
      await s.send('Up'); // the list wraps: Up from the first entry is "New user…", the last
      await s.waitFor(new RegExp(`^${PTR} New user`, 'm'));
      await sleep(SETTLE_MS);
      await s.send('Enter');
      await s.waitFor('Name of the new user');
      await sleep(SETTLE_MS);
    }
    await s.type(user);
    await s.waitFor(new RegExp(`^${PTR} ${user}\\s*$`, 'm'));
    await sleep(SETTLE_MS);
    await s.send('Enter');

    await screen(s, 'Tools', 'What may the user do');
    await check('Tools');
    await chooseTools(s, tools);
    await s.send('Enter');

    const jail = path.join(env.jailRoot, user);
    await screen(s, 'Jail location', new RegExp(`^${PTR} .*/srv/jails/`, 'm'));
    await check('Jail location');
    await s.send('Up'); // wraps to "Type a path…"
    await s.waitFor(new RegExp(`^${PTR} Type a path`, 'm'));
    await sleep(SETTLE_MS);
    await s.send('Enter');
    await s.waitFor((x) => !x.includes('Type a path'));
    await sleep(SETTLE_MS);
    await s.type(jail);
    await s.waitFor(new RegExp(`^${PTR} ${escapeRe(jail).source}\\s*$`, 'm'));
    await check('Jail location');
    await sleep(SETTLE_MS);
    await s.send('Enter');

    await screen(s, 'Arch', /this host/);
    await check('Arch');
    await s.send('Enter');

    await screen(s, 'Access', /public key/);
    await check('Access');
    await s.type(`${env.key.privateKey}.pub`);
    await s.waitFor(`${env.key.privateKey}.pub`, undefined, { join: true });
    await sleep(SETTLE_MS);
    await s.send('Enter');
    await s.waitFor(fingerprint, 15_000, { join: true });
    await check('Access');
    await sleep(SETTLE_MS);
    await s.send('Enter'); // the empty line: continue

    await screen(s, 'Options', new RegExp(`^${PTR} shared `, 'm'));
    await check('Options');
    await options();
    await s.send('c'); // continue (the last row, Tab and c all do)

    const preview = await screen(s, 'Preview', /Enter: apply these \d+ steps/, 60_000);
    await check('Preview');
    return preview;
  }

  /** Every page of the preview's pager, read with PageDown; wrapped lines glued back. */
  async function readPreview(s: TmuxSession): Promise<string> {
    let text = '';
    for (let pages = 0; pages < 100; pages++) {
      const shown = await s.waitFor(/lines \d+-\d+ of \d+/);
      const m = /lines (\d+)-(\d+) of (\d+)/.exec(shown)!;
      text += shown;
      // Wrapped lines glued back: a command's ` \` continuations, and prose's hanging indents.
      if (Number(m[2]) >= Number(m[3])) return text.replace(/ \\\n\s+/g, ' ').replace(/\n {6,}/g, ' ');
      await s.send('PageDown');
      await s.waitFor((x) => !x.includes(m[0]));
      await sleep(SETTLE_MS);
    }
    throw new Error(`the preview did not end after 100 pages:\n${text}`);
  }

  /** The Summary, then Enter exits 0; returns the Summary with wrapped lines flattened. */
  async function finish(s: TmuxSession, user: string, host = '127.0.0.1'): Promise<string> {
    const summary = await s.waitFor((x) => /probes passed/.test(x) && /Enter: exit/.test(x), RUN_MS);
    await sleep(SETTLE_MS);
    const flat = summary.replace(/\s+/g, ' ');
    expect(flat).toMatch(/\b(\d+) probes passed/);
    expect(Number(/\b(\d+) probes passed/.exec(flat)![1])).toBeGreaterThan(0);
    expect(flat).toContain(`${user}@${host}`);
    expect(summary).toMatch(new RegExp(`Undo: jailwizard remove ${user}\\b`));
    await s.send('Enter');
    expect(await s.waitForExit()).toBe(0);
    // On exit the summary is printed again as plain lines, whole, to copy.
    const after = await s.screen({ history: true, join: true });
    expect(after).toMatch(new RegExp(`^Undo:  jailwizard remove ${user} --sshd-config \\S+ --state-dir \\S+`, 'm'));
    return summary;
  }

  it('goes from the first screen to a passed connection test at 80x24, by keystrokes only', { timeout: 300_000 }, async () => {
    const user = uniqueUser('wiz80');
    const before = await snapshot(env);
    // The admin came in over SSH (IPv6) to this sshd: the summary names that address.
    const s = await startWizard({ label: 'full80', cols: 80, rows: 24, env: { SSH_CONNECTION: `2001:db8::9 50022 2001:db8::10 ${env.sshd.port}` } });
    try {
      const preview = await toPreview(s, user, ['bash', 'rsync', 'scp', 'sftp']);
      expect(preview).toContain(`Create user ${user}`);
      await s.send('Enter');
      await s.waitFor(titleRe('(Run|Connection test)'), 30_000);
      const summary = await finish(s, user, '[2001:db8::10]');
      expect(summary).toMatch(titleRe('Summary'));
      // The Run screen's log of finished steps stays in the scrollback.
      expect(await s.screen({ history: true })).toMatch(new RegExp(`^✓ Create user ${user}\\b`, 'm'));
      const flat = summary.replace(/\s+/g, ' ');
      expect(flat).toContain(`${user} is jailed in ${path.join(env.jailRoot, user)} with bash, rsync, scp, sftp`);
      for (const connect of [`sftp -P ${env.sshd.port} ${user}@[2001:db8::10]`, `ssh -p ${env.sshd.port} ${user}@2001:db8::10`, `scp -P ${env.sshd.port} FILE ${user}@[2001:db8::10]:`]) {
        expect(flat).toContain(connect);
      }
      expect(flat).not.toContain('127.0.0.1');
      await s.kill();
      expect(hasUnfinishedJournal(env)).toBe(false);
      const tested = await jw(env, ['test', user]);
      expect(tested.exitCode, out(tested)).toBe(0);
      const removed = await jw(env, ['remove', user, '--yes']);
      expect(removed.exitCode, out(removed)).toBe(0);
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    } finally {
      await s.kill();
      await removeIfJailed(user);
    }
  });

  it('fits a 60x20 terminal: no line wider than 60 columns and one title per frame, all the way', { timeout: 300_000 }, async () => {
    const user = uniqueUser('wiz60');
    const before = await snapshot(env);
    const rawLog = path.join(env.work, 'full60.raw');
    const s = await startWizard({ label: 'full60', cols: 60, rows: 20, rawLog });
    const problems = (x: string, title: string): string[] => {
      const found: string[] = [];
      const titles = (x.match(TITLE_ANY) ?? []).length;
      if (titles !== 1) found.push(`${titles} title lines on the screen instead of 1`);
      else if (!titleRe(title).test(x)) found.push(`the title is not ${title}`);
      for (const l of x.split('\n')) if (l.length > 60) found.push(`a line of ${l.length} columns: ${l}`);
      return found;
    };
    // Polled, so a capture taken in the middle of a redraw does not count; garbling that stays does.
    const check = async (title: string): Promise<void> => {
      try {
        await s.waitFor((x) => problems(x, title).length === 0, 3000, { join: true });
      } catch {
        const x = await s.screen({ join: true });
        throw new Error(`the ${title} screen does not fit 60x20: ${problems(x, title).join('; ')}. The screen:\n${x}`);
      }
    };
    try {
      await toPreview(s, user, ['bash', 'rsync', 'scp', 'sftp'], check);
      await s.send('Enter');
      await s.waitFor(/steps done/, 30_000);
      await check('(Run|Connection test)');
      await s.waitFor(titleRe('Connection test'), RUN_MS);
      await check('(Connection test|Summary)');
      await s.waitFor(/probes passed/, RUN_MS);
      await check('Summary');
      await finish(s, user);
      // A normal exit (0, from the Summary) switches bracketed paste off too.
      const raw = readFileSync(rawLog, 'latin1');
      expect(raw.indexOf('\u001b[?2004h')).toBeGreaterThanOrEqual(0);
      expect(raw.lastIndexOf('\u001b[?2004l')).toBeGreaterThan(raw.lastIndexOf('\u001b[?2004h'));
      const removed = await jw(env, ['remove', user, '--yes']);
      expect(removed.exitCode, out(removed)).toBe(0);
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    } finally {
      await s.kill();
      await removeIfJailed(user);
    }
  });

  /** After a failed test: take the jail away so the next tests start from a clean host. */
  async function removeIfJailed(user: string): Promise<void> {
    if (existsSync(path.join(env.stateDir, 'jails', `${user}.json`))) await jw(env, ['remove', user, '--yes']);
  }

  it('rolls back on Ctrl+C during Run and exits 130, leaving the host byte-identical', { timeout: 120_000 }, async () => {
    const user = uniqueUser('wizint');
    const before = await snapshot(env);
    const s = await startWizard({ label: 'ctrlc', env: { JAILWIZARD_PAUSE_AT: '5' } });
    try {
      await toPreview(s, user, ['sftp']);
      await s.send('Enter');
      // The executor pauses before step 5: four steps are done and stay done until we act.
      await s.waitFor(/\b4\/\d+ steps done/, 30_000);
      await sleep(SETTLE_MS);
      await s.send('C-c');
      expect(await s.waitForExit(60_000)).toBe(130);
      const shown = await s.screen({ history: true });
      expect(shown).toMatch(/undone: Create user/);
    } finally {
      await s.kill();
    }
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
    expect(journalOutcome(env.stateDir, s.pid)).toBe('rolled-back');
  });

  it('rolls back when the terminal hangs up (SIGHUP) during Run', { timeout: 120_000 }, async () => {
    const user = uniqueUser('wizhup');
    const before = await snapshot(env);
    const s = await startWizard({ label: 'sighup', env: { JAILWIZARD_PAUSE_AT: '5' } });
    try {
      await toPreview(s, user, ['sftp']);
      await s.send('Enter');
      await s.waitFor(/\b4\/\d+ steps done/, 30_000);
      expect(existsUser(user)).toBe(true); // there is something to roll back
    } finally {
      await s.kill(); // the admin's SSH connection drops
    }
    await waitForPidExit(s.pid, 60_000);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
    expect(journalOutcome(env.stateDir, s.pid)).toBe('rolled-back'); // the wizard itself undid its work
  });

  it('goes back from the preview with Esc, keeps the answers, and previews the changed tools', { timeout: 120_000 }, async () => {
    const user = uniqueUser('wizback');
    const before = await snapshot(env);
    const jail = path.join(env.jailRoot, user);
    const s = await startWizard({ label: 'back', cols: 80, rows: 40 });
    try {
      await toPreview(s, user, ['sftp']);
      const first = await readPreview(s);
      expect(first).toContain('internal-sftp');
      expect(first).not.toContain('Copy bash');

      for (const title of ['Options', 'Access', 'Arch', 'Jail location', 'Tools']) {
        await s.send('Escape');
        await screen(s, title);
      }
      await s.waitFor(/^› ◉ sftp\b/m); // the tools chosen before, the cursor where it was left
      for (let i = 0; i < 3; i++) await s.send('Up');
      await s.waitFor(/^› ○ bash\b/m);
      await s.send('Space');
      await s.waitFor(/^› ◉ bash\b/m);
      await sleep(SETTLE_MS);
      await s.send('Enter');

      // Each answer is still there: Enter alone goes on.
      await screen(s, 'Jail location', new RegExp(`^${PTR} ${escapeRe(jail).source}\\s*$`, 'm'));
      await s.send('Enter');
      await screen(s, 'Arch', /this host/);
      await s.send('Enter');
      await screen(s, 'Access', 'Enter on an empty line continues');
      expect((await s.screen({ join: true })).includes(fingerprint)).toBe(true);
      await s.send('Enter');
      // With bash now, the extras it needs are ticked and the sftp-only options are out.
      const options = await screen(s, 'Options', /^. extras locale +◉/m);
      expect(options).toMatch(/^. readOnly +○ +n\/a: needs tools = \[sftp\] alone/m);
      await s.send('Tab');

      await screen(s, 'Preview', /Enter: apply these \d+ steps/, 60_000);
      const second = await readPreview(s);
      expect(second).toContain('Copy bash');
      expect(second).toContain('internal-sftp');

      await s.send('C-c');
      expect(await s.waitForExit()).toBe(130);
      expect(await s.screen()).toContain('nothing was changed');
    } finally {
      await s.kill();
    }
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
  });

  it('an sftp-only user with readOnly toggled on the Options screen previews internal-sftp -R; quit without changes', { timeout: 120_000 }, async () => {
    const user = uniqueUser('wizro');
    const before = await snapshot(env);
    const s = await startWizard({ label: 'readonly', cols: 80, rows: 24 });
    try {
      await toPreview(s, user, ['sftp'], undefined, async () => {
        await s.send('Down');
        await s.send('Down');
        await s.waitFor(new RegExp(`^${PTR} readOnly +○ +read, never write`, 'm'));
        await sleep(SETTLE_MS);
        await s.send('Space');
        await s.waitFor(new RegExp(`^${PTR} readOnly +◉`, 'm'));
        await sleep(SETTLE_MS);
      });
      const preview = await readPreview(s);
      // The planner renders readOnly as a flag of sshd's ForceCommand for this user.
      expect(preview).toContain('ForceCommand internal-sftp -R');

      await s.send('C-c');
      expect(await s.waitForExit()).toBe(130);
      expect(await s.screen()).toContain('nothing was changed');
    } finally {
      await s.kill();
    }
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(hasUnfinishedJournal(env)).toBe(false);
  });

  it('at 60x20 the script saved with s is byte for byte the plan apply --dry-run prints, not the wrapped screen', { timeout: 180_000 }, async () => {
    const user = uniqueUser('wizsave');
    const before = await snapshot(env);
    const s = await startWizard({ label: 'save60', cols: 60, rows: 20 });
    try {
      await toPreview(s, user, ['bash', 'rsync', 'scp', 'sftp']);
      await s.send('s');
      await s.waitFor(`jailwizard-${user}.sh`, 15_000, { join: true });
      await sleep(SETTLE_MS);
      await s.send('a');
      await s.waitFor(`jailwizard-${user}.yaml`, 15_000, { join: true });
      await s.send('C-c');
      expect(await s.waitForExit()).toBe(130);
    } finally {
      await s.kill();
    }
    const saved = readFileSync(path.join(env.work, `jailwizard-${user}.sh`), 'utf8');
    // The same answers, planned by the CLI: the script it prints is the one the wizard saved.
    const dry = await jw(env, ['apply', '--config', path.join(env.work, `jailwizard-${user}.yaml`), '--dry-run']);
    expect(dry.exitCode, out(dry)).toBe(0);
    // Byte for byte, but for the moment each plan was made (the record it writes says when).
    const when = (x: string): string => x.replace(/"appliedAt": "[^"]+"/g, '"appliedAt": "…"');
    expect(when(saved)).toBe(when(dry.stdout));
    expect(saved.match(/"appliedAt": /g)).toHaveLength(1);
    // Lines far wider than 60 columns, kept whole: the screen's continuations are not in it.
    expect(saved.split('\n').some((l) => l.length > 60)).toBe(true);
    expect(saved).not.toMatch(/↵/);
    await run(['sh', '-n', path.join(env.work, `jailwizard-${user}.sh`)]).then((r) => expect(r.exitCode, out(r)).toBe(0));
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('refuses a pipe for stdin with exit 2 and points to apply --config', async () => {
    const r = await run([process.execPath, BIN, ...env.common], { input: '\n', timeoutMs: 30_000 });
    expect(r.exitCode, out(r)).toBe(2);
    expect(r.stderr).toContain('jailwizard apply --config');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  describe('terminals with fewer capabilities', () => {
    /** Runs the wizard to the Tools screen with the output teed raw to a file, toggles bash, quits. */
    async function rawToTools(label: string, envOverrides: Record<string, string>, unicode: boolean): Promise<{ raw: string; tools: string }> {
      const rawLog = path.join(env.work, `${label}.raw`);
      const before = await snapshot(env);
      const s = await startWizard({ label, env: envOverrides, rawLog });
      let tools: string;
      try {
        await s.waitFor('Press Enter to start');
        await sleep(SETTLE_MS);
        await s.send('Enter');
        const list = await s.waitFor(/Which user|Name of the new user/);
        await sleep(SETTLE_MS);
        if (list.includes('Which user')) {
          await s.send('Up');
          await s.waitFor(new RegExp(`^${PTR} New user`, 'm'));
          await sleep(SETTLE_MS);
          await s.send('Enter');
          await s.waitFor('Name of the new user');
          await sleep(SETTLE_MS);
        }
        const user = uniqueUser(label);
        await s.type(user);
        await s.waitFor(new RegExp(`^${PTR} ${user}\\s*$`, 'm'));
        await sleep(SETTLE_MS);
        await s.send('Enter');
        await s.waitFor('What may the user do');
        await sleep(SETTLE_MS);
        await chooseTools(s, ['bash'], unicode);
        tools = await s.screen();
        await s.send('C-c');
        expect(await s.waitForExit()).toBe(130);
      } finally {
        await s.kill();
      }
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
      return { raw: readFileSync(rawLog, 'utf8'), tools };
    }

    // Without this control, the checks below would also pass if tmux or the test env
    // kept colour and cursor movement from the wizard in the first place.
    it('a capable terminal gets colour, Unicode and cursor movement (the control for the tests below)', { timeout: 60_000 }, async () => {
      const { raw } = await rawToTools('capable', {}, true);
      expect(raw).toMatch(COLOUR);
      expect(raw).toMatch(CURSOR_MOVE);
      expect(raw).toContain('◉ bash');
    });

    it('TERM=dumb prints plain frames: no cursor movement, no line erasing, no colour', { timeout: 60_000 }, async () => {
      const { raw } = await rawToTools('dumb', { TERM: 'dumb' }, false);
      expect(raw).toContain('What may the user do');
      expect(raw).not.toMatch(CURSOR_MOVE);
      expect(raw).not.toMatch(/\u001b\[[0-9;]*m/); // no SGR at all: no colour, bold or dim
    });

    it('NO_COLOR=1 draws without colour codes', { timeout: 60_000 }, async () => {
      const { raw } = await rawToTools('nocolor', { NO_COLOR: '1' }, true);
      expect(raw).toContain('What may the user do');
      expect(raw).not.toMatch(COLOUR);
    });

    it('LANG=C (not UTF-8) shows ASCII symbols', { timeout: 60_000 }, async () => {
      const { raw, tools } = await rawToTools('asciilang', { LANG: 'C' }, false);
      expect(tools).toMatch(/^ {2}\[x\] bash\b/m);
      expect(tools).toMatch(/^> \[ \] sftp\b/m);
      expect(raw).toContain('[x] bash');
      expect(raw).not.toContain('✓');
      // Nothing but ASCII reaches the terminal: no ◉/○, no list pointer ❯/›, no … or ·.
      expect(raw.match(/[^\x00-\x7f]+/g) ?? []).toEqual([]);
    });
  });
});

/** How the run of process `pid` ended, from its journal in the state dir's history. */
function journalOutcome(stateDir: string, pid: number): string | undefined {
  const dir = path.join(stateDir, 'journal', 'history');
  const file = existsSync(dir) ? readdirSync(dir).find((n) => n.endsWith(`-${pid}.jsonl`)) : undefined;
  if (!file) return undefined;
  const lines = readFileSync(path.join(dir, file), 'utf8').trim().split('\n');
  return (JSON.parse(lines[lines.length - 1]!) as { outcome?: string }).outcome;
}

function existsUser(user: string): boolean {
  return readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${user}:`));
}
