// Every wizard screen through ink-testing-library: props in, callbacks out, one key at a time.
// The App test drives the whole wizard against fake Services, from Preflight to Summary.
import React, { useReducer, useState } from 'react';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { Text } from 'ink';
import { KeysRoot } from '../screens/keyboard.tsx';
import chalk from 'chalk';
import { ASCII, cleanupSized, frameOf, nonAscii, press, renderSized, type, uiFor, waitForFrame, withUi } from './helpers/ink.ts';
import { PreflightScreen } from '../screens/Preflight.tsx';
import { UserScreen } from '../screens/User.tsx';
import { ToolsScreen } from '../screens/Tools.tsx';
import { JailScreen } from '../screens/JailLocation.tsx';
import { ArchScreen } from '../screens/Arch.tsx';
import { AccessScreen } from '../screens/Access.tsx';
import { OptionsScreen } from '../screens/Options.tsx';
import { Frame, UiContext, frameBodyRows, useSize, useUi } from '../screens/ui.tsx';
import { PreviewScreen } from '../screens/Preview.tsx';
import { RunLog, RunScreen } from '../screens/Run.tsx';
import { ConnectionTestScreen } from '../screens/ConnectionTest.tsx';
import { SummaryScreen } from '../screens/Summary.tsx';
import { App } from '../screens/App.tsx';
import { chrootChain } from '../src/host/ownership.ts';
import { shJoin, type Plan, type Step } from '../src/model/effects.ts';
import type { Preflight } from '../src/wizard/preflight.ts';
import type { KeyCheck, Services } from '../src/wizard/services.ts';
import { initialState, moveTools, reducer, draftToAnswers, type Draft, type RunState, type ToolMove } from '../src/wizard/state.ts';
import { checkAnswers } from '../src/wizard/services.ts';
import type { ApplyHooks, ApplyOutcome } from '../src/workflows/apply.ts';
import type { ProbeResult } from '../src/workflows/verify.ts';
import type { Answers, Tool } from '../src/model/types.ts';

afterEach(() => {
  cleanup();
  cleanupSized();
});

function step(title: string, argv: string[] = ['true']): Step {
  return { id: title, title, why: [`needed for ${title}`], actions: [{ effect: { kind: 'run', argv }, undo: [], pre: { kind: 'none' } }] };
}

function plan(steps: Step[]): Plan {
  return { command: 'apply', user: 'alice', steps, notes: [] };
}

const OK_PREFLIGHT: Preflight = {
  findings: [
    { label: 'root', value: 'yes', status: 'ok' },
    { label: 'OpenSSH', value: 'OpenSSH_9.2p1, ChrootDirectory and Match supported', status: 'ok' },
    { label: 'sshd config', value: '/etc/ssh/sshd_config, no Include', status: 'warn', fix: 'jailwizard adds one Include line for its own drop-ins' },
  ],
  blocked: false,
      repairUsers: [],
};

describe('PreflightScreen', () => {
  it('shows a spinner until the findings are in', () => {
    const r = render(withUi(<PreflightScreen onContinue={() => {}} onRollback={() => {}} />));
    expect(frameOf(r)).toContain('Checking this host');
  });

  it('lists findings with ✓/✗/! and fix lines; Enter continues when not blocked', async () => {
    const onContinue = vi.fn();
    const r = render(withUi(<PreflightScreen data={OK_PREFLIGHT} onContinue={onContinue} onRollback={() => {}} />));
    const f = frameOf(r);
    expect(f).toContain('✓ root: yes');
    expect(f).toContain('✓ OpenSSH: OpenSSH_9.2p1');
    expect(f).toContain('! sshd config: /etc/ssh/sshd_config, no Include');
    expect(f).toContain('fix: jailwizard adds one Include line');
    expect(f).toContain('Press Enter to start.');
    await press(r, 'enter', { until: () => onContinue.mock.calls.length === 1 });
    expect(onContinue).toHaveBeenCalledTimes(1);
  });

  it('a blocked host: Enter does nothing; r rolls back an unfinished run', async () => {
    const onContinue = vi.fn();
    const onRollback = vi.fn();
    const data: Preflight = {
      findings: [
        { label: 'root', value: 'yes', status: 'ok' },
        { label: 'journal', value: 'an earlier run did not finish (2 step(s) to undo)', status: 'bad', fix: 'press r to roll it back now' },
      ],
      repairUsers: [],
      blocked: true,
      unfinished: { pid: 4242, steps: ['Create user', 'Make the jail'] },
    };
    const r = render(withUi(<PreflightScreen data={data} onContinue={onContinue} onRollback={onRollback} />));
    const f = frameOf(r);
    expect(f).toContain('✗ journal: an earlier run did not finish');
    expect(f).toContain('fix: press r to roll it back now');
    expect(f).toContain('Fix the problems above first (r: roll back the unfinished run).');
    await press(r, 'enter', { until: false });
    expect(onContinue).not.toHaveBeenCalled();
    await press(r, 'r', { until: () => onRollback.mock.calls.length === 1 });
    r.rerender(withUi(<PreflightScreen data={data} rollingBack onContinue={onContinue} onRollback={onRollback} />));
    await waitForFrame(r.lastFrame, 'Rolling back the unfinished run');
    // While rolling back, r is not taken twice.
    await press(r, 'r', { until: false });
    expect(onRollback).toHaveBeenCalledTimes(1);
  });

  it('r does nothing without an unfinished journal', async () => {
    const onRollback = vi.fn();
    const r = render(withUi(<PreflightScreen data={{ ...OK_PREFLIGHT, blocked: true }} onContinue={() => {}} onRollback={onRollback} />));
    await press(r, 'r', { until: false });
    expect(onRollback).not.toHaveBeenCalled();
  });
});

describe('UserScreen', () => {
  const validate = (name: string): string | undefined => (name === 'Root' ? `${name}: not a valid user name (lowercase letters, digits, - and _)` : name === 'root' ? 'root is an administrator' : undefined);

  it('lists the users and "New user…"; Enter picks the highlighted one', async () => {
    const onSubmit = vi.fn();
    const r = render(withUi(<UserScreen users={['alice', 'bob']} value="" validate={validate} onSubmit={onSubmit} listHeight={10} />));
    const f = frameOf(r);
    expect(f).toContain('Which user should be jailed?');
    expect(f).toMatch(/alice\n.*bob\n.*New user…/);
    await press(r, 'down');
    await press(r, 'enter', { until: () => onSubmit.mock.calls.length > 0 });
    expect(onSubmit).toHaveBeenCalledWith('bob');
  });

  it('"New user…" validates the typed name live and submits only a valid one; Tab goes back', async () => {
    const onSubmit = vi.fn();
    const r = render(withUi(<UserScreen users={['alice']} value="" validate={validate} onSubmit={onSubmit} listHeight={10} />));
    await press(r, 'down');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('Name of the new user to jail:');
    expect(frameOf(r)).toContain('lowercase letters, digits, - and _');
    expect(frameOf(r)).toContain('(Tab: pick an existing user instead)');

    await type(r, 'Root');
    expect(frameOf(r)).toContain('✗ Root: not a valid user name');
    await press(r, 'enter', { until: false });
    expect(onSubmit).not.toHaveBeenCalled();

    for (let i = 0; i < 4; i++) await press(r, 'backspace');
    expect(frameOf(r)).not.toContain('Root');
    await type(r, 'carol');
    expect(frameOf(r)).toContain('✓ carol will be created');
    await press(r, 'enter', { until: () => onSubmit.mock.calls.length > 0 });
    expect(onSubmit).toHaveBeenCalledWith('carol');
    expect(onSubmit).toHaveBeenCalledTimes(1);

    await press(r, 'tab');
    expect(frameOf(r)).toContain('Which user should be jailed?');
    expect(frameOf(r)).toContain('alice');
  });

  it('with no users to pick, asks for a new name straight away', () => {
    const r = render(withUi(<UserScreen users={[]} value="" validate={validate} onSubmit={() => {}} listHeight={10} />));
    expect(frameOf(r)).toContain('Name of the new user to jail:');
    expect(frameOf(r)).not.toContain('Tab');
  });

  it('coming back with a new name typed earlier shows it again', () => {
    const r = render(withUi(<UserScreen users={['alice']} value="dave" validate={validate} onSubmit={() => {}} listHeight={10} />));
    expect(frameOf(r)).toContain('✓ dave will be created');
  });
});

/** ToolsScreen with its highlight and selection held as the App holds them (moveTools). */
function ToolsHarness({ onMoves, onNext, initial = [] }: { onMoves?: (m: ToolMove[]) => void; onNext?: () => void; initial?: Tool[] }): React.JSX.Element {
  const [at, setAt] = useState({ cursor: 0, tools: initial });
  return (
    <ToolsScreen
      selected={at.tools}
      cursor={at.cursor}
      missing={['rsync']}
      onMoves={(m) => {
        onMoves?.(m);
        setAt((x) => moveTools(x, m));
      }}
      onNext={() => onNext?.()}
    />
  );
}

describe('ToolsScreen', () => {
  it('shows each tool with its consequence line', () => {
    const r = render(withUi(<ToolsScreen selected={['sftp']} cursor={0} missing={[]} onMoves={() => {}} onNext={() => {}} />));
    const f = frameOf(r);
    expect(f).toContain('› ○ bash');
    expect(f).toContain('○ rsync');
    expect(f).toContain('○ scp');
    expect(f).toContain('◉ sftp');
    expect(f).toContain('a login shell with basic commands');
    expect(f).toContain('rsync needs a shell inside the jail');
    expect(f).toContain('scp uses sftp unless the client passes -O');
    expect(f).toContain('sftp alone: no binaries in the jail, no shell');
  });

  it('arrows move the cursor and space toggles the tool under it', async () => {
    const onMoves = vi.fn();
    const r = render(withUi(<ToolsHarness onMoves={onMoves} />));
    expect(frameOf(r)).toContain('rsync (not installed here: its package is installed first)');
    await press(r, 'down');
    expect(frameOf(r)).toContain('› ○ rsync');
    await press(r, 'space');
    expect(onMoves).toHaveBeenLastCalledWith(['toggle']);
    expect(frameOf(r)).toContain('› ◉ rsync');
    await press(r, 'up');
    await press(r, 'up'); // wraps around to the last tool
    expect(frameOf(r)).toContain('› ○ sftp');
    await press(r, 'space');
    expect(frameOf(r)).toMatch(/◉ rsync[\s\S]*› ◉ sftp/);
    await press(r, 'space');
    expect(frameOf(r)).toContain('› ○ sftp');
    expect(onMoves.mock.calls.map((c) => c[0])).toEqual([['down'], ['toggle'], ['up'], ['up'], ['toggle'], ['toggle']]);
  });

  it('a burst of Space and Down in one write is one change with every key, in order', async () => {
    const onMoves = vi.fn();
    const r = render(withUi(<ToolsHarness onMoves={onMoves} />));
    await type(r, ' \u001b[B\u001b[B \u001b[B ');
    const f = frameOf(r);
    expect(f).toMatch(/^ +◉ bash/m);
    expect(f).toMatch(/^ +○ rsync/m);
    expect(f).toMatch(/^ +◉ scp/m);
    expect(f).toMatch(/^› ◉ sftp/m);
    expect(onMoves.mock.calls).toEqual([[['toggle', 'down', 'down', 'toggle', 'down', 'toggle']]]);
  });

  it('Enter with nothing selected says so and does not go on', async () => {
    const onNext = vi.fn();
    const r = render(withUi(<ToolsHarness onNext={onNext} />));
    await press(r, 'enter');
    expect(frameOf(r)).toContain('✗ choose at least one tool');
    expect(onNext).not.toHaveBeenCalled();
    await press(r, 'space');
    expect(frameOf(r)).not.toContain('choose at least one tool');
    await press(r, 'enter', { until: () => onNext.mock.calls.length === 1 });
  });
});

/** A path under /tmp that exists nowhere, unique to this run (the host may have its own /tmp/x). */
const MISSING_TMP = ((): string => {
  const p = `/tmp/jw${randomBytes(3).toString('hex')}`;
  if (existsSync(p)) throw new Error(`${p} exists; run the test again`);
  return p;
})();
const MISSING_RE = MISSING_TMP.replace(/\//g, '\\/');

describe('JailScreen', () => {
  const chain = (jail: string) => chrootChain(jail);

  it('checks the ownership chain of the highlighted suggestion on the real filesystem', async () => {
    // A user name of this run's own, so the suggested jail is a path no host already has.
    const user = `jw${randomBytes(3).toString('hex')}`;
    const r = render(withUi(<JailScreen user={user} value="" home={`/home/${user}`} chain={chain} validate={() => undefined} onSubmit={() => {}} />));
    const f = frameOf(r);
    expect(f).toContain(`Where should ${user}'s jail live?`);
    expect(f).toContain(`/srv/jails/${user}   (shared-service layout)`);
    expect(f).toContain(`/home/${user}   (the user's home as chroot, ArchWiki layout)`);
    expect(f).toContain('Type a path…');
    expect(f).toContain("sshd's rule:");
    expect(f).toMatch(/✓ \/ +root 0755/);
    expect(f).toMatch(/✓ \/srv +root 0755/);
    expect(f).toMatch(new RegExp(`✓ /srv/jails/${user} `));
    expect(f).not.toContain('✗');
  });

  it('typing a path shows ✗ for a world-writable component (/tmp)', async () => {
    const onSubmit = vi.fn();
    const validate = (j: string): string | undefined => (j.startsWith('/tmp') ? '/tmp is group- and world-writable: sshd refuses it' : undefined);
    const r = render(withUi(<JailScreen user="alice" value="" home="/home/alice" chain={chain} validate={validate} onSubmit={onSubmit} />));
    await press(r, 'down');
    expect(frameOf(r)).toMatch(/✓ \/home +root/);
    await press(r, 'down');
    // "Type a path…" highlighted: no path yet, so no chain.
    expect(frameOf(r)).not.toContain("sshd's rule");
    await press(r, 'enter');
    expect(frameOf(r)).toContain('(Tab: back to the suggestions)');
    await type(r, MISSING_TMP);
    const f = frameOf(r);
    expect(f).toMatch(/✓ \/ +root 0755/);
    expect(f).toMatch(/✗ \/tmp +root 1777 +\(group- and world-writable\)/);
    // It does not exist: jailwizard would create it root-owned.
    expect(f).toMatch(new RegExp(`✓ ${MISSING_RE} +\\S`));
    expect(f).toContain('✗ /tmp is group- and world-writable: sshd refuses it');
    await press(r, 'enter', { until: false });
    expect(onSubmit).not.toHaveBeenCalled();

    for (let i = 0; i < MISSING_TMP.length; i++) await press(r, 'backspace');
    await type(r, 'srv/x');
    expect(frameOf(r)).toContain('✗ must be an absolute path');
    for (let i = 0; i < 'srv/x'.length; i++) await press(r, 'backspace');
    await type(r, '/srv/x');
    await press(r, 'enter', { until: () => onSubmit.mock.calls.length > 0 });
    expect(onSubmit).toHaveBeenCalledWith('/srv/x');

    await press(r, 'tab');
    expect(frameOf(r)).toContain('Type a path…');
  });

  it('Enter on a suggestion submits it', async () => {
    const onSubmit = vi.fn();
    const r = render(withUi(<JailScreen user="alice" value="/srv/jails/alice" home="/home/alice" chain={chain} validate={() => undefined} onSubmit={onSubmit} />));
    await press(r, 'enter', { until: () => onSubmit.mock.calls.length > 0 });
    expect(onSubmit).toHaveBeenCalledWith('/srv/jails/alice');
  });

  it('a custom jail chosen earlier is shown in the text field', () => {
    const r = render(withUi(<JailScreen user="alice" value="/srv/custom" home="/home/alice" chain={chain} validate={() => undefined} onSubmit={() => {}} />));
    expect(frameOf(r)).toContain('› /srv/custom');
    expect(frameOf(r)).toContain('(Tab: back to the suggestions)');
  });
});

describe('ArchScreen', () => {
  it('offers only the host arch when nothing else is available, with its loader and libdir', async () => {
    const onSubmit = vi.fn();
    const r = render(withUi(<ArchScreen hostArch="x86_64" available={['x86_64']} value="auto" onSubmit={onSubmit} />));
    const f = frameOf(r);
    expect(f).toContain('x86_64 (this host)');
    expect(f).toContain('loader    /lib64/ld-linux-x86-64.so.2');
    expect(f).toContain('libraries /lib/x86_64-linux-gnu');
    expect(f).toContain('only x86_64 is offered');
    expect(f).not.toMatch(/aarch64|armhf|i386/);
    await press(r, 'enter', { until: () => onSubmit.mock.calls.length > 0 });
    expect(onSubmit).toHaveBeenCalledWith('auto');
  });

  it('other arches with binaries are offered, each with its own layout', async () => {
    const onSubmit = vi.fn();
    const r = render(withUi(<ArchScreen hostArch="x86_64" available={['x86_64', 'i386']} value="auto" onSubmit={onSubmit} />));
    expect(frameOf(r)).not.toContain('only x86_64 is offered');
    await press(r, 'down');
    expect(frameOf(r)).toContain('loader    /lib/ld-linux.so.2');
    expect(frameOf(r)).toContain('libraries /lib/i386-linux-gnu');
    await press(r, 'enter', { until: () => onSubmit.mock.calls.length > 0 });
    expect(onSubmit).toHaveBeenCalledWith('i386');
  });
});

describe('AccessScreen', () => {
  it('Enter on an empty line explains the consequence; a second Enter leaves keys for later', async () => {
    const calls: string[] = [];
    const r = render(withUi(<AccessScreen user="alice" keys={[]} onAdd={async () => []} onLater={() => calls.push('later')} onNext={() => calls.push('next')} />));
    expect(frameOf(r)).toContain("Paste a public key for alice");
    expect(frameOf(r)).toContain('Enter on an empty line: add keys later.');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('No keys: nobody can log in as alice until you add one to /etc/ssh/authorized_keys/alice');
    expect(calls).toEqual([]);
    await press(r, 'enter', { until: () => calls.length === 2 });
    expect(calls).toEqual(['later', 'next']);
  });

  it('shows the refusal from onAdd and puts the typed text back to be corrected', async () => {
    const onAdd = vi.fn(async (t: string): Promise<KeyCheck[]> => [{ status: 'refused', line: t, error: 'not a public key: ssh-keygen -l failed' }]);
    const r = render(withUi(<AccessScreen user="alice" keys={[]} onAdd={onAdd} onLater={() => {}} onNext={() => {}} />));
    await type(r, 'garbage');
    await press(r, 'enter', { until: false });
    await waitForFrame(r.lastFrame, '✗ refused: not a public key: ssh-keygen -l failed');
    expect(onAdd).toHaveBeenCalledWith('garbage');
    expect(frameOf(r)).toContain('› garbage');
  });

  it('a valid key clears the field; listed keys show their label and Enter goes on', async () => {
    let resolve: (v: KeyCheck[]) => void = () => {};
    const onAdd = vi.fn((_t: string) => new Promise<KeyCheck[]>((r) => (resolve = r)));
    const onNext = vi.fn();
    const r = render(withUi(<AccessScreen user="alice" keys={[]} onAdd={onAdd} onLater={() => {}} onNext={onNext} />));
    await type(r, 'ssh-ed25519 AAAAC3Nz alice@laptop');
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'checking with ssh-keygen -l');
    resolve([{ status: 'added', line: 'ssh-ed25519 AAAAC3Nz alice@laptop', label: 'ED25519 256 SHA256:abc alice@laptop', fingerprint: 'SHA256:abc' }]);
    await waitForFrame(r.lastFrame, (f) => !f.includes('checking') && f.includes('added ED25519'));
    r.rerender(withUi(<AccessScreen user="alice" keys={[{ line: 'ssh-ed25519 AAAAC3Nz alice@laptop', label: 'ED25519 256 SHA256:abc alice@laptop' }]} onAdd={onAdd} onLater={() => {}} onNext={onNext} />));
    // The report of the entry stays until the next one; the count says what is listed.
    await waitForFrame(r.lastFrame, '1 key. Enter on an empty line continues.');
    expect(frameOf(r)).toContain('✓ added ED25519 256 SHA256:abc alice@laptop');
    expect(frameOf(r)).toMatch(/^› +$/m);
    await press(r, 'enter', { until: () => onNext.mock.calls.length === 1 });
  });

  it('lines typed with Enter in one read are checked one after the other, in order', async () => {
    const onAdd = vi.fn(async (t: string): Promise<KeyCheck[]> => [{ status: 'added', line: t, label: t, fingerprint: 'SHA256:x' }]);
    const r = render(withUi(<AccessScreen user="alice" keys={[]} onAdd={onAdd} onLater={() => {}} onNext={() => {}} />));
    await type(r, 'ssh-ed25519 AAAA one\rssh-ed25519 BBBB two\r', { until: () => onAdd.mock.calls.length === 2 });
    expect(onAdd.mock.calls.map((c) => c[0])).toEqual(['ssh-ed25519 AAAA one', 'ssh-ed25519 BBBB two']);
  });

  it('a bracketed paste of several lines is one entry; each line is reported: added, duplicate with its fingerprint, refused with why', async () => {
    const onAdd = vi.fn(
      async (_t: string): Promise<KeyCheck[]> => [
        { status: 'added', line: 'ssh-ed25519 AAAA one', label: 'ED25519 256 SHA256:one one', fingerprint: 'SHA256:one' },
        { status: 'duplicate', line: 'ssh-ed25519 AAAA one', fingerprint: 'SHA256:one' },
        { status: 'refused', line: 'garbage', error: '"garbage" is not a valid public key' },
      ],
    );
    const r = render(withUi(<AccessScreen user="alice" keys={[]} onAdd={onAdd} onLater={() => {}} onNext={() => {}} />));
    await type(r, '\u001b[200~ssh-ed25519 AAAA one\nssh-ed25519 AAAA one\ngarbage\n\u001b[201~', { until: () => onAdd.mock.calls.length === 1 });
    expect(onAdd.mock.calls[0]![0]).toBe('ssh-ed25519 AAAA one\nssh-ed25519 AAAA one\ngarbage\n');
    const f = await waitForFrame(r.lastFrame, 'line 3:');
    expect(f).toContain('✓ line 1: added ED25519 256 SHA256:one one');
    expect(f).toContain('! line 2: duplicate, already in the list: SHA256:one');
    expect(f).toContain('✗ line 3: refused: "garbage" is not a valid public key');
    expect(f).toMatch(/^› +$/m); // the field is empty again (only the cursor cell)
  });
});

/** The Options screen in the App's frame, with the App's reducer, Esc and Continue. */
function OptionsHarness({ draft, onContinue }: { draft: Partial<Draft>; onContinue?: () => void }): React.JSX.Element {
  const [s, dispatch] = useReducer(reducer, undefined, () => ({ ...initialState({ user: 'alice', jail: '/srv/jails/alice', authorizedKeys: [KEY_LINE], ...draft }), screen: 'options' as const }));
  const { rows, columns } = useSize();
  const hints = 'arrows move · space toggle · enter edit · c continue · esc back · ctrl+c quit';
  // The App's root: Esc is `back` (which cancels an edit on this screen).
  return (
    <KeysRoot
      root={(key) => {
        if (key.name !== 'escape') return false;
        dispatch({ type: 'back' });
        return true;
      }}
    >
    <Frame screen={s.screen} index={7} total={11} hints={hints}>
      {s.screen === 'options' ? (
        <OptionsScreen
          draft={s.draft}
          ui={s.optionsUi}
          onAction={dispatch}
          bodyRows={frameBodyRows(rows, columns, hints, useUi().sym)}
          onContinue={() => {
            onContinue?.();
            const r = checkAnswers(draftToAnswers(s.draft));
            dispatch('error' in r ? { type: 'options-checked', error: r.error } : { type: 'options-checked', answers: r.answers });
          }}
        />
      ) : (
        <Text>left for {s.screen}: {JSON.stringify(draftToAnswers(s.draft))}</Text>
      )}
    </Frame>
    </KeysRoot>
  );
}

const KEY_LINE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey alice@laptop';

function sized(draft: Partial<Draft>, columns: number, rows: number, caps = uiFor()) {
  return renderSized(
    <UiContext.Provider value={caps}>
      <OptionsHarness draft={draft} />
    </UiContext.Provider>,
    { columns, rows },
  );
}

/** Lines wider than the terminal, and whether the frame is shorter than the window. */
function fits(frame: string, columns: number, rows: number): string[] {
  const lines = frame.replace(/\n$/, '').split('\n');
  const bad = lines.filter((l) => l.length > columns).map((l) => `${l.length} columns: ${l}`);
  if (lines.length > rows - 1) bad.push(`${lines.length} lines in a ${rows}-row window`);
  return bad;
}

describe('OptionsScreen', () => {
  it('at 80x24 shows every option with its value and a one-line explanation, and fits', () => {
    const r = sized({ tools: ['sftp'] }, 80, 24);
    const f = frameOf(r);
    expect(fits(f, 80, 24)).toEqual([]);
    expect(f).toContain('7/11 Options');
    for (const name of ['shared', 'writable', 'readOnly', 'umask', 'startDir', 'log', 'group', 'groupDir', 'binds', 'allowFrom', 'extraBinaries', 'allowSetuid', 'extras locale', 'extras terminfo', 'extras profile', 'extras tmp', 'extras nss', 'Continue to the preview']) {
      expect(f).toContain(name);
    }
    expect(f).toMatch(/^› shared +○ +one jail for several users/m);
    expect(f).toMatch(/^  readOnly +○ +read, never write \(internal-sftp -R\)/m);
    expect(f).toMatch(/^  umask +- +umask of uploads/m);
    // sftp alone: extra commands and a group dir do not apply, and say why.
    expect(f).toMatch(/^  extraBinaries +- +n\/a: needs bash, rsync or scp/m);
    expect(f).toMatch(/^  groupDir +- +n\/a: needs a group/m);
    expect(f).toMatch(/^  extras locale +○/m); // nothing preselected without bash
    expect(f).toContain('Space toggles.');
    expect(f).toContain('c continue');
  });

  it('at 60x20 fits, and the list scrolls with the cursor, marked with arrows', async () => {
    const r = sized({ tools: ['bash', 'sftp'] }, 60, 20);
    let f = frameOf(r);
    expect(fits(f, 60, 20)).toEqual([]);
    expect(f).toMatch(/^› shared/m);
    expect(f).toMatch(/^↓ /m);
    expect(f).not.toContain('Continue to the preview');
    await press(r, 'up'); // wraps to Continue
    f = frameOf(r);
    expect(fits(f, 60, 20)).toEqual([]);
    expect(f).toMatch(/^› Continue to the preview/m);
    expect(f).toMatch(/^↑ /m);
    expect(f).not.toMatch(/^. shared/m);
    // While editing, with a refusal shown, it still fits.
    for (let i = 0; i < 9; i++) await press(r, 'up');
    expect(frameOf(r)).toMatch(/^› binds/m);
    await press(r, 'enter');
    await type(r, '/srv/a-rather-long/source/directory/name:/web:xx, /srv/b:/b');
    await press(r, 'enter');
    f = frameOf(r);
    expect(f.replace(/\n +/g, ' ')).toContain('✗ binds: write SOURCE:TARGET[:ro|rw], not "/srv/a-rather');
    expect(f).toMatch(/^binds: \/srv\/a-rather-long/m);
    expect(f).toContain('hint: e.g. /srv/web/example.com:/web:ro');
    expect(fits(f, 60, 20)).toEqual([]);
    // Wrapped at words: no line of the refusal ends inside a word of the message.
    expect(f).toMatch(/^✗ binds: write SOURCE:TARGET\[:ro\|rw\], not$/m);
    expect(f).toMatch(/^› binds/m);
  });

  it('an sftp-only user: space toggles readOnly, Enter types an umask in place', async () => {
    const r = sized({ tools: ['sftp'] }, 80, 24);
    await press(r, 'down');
    await press(r, 'j');
    expect(frameOf(r)).toMatch(/^› readOnly +○/m);
    await press(r, 'space');
    expect(frameOf(r)).toMatch(/^› readOnly +◉ +read, never write/m);
    await press(r, 'down');
    expect(frameOf(r)).toContain('Enter edits: octal, e.g. 0027');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('Enter accepts, Esc cancels; octal, e.g. 0027');
    // j, k, c and space are text while editing.
    await type(r, '0');
    await press(r, 'c', { until: false });
    await press(r, 'k', { until: false });
    await waitForFrame(r.lastFrame, 'umask: 0ck');
    for (let i = 0; i < 2; i++) await press(r, 'backspace');
    await type(r, '027');
    await press(r, 'enter');
    let f = frameOf(r);
    expect(f).toMatch(/^› umask +0027 +umask of uploads/m);
    expect(f).not.toContain('Enter accepts');
    // Continue: checked by parseAnswers and left for the preview, in normal form.
    await press(r, 'c');
    f = frameOf(r).replace(/\n/g, '');
    expect(f).toContain('left for preview');
    expect(f).toContain('"readOnly":true');
    expect(f).toContain('"umask":"0027"');
  });

  it('a bad umask ("0999") is refused at Continue with the message and the hint, and the screen stays', async () => {
    const r = sized({ tools: ['sftp'] }, 80, 24);
    for (let i = 0; i < 3; i++) await press(r, 'down');
    await press(r, 'enter');
    await type(r, '0999');
    await press(r, 'enter');
    expect(frameOf(r)).toMatch(/^› umask +0999/m);
    await press(r, 'c');
    let f = frameOf(r);
    expect(f).toContain('✗ wizard: "umask" must be a quoted octal string, got a string ("0999")');
    expect(f).toContain('  hint: e.g. umask: "0027"');
    expect(f).toContain('7/11 Options');
    expect(fits(f, 80, 24)).toEqual([]);
    // Continue from the last row, too, is refused the same way.
    await press(r, 'tab', { until: false });
    expect(frameOf(r)).toContain('7/11 Options');
    // Correct it: the refusal goes with the change, and Continue goes on.
    await press(r, 'enter');
    for (let i = 0; i < 3; i++) await press(r, 'backspace');
    await type(r, '077');
    await press(r, 'enter');
    f = frameOf(r);
    expect(f).not.toContain('✗');
    await press(r, 'c');
    expect(frameOf(r).replace(/\n/g, '')).toContain('"umask":"0077"');
  });

  it('with bash: readOnly is dimmed and says why; space does nothing; bash preselects locale and terminfo', async () => {
    const prev = chalk.level;
    chalk.level = 1; // let Ink emit the dim attribute, to see it
    try {
      const r = sized({ tools: ['bash', 'sftp'] }, 80, 24);
      const raw = r.lastFrame() ?? '';
      const rawLine = raw.split('\n').find((l) => l.includes('readOnly'))!;
      expect(rawLine).toContain('\u001b[2m');
      expect(raw.split('\n').find((l) => l.includes('writable'))).not.toContain('\u001b[2m');
      let f = frameOf(r);
      expect(f).toMatch(/^  readOnly +○ +n\/a: needs tools = \[sftp\] alone/m);
      expect(f).toMatch(/^  umask +- +n\/a: needs tools = \[sftp\] alone/m);
      expect(f).toMatch(/^  startDir +- +n\/a/m);
      expect(f).toMatch(/^  log +○ +n\/a/m);
      expect(f).toMatch(/^  extras locale +◉/m);
      expect(f).toMatch(/^  extras terminfo +◉/m);
      expect(f).toMatch(/^  extras profile +○/m);
      await press(r, 'down');
      await press(r, 'down');
      f = frameOf(r);
      expect(f).toContain('readOnly: not used here, needs tools = [sftp] alone');
      await press(r, 'space', { until: false });
      await press(r, 'enter', { until: false });
      expect(frameOf(r)).toMatch(/^› readOnly +○ +n\/a/m);
    } finally {
      chalk.level = prev;
    }
  });

  it('extras toggle one by one; group makes groupDir editable; Esc cancels an edit, then goes back', async () => {
    const r = sized({ tools: ['bash'] }, 80, 24);
    for (let i = 0; i < 12; i++) await press(r, 'down');
    expect(frameOf(r)).toMatch(/^› extras locale +◉/m);
    await press(r, 'space');
    expect(frameOf(r)).toMatch(/^› extras locale +○/m);
    await press(r, 'down');
    await press(r, 'down');
    await press(r, 'enter'); // Enter toggles too
    expect(frameOf(r)).toMatch(/^› extras profile +◉/m);
    for (let i = 0; i < 8; i++) await press(r, 'up');
    expect(frameOf(r)).toMatch(/^› group +- /m);
    await press(r, 'enter');
    await type(r, 'uploads');
    await press(r, 'enter');
    await press(r, 'down');
    expect(frameOf(r)).toMatch(/^› groupDir +- +setgid dir/m);
    await press(r, 'enter');
    await type(r, '/shared');
    await press(r, 'escape');
    expect(frameOf(r)).toMatch(/^› groupDir +- +setgid/m);
    await press(r, 'enter');
    await type(r, '/shared');
    await press(r, 'enter');
    expect(frameOf(r)).toMatch(/^› groupDir +\/shared/m);
    await press(r, 'c');
    const f = frameOf(r).replace(/\n/g, '');
    expect(f).toContain('"group":"uploads","groupDir":"/shared"');
    expect(f).toContain('"extras":["terminfo","profile"]');
  });

  it('draws only ASCII when the locale is not UTF-8', async () => {
    const r = sized({ tools: ['sftp'] }, 60, 20, uiFor({ unicode: false }));
    expect(nonAscii(frameOf(r))).toEqual([]);
    expect(frameOf(r)).toMatch(/^> shared +\[ \]/m);
    expect(frameOf(r)).toMatch(/^v /m);
    await press(r, 'up');
    expect(nonAscii(frameOf(r))).toEqual([]);
    expect(frameOf(r)).toMatch(/^\^ /m);
  });
});

describe('PreviewScreen', () => {
  const many = plan(Array.from({ length: 30 }, (_, i) => step(`Step title ${i + 1}`, ['install', '-d', `/srv/jails/alice/dir${i + 1}`])));
  const noop = (): void => {};

  it('shows one page of a long plan and scrolls with PgDn and space', async () => {
    const r = render(withUi(<PreviewScreen plan={many} height={10} onConfirm={noop} onSaveScript={noop} onSaveAnswers={noop} />));
    let f = frameOf(r);
    // 30 steps x (title, why, command) = 90 lines; a page is height - 1.
    expect(f).toContain('lines 1-9 of 90');
    expect(f).toContain('Step 1/30: Step title 1');
    expect(f).not.toContain('Step 4/30');
    expect(f).toContain('Enter: apply these 30 steps.');
    await press(r, 'pagedown');
    f = frameOf(r);
    expect(f).toContain('lines 10-18 of 90');
    expect(f).toContain('Step 4/30: Step title 4');
    expect(f).not.toContain('Step 1/30');
    await press(r, 'space');
    expect(frameOf(r)).toContain('lines 19-27 of 90');
    await press(r, 'pageup');
    expect(frameOf(r)).toContain('lines 10-18 of 90');
    await press(r, 'G');
    expect(frameOf(r)).toContain('lines 82-90 of 90');
    expect(frameOf(r)).toContain('install -d /srv/jails/alice/dir30');
  });

  it('Enter confirms; s and a save the script and the answers', async () => {
    const onConfirm = vi.fn();
    const onSaveScript = vi.fn();
    const onSaveAnswers = vi.fn();
    const r = render(withUi(<PreviewScreen plan={many} height={10} onConfirm={onConfirm} onSaveScript={onSaveScript} onSaveAnswers={onSaveAnswers} />));
    await press(r, 's', { until: () => onSaveScript.mock.calls.length === 1 });
    await press(r, 'a', { until: () => onSaveAnswers.mock.calls.length === 1 });
    await press(r, 'enter', { until: () => onConfirm.mock.calls.length === 1 });
    expect(onSaveScript).toHaveBeenCalledTimes(1);
    expect(onSaveAnswers).toHaveBeenCalledTimes(1);
    r.rerender(withUi(<PreviewScreen plan={many} height={10} saved="/root/jailwizard-alice.sh" onConfirm={onConfirm} onSaveScript={onSaveScript} onSaveAnswers={onSaveAnswers} />));
    await waitForFrame(r.lastFrame, '✓ saved /root/jailwizard-alice.sh');
  });

  it('while planning, keys do nothing', async () => {
    const onConfirm = vi.fn();
    const r = render(withUi(<PreviewScreen height={10} onConfirm={onConfirm} onSaveScript={noop} onSaveAnswers={noop} />));
    expect(frameOf(r)).toContain('Planning: reading this host');
    await press(r, 'enter', { until: false });
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it('a planning error shows the message and the hint', async () => {
    const onConfirm = vi.fn();
    const r = render(withUi(<PreviewScreen error={{ message: 'sshd -t failed: line 12: Bad option', hint: 'fix /etc/ssh/sshd_config first' }} height={10} onConfirm={onConfirm} onSaveScript={noop} onSaveAnswers={noop} />));
    const f = frameOf(r);
    expect(f).toContain('✗ sshd -t failed: line 12: Bad option');
    expect(f).toContain('hint: fix /etc/ssh/sshd_config first');
    expect(f).toContain('Esc: go back and change the answers.');
    await press(r, 'enter', { until: false });
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it('wraps long commands with a shell continuation at word boundaries, at 80 and 60 columns', () => {
    const argv = ['rsync', '-a', '--chmod=D0755,F0644', ...Array.from({ length: 12 }, (_, i) => `/usr/lib/x86_64-linux-gnu/some-long-library-name-${i}.so.6`), '/srv/jails/alice/usr/lib/END-OF-COMMAND'];
    const p = plan([step('Copy the libraries', argv)]);
    for (const columns of [80, 60]) {
      const r = renderSized(withUi(<PreviewScreen plan={p} height={40} onConfirm={noop} onSaveScript={noop} onSaveAnswers={noop} />), { columns, rows: 50 });
      const lines = frameOf(r).split('\n');
      expect(lines.filter((l) => l.length > columns - 1)).toEqual([]);
      const first = lines.findIndex((l) => l.trimStart().startsWith('rsync '));
      let last = first;
      while (lines[last]!.endsWith(' \\')) last++;
      expect(last - first).toBeGreaterThan(3);
      // Each line holds whole words: the lines, continuations removed, are the command.
      const rebuilt = lines.slice(first, last + 1).map((l) => l.replace(/ \\$/, '').trim()).join(' ');
      expect(rebuilt).toBe(shJoin(argv));
      r.unmount();
    }
  });
});

function runState(o: Partial<RunState> = {}): RunState {
  return { steps: [], log: [], rolledBack: [], rollingBack: false, manual: [], ...o };
}

describe('RunScreen', () => {
  const noop = (): void => {};

  it('finished steps in the log, a spinner on the running step and a progress line', () => {
    const run = runState({
      steps: [
        { title: 'Create user alice', status: 'done' },
        { title: 'Make the jail', status: 'done' },
        { title: 'Copy binaries and libraries', status: 'running' },
        { title: 'Reload sshd', status: 'pending' },
      ],
      log: [
        { kind: 'done', text: 'Create user alice' },
        { kind: 'done', text: 'Make the jail' },
      ],
      progress: { done: 3, total: 10, bytes: 1e6, totalBytes: 2e6 },
    });
    const r = render(withUi(<><RunLog log={run.log} /><RunScreen run={run} finished={false} height={16} onPendingPlan={noop} onExit={noop} /></>));
    const f = frameOf(r);
    expect(f).toContain('✓ Create user alice');
    expect(f).toContain('✓ Make the jail');
    expect(f).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Copy binaries and libraries/);
    expect(f).toContain('3/10 files, 1.0 MB of 2.0 MB');
    expect(f).toContain('████████████░░░░░░░░░░░░');
    expect(f).toContain('2/4 steps done. Ctrl+C rolls everything back.');
    expect(f).not.toContain('Reload sshd');
  });

  it('after a failure: the error and "Rolled back"; Enter exits', async () => {
    const onExit = vi.fn();
    const run = runState({
      steps: [
        { title: 'Create user alice', status: 'undone' },
        { title: 'Make the jail', status: 'failed' },
      ],
      log: [
        { kind: 'done', text: 'Create user alice' },
        { kind: 'failed', text: 'Make the jail: ENOSPC' },
        { kind: 'undone', text: 'Make the jail' },
        { kind: 'undone', text: 'Create user alice' },
      ],
      rolledBack: [
        { title: 'Make the jail', ok: true },
        { title: 'Create user alice', ok: true },
      ],
      error: 'Make the jail: the disk is full',
    });
    const r = render(withUi(<><RunLog log={run.log} /><RunScreen run={run} finished ok={false} height={16} onPendingPlan={noop} onExit={onExit} /></>));
    const f = frameOf(r);
    expect(f).toContain('✗ Make the jail: ENOSPC');
    expect(f).toContain('↩ undone: Make the jail');
    expect(f).toContain('↩ undone: Create user alice');
    expect(f).toContain('✗ Make the jail: the disk is full');
    expect(f).toContain('✓ Rolled back: 2 steps undone; the host is as it was.');
    expect(f).not.toContain('steps done');
    await press(r, 'enter', { until: () => onExit.mock.calls.length === 1 });
  });

  it('rolling back shows its own line instead of the running step', () => {
    const run = runState({ steps: [{ title: 'Copy binaries', status: 'running' }], rollingBack: true });
    const r = render(withUi(<><RunLog log={run.log} /><RunScreen run={run} finished={false} height={16} onPendingPlan={noop} onExit={noop} /></>));
    expect(frameOf(r)).toContain('Rolling back, newest change first');
    expect(frameOf(r)).not.toContain('Copy binaries');
  });

  it('changes that could not be undone are listed as commands to run by hand', () => {
    const run = runState({
      log: [{ kind: 'undo-failed', text: 'Make the jail' }],
      rolledBack: [{ title: 'Make the jail', ok: false }],
      manual: ['rmdir /srv/jails/alice', 'userdel alice'],
      error: 'Make the jail: boom',
    });
    const r = render(withUi(<><RunLog log={run.log} /><RunScreen run={run} finished ok={false} height={16} onPendingPlan={noop} onExit={noop} /></>));
    const f = frameOf(r);
    expect(f).toContain('✗ could not undo: Make the jail');
    expect(f).toContain('These changes could not be undone; run them by hand:');
    expect(f).toContain('  rmdir /srv/jails/alice');
    expect(f).toContain('  userdel alice');
    expect(f).not.toContain('Rolled back:');
  });

  it('a second plan after installing packages waits for Enter or Esc', async () => {
    const answers: boolean[] = [];
    const run = runState({ pendingPlan: plan([step('Copy rsync', ['install', '/usr/bin/rsync', '/srv/jails/alice/usr/bin/rsync'])]) });
    const r = render(withUi(<><RunLog log={run.log} /><RunScreen run={run} finished={false} height={16} onPendingPlan={(go) => answers.push(go)} onExit={noop} /></>));
    expect(frameOf(r)).toContain('The packages are installed. The next steps copy their files:');
    expect(frameOf(r)).toContain('install /usr/bin/rsync /srv/jails/alice/usr/bin/rsync');
    await press(r, 'escape', { until: () => answers.length === 1 });
    await press(r, 'enter', { until: () => answers.length === 2 });
    expect(answers).toEqual([false, true]);
  });
});

describe('ConnectionTestScreen', () => {
  const probes: ProbeResult[] = [
    { name: 'ssh login (bash)', ok: true, detail: '' },
    { name: 'cannot leave the jail', ok: true, detail: '' },
    { name: 'sftp put', ok: false, detail: 'Permission denied (publickey)' },
  ];

  it('ticks the probes off while the test runs', () => {
    const r = render(withUi(<ConnectionTestScreen probes={probes} finished={false} rolledBack={0} height={16} onExit={() => {}} />));
    const f = frameOf(r);
    expect(f).toContain('✓ ssh login (bash)');
    expect(f).toContain('✓ cannot leave the jail');
    expect(f).toContain('✗ sftp put: Permission denied (publickey)');
    expect(f).toContain('probing… (3 done)');
  });

  it('a failed test says it rolled back; Enter exits', async () => {
    const onExit = vi.fn();
    const r = render(withUi(<ConnectionTestScreen probes={probes} finished ok={false} error="the connection test failed: sftp put" rolledBack={7} height={16} onExit={onExit} />));
    expect(frameOf(r)).toContain('the connection test failed: sftp put');
    expect(frameOf(r)).toContain('Rolled back 7 step(s)');
    await press(r, 'enter', { until: () => onExit.mock.calls.length === 1 });
  });
});

describe('SummaryScreen', () => {
  const answers: Answers = { user: 'alice', tools: ['bash', 'rsync', 'scp', 'sftp'], jail: '/srv/jails/alice', arch: 'auto', authorizedKeys: ['k'], createUser: true, installMissing: false };

  it('shows how to connect on a non-default port, how to undo and the answers file', async () => {
    const onExit = vi.fn();
    const r = render(withUi(<SummaryScreen answers={answers} host="jail.example" port={2222} passed={6} answersPath="/var/lib/jailwizard/answers/alice.yaml" extraFlags=" --state-dir /tmp/st" onExit={onExit} />));
    const f = frameOf(r);
    expect(f).toContain('✓ alice is jailed in /srv/jails/alice with bash, rsync, scp, sftp; 6 probes passed.');
    expect(f).toContain('sftp -P 2222 alice@jail.example');
    expect(f).toContain('scp -P 2222 FILE alice@jail.example:');
    expect(f).toContain('ssh -p 2222 alice@jail.example');
    expect(f).toContain("rsync -av -e 'ssh -p 2222' FILES alice@jail.example:");
    expect(f).toContain('jailwizard remove alice --state-dir /tmp/st');
    expect(f).toContain('Again: jailwizard apply --config');
    expect(f).not.toContain('no keys yet');
    await press(r, 'enter', { until: () => onExit.mock.calls.length === 1 });
    // On exit the same summary is printed whole, as plain lines to copy.
    const printed = String(onExit.mock.calls[0]![0]);
    expect(printed).toContain('Undo:  jailwizard remove alice --state-dir /tmp/st');
    expect(printed).toContain('jailwizard apply --config /var/lib/jailwizard/answers/alice.yaml --state-dir /tmp/st');
    expect(printed).toContain("rsync -av -e 'ssh -p 2222' FILES alice@jail.example:");
  });

  it('on port 22 the commands carry no port; only the chosen tools are shown', () => {
    const r = render(withUi(<SummaryScreen answers={{ ...answers, tools: ['sftp'], authorizedKeys: [] }} host="h" port={22} passed={2} extraFlags="" onExit={() => {}} />));
    const f = frameOf(r);
    expect(f).toContain('  sftp alice@h');
    expect(f).not.toMatch(/-P|-p \d|ssh alice|rsync/);
    expect(f).toContain('jailwizard remove alice');
    expect(f).toContain('(no keys yet: add them to /etc/ssh/authorized_keys/alice)');
    expect(f).not.toContain('Again:');
  });
});

describe('ASCII fallback (unicode: false)', () => {

  it('ToolsScreen uses ASCII symbols', () => {
    const r = render(withUi(<ToolsScreen selected={['scp']} cursor={0} missing={[]} onMoves={() => {}} onNext={() => {}} />, ASCII));
    const f = frameOf(r);
    expect(f).toContain('> [ ] bash');
    expect(f).toContain('  [x] scp');
    expect(f).toContain('  [ ] sftp');
    expect(nonAscii(f)).toEqual([]);
  });

  it('ToolsScreen says "choose at least one tool" in ASCII', async () => {
    const r = render(withUi(<ToolsScreen selected={[]} cursor={0} missing={[]} onMoves={() => {}} onNext={() => {}} />, ASCII));
    await press(r, 'enter');
    expect(frameOf(r)).toContain('x choose at least one tool');
    expect(nonAscii(frameOf(r))).toEqual([]);
  });

  it('JailScreen uses ASCII symbols for the chain and the problem', async () => {
    const r = render(withUi(<JailScreen user="alice" value="" home="/home/alice" chain={(j) => chrootChain(j)} validate={() => 'not allowed'} onSubmit={() => {}} />, ASCII));
    expect(frameOf(r)).toMatch(/\+ \/srv +root 0755/);
    expect(frameOf(r)).toContain('x not allowed');
    expect(nonAscii(frameOf(r))).toEqual([]);
    await press(r, 'down');
    await press(r, 'down');
    await press(r, 'enter');
    await type(r, MISSING_TMP);
    expect(frameOf(r)).toMatch(/x \/tmp +root 1777/);
    expect(frameOf(r)).toContain(`> ${MISSING_TMP}`);
    expect(nonAscii(frameOf(r))).toEqual([]);
  });

  it('ToolsScreen draws no non-ASCII character at all', () => {
    const r = render(withUi(<ToolsScreen selected={[]} cursor={0} missing={[]} onMoves={() => {}} onNext={() => {}} />, ASCII));
    expect(nonAscii(frameOf(r))).toEqual([]);
  });

  it('JailScreen draws no non-ASCII character at all', () => {
    const r = render(withUi(<JailScreen user="alice" value="" home="/home/alice" chain={(j) => chrootChain(j)} validate={() => undefined} onSubmit={() => {}} />, ASCII));
    expect(nonAscii(frameOf(r))).toEqual([]);
  });
});

// ------------------------------------------------------------------ the whole App

const PROBES: ProbeResult[] = [
  { name: 'ssh login (bash)', ok: true, detail: '' },
  { name: 'sftp ls', ok: true, detail: '' },
];

const SMALL_PLAN = plan([step('Create user alice', ['useradd', '-M', 'alice']), step('Copy binaries', ['install', '/bin/bash', '/srv/jails/alice/bin/bash'])]);

/** A gate the test opens to let the fake executor go on. */
function gate(): { wait: Promise<void>; open(): void } {
  let open = (): void => {};
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

type Execute = (a: Answers, p: Plan, hooks: ApplyHooks) => Promise<ApplyOutcome>;

function fakeServices(o: { execute?: Execute; preflight?: () => Promise<Preflight> } = {}) {
  const services = {
    extraFlags: ' --state-dir /tmp/jw-state',
    preflight: vi.fn(o.preflight ?? (async () => OK_PREFLIGHT)),
    rollbackUnfinished: vi.fn(async () => ({ manual: [] as string[] })),
    users: vi.fn(() => ['alice']),
    validateUser: vi.fn((_n: string): string | undefined => undefined),
    homeOf: vi.fn((u: string) => `/home/${u}`),
    chain: vi.fn((j: string) => chrootChain(j)),
    validateJail: vi.fn((_j: string, _u: string): string | undefined => undefined),
    missingTools: vi.fn((): Tool[] => []),
    arches: vi.fn((_t: Tool[]) => ({ host: 'x86_64' as const, available: ['x86_64' as const] })),
    checkKeys: vi.fn(async (text: string, _existing: string[]) => ({ lines: [{ status: 'added' as const, line: text, label: 'ED25519 256 SHA256:abc alice@laptop', fingerprint: 'SHA256:abc' }] })),
    checkAnswers: vi.fn(checkAnswers),
    plan: vi.fn(async (_a: Answers) => SMALL_PLAN),
    execute: vi.fn<Execute>(
      o.execute ??
        (async (_a, p, hooks) => {
          for (const [i, st] of p.steps.entries()) {
            hooks.listener({ type: 'step-start', index: i, total: p.steps.length, step: st });
            hooks.listener({ type: 'step-done', index: i });
          }
          hooks.onTestStart?.();
          for (const pr of PROBES) hooks.onProbe?.(pr);
          return { ok: true, probes: PROBES };
        }),
    ),
    saveScript: vi.fn((_p: Plan) => '/root/jailwizard-alice.sh'),
    saveAnswers: vi.fn((_a: Answers, where: 'cwd' | 'state') => (where === 'state' ? '/tmp/jw-state/answers/alice.yaml' : '/root/jailwizard-alice.yaml')),
    connectTarget: vi.fn(async () => ({ host: 'jail.example', port: 2222, from: 'fqdn' as const })),
    repairCandidates: vi.fn(() => [{ user: 'bob', reason: 'sshd log: chroot failure' }]),
    diagnose: vi.fn(async (_u: string) => ({ report: ['✗ /srv  root 0775  group-writable'], plan: SMALL_PLAN })),
    fix: vi.fn(async () => ({ ok: true, manual: [], probes: PROBES, exitCode: 0 })),
  } satisfies Services;
  return services;
}

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey alice@laptop';

/** Renders the App and answers every screen up to the preview. */
async function driveToPreview(services: Services, onExit = vi.fn()) {
  const r = render(<App services={services} ui={uiFor()} onExit={onExit} />);
  await waitForFrame(r.lastFrame, 'Press Enter to start.');
  expect(frameOf(r)).toContain('jailwizard · 1/11 Preflight');
  await press(r, 'enter');
  expect(frameOf(r)).toContain('2/11 User');
  expect(frameOf(r)).toContain('Which user should be jailed?');
  await press(r, 'enter'); // alice
  expect(frameOf(r)).toContain('3/11 Tools');
  await press(r, 'space'); // bash
  for (let i = 0; i < 3; i++) await press(r, 'down');
  await press(r, 'space'); // sftp
  expect(frameOf(r)).toMatch(/◉ bash[\s\S]*› ◉ sftp/);
  await press(r, 'enter');
  expect(frameOf(r)).toContain('4/11 Jail location');
  // The default jail for the chosen user is highlighted (SelectInput draws its own pointer).
  expect(frameOf(r)).toMatch(/› \/srv\/jails\/alice/);
  expect(frameOf(r)).toMatch(/✓ \/srv +root 0755/);
  await press(r, 'enter');
  expect(frameOf(r)).toContain('5/11 Arch');
  expect(frameOf(r)).toContain('x86_64 (this host)');
  await press(r, 'enter');
  expect(frameOf(r)).toContain('6/11 Access');
  await type(r, KEY);
  await press(r, 'enter');
  await waitForFrame(r.lastFrame, '✓ added ED25519 256 SHA256:abc alice@laptop');
  expect(services.checkKeys).toHaveBeenCalledWith(KEY, []);
  await press(r, 'enter');
  expect(frameOf(r)).toContain('7/11 Options');
  // bash is chosen: its extras are preselected, the sftp-only options do not apply.
  expect(frameOf(r)).toMatch(/extras locale +◉/);
  expect(frameOf(r)).toMatch(/readOnly +○ +n\/a: needs tools = \[sftp\] alone/);
  await press(r, 'c');
  await waitForFrame(r.lastFrame, 'Enter: apply these 2 steps.');
  expect(frameOf(r)).toContain('8/11 Preview');
  expect(services.checkAnswers).toHaveBeenCalledTimes(1);
  return r;
}

const ANSWERS: Answers = { user: 'alice', tools: ['bash', 'sftp'], jail: '/srv/jails/alice', arch: 'auto', authorizedKeys: [KEY], createUser: true, installMissing: false, extras: ['locale', 'terminfo'] };

describe('App', () => {
  it('goes from Preflight to Summary, key by key', async () => {
    const g = gate();
    const services = fakeServices({
      execute: async (_a, p, hooks) => {
        hooks.listener({ type: 'step-start', index: 0, total: 2, step: p.steps[0]! });
        hooks.listener({ type: 'step-done', index: 0 });
        hooks.listener({ type: 'step-start', index: 1, total: 2, step: p.steps[1]! });
        hooks.listener({ type: 'progress', index: 1, done: 1, total: 4, bytes: 5e5, totalBytes: 2e6 });
        await g.wait;
        hooks.listener({ type: 'step-done', index: 1 });
        hooks.onTestStart?.();
        for (const pr of PROBES) hooks.onProbe?.(pr);
        return { ok: true, probes: PROBES };
      },
    });
    const onExit = vi.fn();
    const r = await driveToPreview(services, onExit);
    expect(services.plan).toHaveBeenCalledTimes(1);
    expect(services.plan).toHaveBeenCalledWith(ANSWERS);
    const preview = frameOf(r);
    expect(preview).toContain('Step 1/2: Create user alice');
    expect(preview).toContain('useradd -M alice');

    await press(r, 's');
    expect(frameOf(r)).toContain('✓ saved /root/jailwizard-alice.sh');
    expect(services.saveScript).toHaveBeenCalledWith(SMALL_PLAN);

    await press(r, 'enter');
    await waitForFrame(r.lastFrame, '1/4 files, 0.5 MB of 2.0 MB');
    let f = frameOf(r);
    expect(f).toContain('9/11 Run');
    expect(f).toContain('✓ Create user alice');
    expect(f).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Copy binaries/);
    expect(f).toContain('1/2 steps done.');
    expect(services.execute).toHaveBeenCalledTimes(1);
    expect(services.execute.mock.calls[0]![0]).toEqual(ANSWERS);
    // Exactly the plan that was previewed is executed.
    expect(services.execute.mock.calls[0]![1]).toBe(SMALL_PLAN);
    // Esc does nothing once changes have started.
    await press(r, 'escape', { until: false });
    expect(frameOf(r)).toContain('9/11 Run');

    g.open();
    f = await waitForFrame(r.lastFrame, '11/11 Summary');
    expect(r.frames.some((x) => x.includes('10/11 Connection test'))).toBe(true);
    expect(f).toContain('✓ alice is jailed in /srv/jails/alice with bash, sftp; 2 probes passed.');
    expect(f).toContain('sftp -P 2222 alice@jail.example');
    expect(f).toContain('ssh -p 2222 alice@jail.example');
    expect(f).toContain('jailwizard remove alice --state-dir /tmp/jw-state');
    expect(f).toContain('Again: jailwizard apply --config /tmp/jw-state/answers/alice.yaml');
    expect(services.saveAnswers).toHaveBeenCalledWith(ANSWERS, 'state');
    expect(onExit).not.toHaveBeenCalled();

    await press(r, 'enter', { until: () => onExit.mock.calls.length > 0 });
    expect(onExit).toHaveBeenCalledWith(0, undefined, expect.stringContaining('Undo:  jailwizard remove alice --state-dir /tmp/jw-state'));
  });

  it('Esc from Preview goes back to Options and Access, and back further, keeping the answers', async () => {
    const services = fakeServices();
    const r = await driveToPreview(services);
    await press(r, 'escape');
    expect(frameOf(r)).toContain('7/11 Options');
    await press(r, 'escape');
    let f = frameOf(r);
    expect(f).toContain('6/11 Access');
    expect(f).toContain('✓ ED25519 256 SHA256:abc alice@laptop');
    expect(f).toContain('Enter on an empty line continues.');
    await press(r, 'escape');
    expect(frameOf(r)).toContain('5/11 Arch');
    await press(r, 'escape');
    expect(frameOf(r)).toContain('4/11 Jail location');
    expect(frameOf(r)).toMatch(/› \/srv\/jails\/alice/);
    await press(r, 'escape');
    f = frameOf(r);
    expect(f).toContain('3/11 Tools');
    expect(f).toMatch(/◉ bash/);
    expect(f).toMatch(/◉ sftp/);
    expect(f).toMatch(/○ rsync/);
    // Forward again: the same answers, and a fresh plan.
    await press(r, 'enter');
    await press(r, 'enter');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('6/11 Access');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('7/11 Options');
    await press(r, 'tab');
    await waitForFrame(r.lastFrame, 'Enter: apply these 2 steps.');
    expect(services.plan).toHaveBeenCalledTimes(2);
    expect(services.plan.mock.calls[1]![0]).toEqual(ANSWERS);
  });

  it('Options in the App: Esc cancels an edit and stays, a refusal stays, the preview plans with the options', async () => {
    const services = fakeServices();
    const r = await driveToPreview(services);
    await press(r, 'escape');
    expect(frameOf(r)).toContain('7/11 Options');
    // allowFrom: Enter edits; Esc cancels the edit (the App's root Esc), not the screen.
    for (let i = 0; i < 9; i++) await press(r, 'down');
    expect(frameOf(r)).toMatch(/› allowFrom +- /);
    await press(r, 'enter');
    expect(frameOf(r)).toContain('enter accept · esc cancel');
    await type(r, '10.0.0.0/8');
    await press(r, 'escape');
    let f = frameOf(r);
    expect(f).toContain('7/11 Options');
    expect(f).toMatch(/› allowFrom +- /);
    // A bad address: Continue is refused with parseAnswers' words, and the screen stays.
    await press(r, 'enter');
    await type(r, '10.0.0.0/8, example.org');
    await press(r, 'enter');
    // The value column shortens a long value at a word; the line below shows it whole.
    expect(frameOf(r)).toMatch(/› allowFrom +10\.0\.0\.0\/8,\.\.\. /);
    expect(frameOf(r)).toContain('allowFrom = 10.0.0.0/8, example.org.');
    await press(r, 'c');
    f = frameOf(r);
    expect(f).toContain('7/11 Options');
    expect(f).toContain('✗ wizard: allowFrom entry "example.org" is not an IP address or network');
    expect(f).toContain('hint: write addresses or CIDR networks');
    expect(services.plan).toHaveBeenCalledTimes(1);
    // Fixed: on to the preview, which plans with the options.
    await press(r, 'enter');
    expect(frameOf(r)).toContain('allowFrom: 10.0.0.0/8, example.org');
    // Deleting the space before the cursor draws the same frame: do not wait for a change.
    for (let i = 0; i < ', example.org'.length; i++) await press(r, 'backspace', { until: false });
    await waitForFrame(r.lastFrame, /^allowFrom: 10\.0\.0\.0\/8 ?$/m);
    await press(r, 'enter');
    await press(r, 'c');
    await waitForFrame(r.lastFrame, '8/11 Preview');
    await waitForFrame(r.lastFrame, 'Enter: apply these 2 steps.');
    expect(services.plan).toHaveBeenCalledTimes(2);
    expect(services.plan.mock.calls[1]![0]).toEqual({ ...ANSWERS, allowFrom: ['10.0.0.0/8'] });
    await press(r, 'a');
    expect(services.saveAnswers).toHaveBeenCalledWith({ ...ANSWERS, allowFrom: ['10.0.0.0/8'] }, 'cwd');
  });

  it('"Repair a jail" runs doctor: chain and findings, the fix preview, the run, then exit 0', async () => {
    const services = fakeServices();
    const onExit = vi.fn();
    const r = render(<App services={services} ui={uiFor()} onExit={onExit} />);
    await waitForFrame(r.lastFrame, 'Repair a jail (doctor)');
    await press(r, 'down');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('Whose jail should be repaired?');
    expect(frameOf(r)).toContain('bob  (sshd log: chroot failure)');
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'group-writable');
    expect(services.diagnose).toHaveBeenCalledWith('bob');
    expect(frameOf(r)).toContain('Enter: preview the 2 fixes.');
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'Enter: apply these fixes');
    expect(frameOf(r)).toContain('useradd -M alice'); // the plan's exact commands
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'Fixed: bob logs in again.');
    expect(services.fix).toHaveBeenCalledTimes(1);
    await press(r, 'enter', { until: () => onExit.mock.calls.length > 0 });
    expect(onExit).toHaveBeenCalledWith(0);
  });

  /** Repair: bob, the fixes previewed, then Enter runs them with the given fake fix. */
  async function driveRepair(fix: Services['fix']) {
    const onExit = vi.fn();
    const services = { ...fakeServices(), fix: vi.fn(fix) };
    const r = render(<App services={services} ui={uiFor()} onExit={onExit} />);
    await waitForFrame(r.lastFrame, 'Repair a jail (doctor)');
    await press(r, 'down');
    await press(r, 'enter');
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'Enter: preview the 2 fixes.');
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'Enter: apply these fixes');
    return { r, onExit };
  }

  it('Repair: a signal during the fixes ends the wizard once rolled back, with 128+N and the reason', async () => {
    const { r, onExit } = await driveRepair(async () => ({ ok: false, error: 'interrupted by SIGHUP', manual: [], probes: [], exitCode: 129 }));
    await press(r, 'enter', { until: () => onExit.mock.calls.length > 0 });
    expect(onExit).toHaveBeenCalledWith(129, 'interrupted by SIGHUP');
  });

  it('Repair: a rollback left incomplete exits 4, not 1', async () => {
    const { r, onExit } = await driveRepair(async () => ({ ok: false, error: 'Fix the jail: EACCES', manual: ['rmdir /srv/x'], probes: [], exitCode: 4 }));
    await press(r, 'enter');
    await waitForFrame(r.lastFrame, 'rmdir /srv/x');
    await press(r, 'enter', { until: () => onExit.mock.calls.length > 0 });
    expect(onExit).toHaveBeenCalledWith(4);
  });

  it('Ctrl+C before Run quits with 130 and changes nothing', async () => {
    const services = fakeServices();
    const onExit = vi.fn();
    const r = render(<App services={services} ui={uiFor()} onExit={onExit} />);
    await waitForFrame(r.lastFrame, 'Press Enter to start.');
    await press(r, 'enter');
    await press(r, 'enter');
    expect(frameOf(r)).toContain('3/11 Tools');
    await press(r, 'ctrlc', { until: () => onExit.mock.calls.length > 0 });
    expect(onExit).toHaveBeenCalledTimes(1);
    expect(onExit.mock.calls[0]![0]).toBe(130);
    expect(onExit.mock.calls[0]![1]).toMatch(/nothing was changed/);
    expect(services.plan).not.toHaveBeenCalled();
    expect(services.execute).not.toHaveBeenCalled();
  });

  it('a blocked preflight with an unfinished run: r rolls it back and checks again', async () => {
    const blocked: Preflight = {
      findings: [{ label: 'journal', value: 'an earlier run did not finish (1 step(s) to undo)', status: 'bad', fix: 'press r to roll it back now' }],
      blocked: true,
      unfinished: { pid: 1, steps: ['Create user'] },
      repairUsers: [],
    };
    let n = 0;
    const services = fakeServices({ preflight: async () => (n++ === 0 ? blocked : OK_PREFLIGHT) });
    const r = render(<App services={services} ui={uiFor()} onExit={() => {}} />);
    await waitForFrame(r.lastFrame, 'Fix the problems above first (r: roll back the unfinished run).');
    await press(r, 'enter', { until: false });
    expect(frameOf(r)).toContain('1/11 Preflight');
    await press(r, 'r');
    await waitForFrame(r.lastFrame, 'Press Enter to start.');
    expect(services.rollbackUnfinished).toHaveBeenCalledTimes(1);
    expect(services.preflight).toHaveBeenCalledTimes(2);
  });

  it('a failed run stays on Run, shows the error and what was rolled back; Enter exits with its code', async () => {
    const services = fakeServices({
      execute: async (_a, p, hooks) => {
        hooks.listener({ type: 'step-start', index: 0, total: 2, step: p.steps[0]! });
        hooks.listener({ type: 'step-done', index: 0 });
        hooks.listener({ type: 'step-start', index: 1, total: 2, step: p.steps[1]! });
        hooks.listener({ type: 'step-failed', index: 1, error: 'the disk is full' });
        hooks.listener({ type: 'rollback-start', reason: 'the disk is full' });
        hooks.listener({ type: 'rollback-step', title: 'Copy binaries', ok: true, manual: [] });
        hooks.listener({ type: 'rollback-step', title: 'Create user alice', ok: true, manual: [] });
        hooks.listener({ type: 'rollback-done', manual: [] });
        return { ok: false, exitCode: 1, error: 'Copy binaries: the disk is full', probes: [], manual: [] };
      },
    });
    const onExit = vi.fn();
    const r = await driveToPreview(services, onExit);
    await press(r, 'enter');
    const f = await waitForFrame(r.lastFrame, 'Rolled back: 2 steps undone');
    expect(f).toContain('9/11 Run');
    expect(f).toContain('✗ Copy binaries: the disk is full');
    expect(f).toContain('↩ undone: Create user alice');
    expect(services.saveAnswers).not.toHaveBeenCalledWith(expect.anything(), 'state');
    expect(onExit).not.toHaveBeenCalled();
    await press(r, 'enter', { until: () => onExit.mock.calls.length > 0 });
    expect(onExit).toHaveBeenCalledWith(1);
  });
});
