// The wizard's reducer, without a terminal: screen transitions, answers and executor events.
import { describe, expect, it } from 'vitest';
import type { Plan, Step } from '../src/model/effects.ts';
import type { ExecEvent } from '../src/engine/executor.ts';
import { OPTION_ITEMS, SCREENS, canAdvance, defaultJail, draftToAnswers, initialState, optionNotApplicable, reducer, type Action, type OptionItem, type Screen, type WizardState } from '../src/wizard/state.ts';
import { checkAnswers } from '../src/wizard/services.ts';

function step(title: string, argv: string[] = ['true']): Step {
  return { id: title.toLowerCase().replace(/\W+/g, '-'), title, why: [`because ${title}`], actions: [{ effect: { kind: 'run', argv }, undo: [], pre: { kind: 'none' } }] };
}

function plan(...titles: string[]): Plan {
  return { command: 'apply', user: 'alice', steps: titles.map((t) => step(t)), notes: [] };
}

const fold = (s: WizardState, ...actions: Action[]): WizardState => actions.reduce(reducer, s);
const at = (screen: Screen, s: WizardState = initialState()): WizardState => ({ ...s, screen });
const exec = (event: ExecEvent): Action => ({ type: 'exec', event });

/** A state with every answer given, on `screen`. */
function answered(screen: Screen): WizardState {
  const s = fold(initialState(), { type: 'set-user', user: 'alice' }, { type: 'toggle-tool', tool: 'sftp' }, { type: 'add-key', key: 'ssh-ed25519 AAAA alice@laptop' });
  return at(screen, s);
}

describe('initial state', () => {
  it('starts at preflight with empty answers', () => {
    const s = initialState();
    expect(s.screen).toBe('preflight');
    expect(s.draft).toEqual({ user: '', tools: [], jail: '', arch: 'auto', authorizedKeys: [], keysLater: false, installMissing: false, options: {} });
    expect(s.optionsUi).toEqual({ cursor: 0 });
    expect(s.plan).toBeUndefined();
    expect(s.run).toEqual({ steps: [], rolledBack: [], rollingBack: false, manual: [], log: [] });
    expect(s.probes).toEqual([]);
  });

  it('takes a partial draft (answers given on the command line)', () => {
    expect(initialState({ user: 'bob', tools: ['rsync'] }).draft).toMatchObject({ user: 'bob', tools: ['rsync'], jail: '', arch: 'auto' });
  });

  it('the screens are in wizard order', () => {
    expect(SCREENS).toEqual(['preflight', 'user', 'tools', 'jail', 'arch', 'access', 'options', 'preview', 'run', 'test', 'summary']);
  });
});

describe('next', () => {
  it('moves from preflight to user', () => {
    expect(reducer(initialState(), { type: 'next' }).screen).toBe('user');
  });

  it.each([
    ['user', 'tools'],
    ['tools', 'jail'],
    ['jail', 'arch'],
    ['arch', 'access'],
    ['access', 'options'],
    ['options', 'preview'],
  ] as const)('moves from %s to %s once the answer is given', (from, to) => {
    expect(reducer(answered(from), { type: 'next' }).screen).toBe(to);
  });

  it('stays on user until a user is set', () => {
    const s = at('user');
    expect(canAdvance(s)).toBe(false);
    expect(reducer(s, { type: 'next' })).toBe(s);
    expect(fold(s, { type: 'set-user', user: 'alice' }, { type: 'next' }).screen).toBe('tools');
  });

  it('stays on tools until at least one tool is chosen', () => {
    const s = at('tools');
    expect(reducer(s, { type: 'next' }).screen).toBe('tools');
    expect(fold(s, { type: 'toggle-tool', tool: 'scp' }, { type: 'next' }).screen).toBe('jail');
    // Unticking the only tool blocks again.
    expect(fold(s, { type: 'toggle-tool', tool: 'scp' }, { type: 'toggle-tool', tool: 'scp' }, { type: 'next' }).screen).toBe('tools');
  });

  it('stays on jail until a jail is set', () => {
    const s = at('jail');
    expect(reducer(s, { type: 'next' }).screen).toBe('jail');
    expect(fold(s, { type: 'set-jail', jail: '/srv/x' }, { type: 'next' }).screen).toBe('arch');
  });

  it('stays on access until keys are given or left for later', () => {
    const s = at('access');
    expect(reducer(s, { type: 'next' }).screen).toBe('access');
    expect(fold(s, { type: 'add-key', key: 'ssh-ed25519 AAAA' }, { type: 'next' }).screen).toBe('options');
    expect(fold(s, { type: 'keys-later' }, { type: 'next' }).screen).toBe('options');
  });

  it('stays on preview until the plan is ready, and not when planning failed', () => {
    const s = answered('preview');
    expect(reducer(s, { type: 'next' }).screen).toBe('preview');
    expect(fold(s, { type: 'plan-failed', message: 'no sshd' }, { type: 'next' }).screen).toBe('preview');
    expect(fold(s, { type: 'plan-ready', plan: plan('a') }, { type: 'next' }).screen).toBe('run');
  });

  it('never moves past the last screen', () => {
    expect(reducer(at('summary'), { type: 'next' }).screen).toBe('summary');
  });
});

describe('back (Esc)', () => {
  it.each([
    ['user', 'preflight'],
    ['tools', 'user'],
    ['jail', 'tools'],
    ['arch', 'jail'],
    ['access', 'arch'],
    ['options', 'access'],
    ['preview', 'options'],
  ] as const)('moves from %s back to %s and keeps the answers', (from, to) => {
    const s = fold(answered(from), { type: 'set-arch', arch: 'aarch64' });
    const b = reducer(s, { type: 'back' });
    expect(b.screen).toBe(to);
    expect(b.draft).toEqual(s.draft);
    expect(b.draft).toMatchObject({ user: 'alice', tools: ['sftp'], jail: '/srv/jails/alice', arch: 'aarch64', authorizedKeys: ['ssh-ed25519 AAAA alice@laptop'] });
  });

  it.each(['preflight', 'run', 'test', 'summary'] as const)('is ignored on %s', (screen) => {
    const s = answered(screen);
    expect(reducer(s, { type: 'back' })).toBe(s);
  });

  it('back from preview and forward again plans afresh', () => {
    const s = fold(answered('preview'), { type: 'plan-ready', plan: plan('a') }, { type: 'back' });
    expect(s.screen).toBe('options');
    const again = reducer(s, { type: 'next' });
    expect(again.screen).toBe('preview');
    expect(again.plan).toBeUndefined();
  });
});

describe('answers', () => {
  it('toggle-tool keeps the canonical order bash, rsync, scp, sftp', () => {
    const s = fold(initialState(), ...(['sftp', 'bash', 'scp', 'rsync'] as const).map((tool) => ({ type: 'toggle-tool', tool }) as const));
    expect(s.draft.tools).toEqual(['bash', 'rsync', 'scp', 'sftp']);
    const t = fold(s, { type: 'toggle-tool', tool: 'rsync' });
    expect(t.draft.tools).toEqual(['bash', 'scp', 'sftp']);
    expect(fold(t, { type: 'toggle-tool', tool: 'rsync' }).draft.tools).toEqual(['bash', 'rsync', 'scp', 'sftp']);
  });

  it('set-user sets the default jail /srv/jails/<user>', () => {
    expect(defaultJail('alice')).toBe('/srv/jails/alice');
    expect(reducer(initialState(), { type: 'set-user', user: 'alice' }).draft).toMatchObject({ user: 'alice', jail: '/srv/jails/alice' });
  });

  it('changing the user updates a default jail', () => {
    const s = fold(initialState(), { type: 'set-user', user: 'alice' }, { type: 'set-user', user: 'bob' });
    expect(s.draft).toMatchObject({ user: 'bob', jail: '/srv/jails/bob' });
  });

  it('changing the user keeps a jail the admin chose', () => {
    const s = fold(initialState(), { type: 'set-user', user: 'alice' }, { type: 'set-jail', jail: '/srv/sftp/shared' }, { type: 'set-user', user: 'bob' });
    expect(s.draft).toMatchObject({ user: 'bob', jail: '/srv/sftp/shared' });
  });

  it('keeps a jail given up front (--jail) when the user is chosen', () => {
    const s = reducer(initialState({ jail: '/srv/given' }), { type: 'set-user', user: 'alice' });
    expect(s.draft.jail).toBe('/srv/given');
  });

  it('add-key ignores duplicates and cancels "keys later"; remove-key removes by index', () => {
    const s = fold(initialState(), { type: 'keys-later' }, { type: 'add-key', key: 'k1' }, { type: 'add-key', key: 'k2' }, { type: 'add-key', key: 'k1' });
    expect(s.draft.authorizedKeys).toEqual(['k1', 'k2']);
    expect(s.draft.keysLater).toBe(false);
    expect(reducer(s, { type: 'remove-key', index: 0 }).draft.authorizedKeys).toEqual(['k2']);
  });

  it('draftToAnswers gives the answers the planner takes', () => {
    const s = fold(answered('access'), { type: 'set-install-missing', value: true }, { type: 'toggle-tool', tool: 'bash' });
    expect(draftToAnswers(s.draft)).toEqual({
      user: 'alice',
      tools: ['bash', 'sftp'],
      jail: '/srv/jails/alice',
      arch: 'auto',
      authorizedKeys: ['ssh-ed25519 AAAA alice@laptop'],
      createUser: true,
      installMissing: true,
      // bash's default extras: a login shell without them warns on every login.
      extras: ['locale', 'terminfo'],
    });
  });
});

describe('options', () => {
  const indexOf = (name: string): number =>
    OPTION_ITEMS.findIndex((it: OptionItem) => (it.kind === 'flag' || it.kind === 'text' ? it.key : it.kind === 'extra' ? `extras ${it.extra}` : 'continue') === name);
  /** Moves the cursor down from the top to the row `name`. */
  const to = (name: string): Action[] => Array.from({ length: indexOf(name) }, () => ({ type: 'option-move', delta: 1 }) as const);
  const sftpOnly = (): WizardState => answered('options');
  const withBash = (): WizardState => fold(answered('access'), { type: 'toggle-tool', tool: 'bash' }, { type: 'next' });
  const edit = (name: string, text: string): Action[] => [...to(name), { type: 'option-edit-start' }, { type: 'option-edit', text }, { type: 'option-accept' }];

  it('lists every option key, group too, then Continue', () => {
    expect(OPTION_ITEMS.at(-1)).toEqual({ kind: 'continue' });
    for (const k of ['shared', 'writable', 'readOnly', 'umask', 'startDir', 'log', 'group', 'groupDir', 'binds', 'allowFrom', 'extraBinaries', 'allowSetuid']) expect(indexOf(k)).toBeGreaterThanOrEqual(0);
    for (const x of ['locale', 'terminfo', 'profile', 'tmp', 'nss']) expect(indexOf(`extras ${x}`)).toBeGreaterThanOrEqual(0);
  });

  it('up and down move the cursor and wrap around', () => {
    const s = sftpOnly();
    expect(s.optionsUi.cursor).toBe(0);
    expect(fold(s, { type: 'option-move', delta: 1 }, { type: 'option-move', delta: 1 }).optionsUi.cursor).toBe(2);
    expect(reducer(s, { type: 'option-move', delta: -1 }).optionsUi.cursor).toBe(OPTION_ITEMS.length - 1);
    expect(fold(s, { type: 'option-move', delta: -1 }, { type: 'option-move', delta: 1 }).optionsUi.cursor).toBe(0);
  });

  it('space toggles a flag on and off; off is absent, not false', () => {
    let s = fold(sftpOnly(), ...to('readOnly'), { type: 'option-toggle' });
    expect(s.draft.options).toEqual({ readOnly: true });
    expect(draftToAnswers(s.draft).readOnly).toBe(true);
    s = reducer(s, { type: 'option-toggle' });
    expect(s.draft.options).toEqual({});
    expect('readOnly' in draftToAnswers(s.draft)).toBe(false);
  });

  it('sftp-only options do not apply with a shell: they do not toggle and are left out of the answers', () => {
    const s = withBash();
    expect(s.screen).toBe('options');
    expect(optionNotApplicable(s.draft, 'readOnly')).toBe('needs tools = [sftp] alone');
    expect(optionNotApplicable(s.draft, 'umask')).toBe('needs tools = [sftp] alone');
    expect(optionNotApplicable(s.draft, 'extraBinaries')).toBeUndefined();
    expect(fold(s, ...to('readOnly'), { type: 'option-toggle' }).draft.options).toEqual({});
    expect(fold(s, ...to('umask'), { type: 'option-edit-start' }).optionsUi.editing).toBeUndefined();
    // Set while sftp was alone, then bash added: kept in the draft, not in the answers.
    const t = fold(sftpOnly(), ...to('readOnly'), { type: 'option-toggle' }, { type: 'back' }, { type: 'goto', screen: 'tools' }, { type: 'toggle-tool', tool: 'bash' });
    expect(t.draft.options.readOnly).toBe(true);
    expect('readOnly' in draftToAnswers(t.draft)).toBe(false);
    // extraBinaries need a shell tool; groupDir needs a group.
    expect(optionNotApplicable(sftpOnly().draft, 'extraBinaries')).toBe('needs bash, rsync or scp');
    expect(optionNotApplicable(sftpOnly().draft, 'groupDir')).toBe('needs a group (set group first)');
    expect(optionNotApplicable(fold(sftpOnly(), ...edit('group', 'uploads')).draft, 'groupDir')).toBeUndefined();
  });

  it('Enter edits a text option in place; Enter accepts, and editing again starts from the value', () => {
    let s = fold(sftpOnly(), ...to('umask'), { type: 'option-edit-start' });
    expect(s.optionsUi.editing).toBe('');
    expect(canAdvance(s)).toBe(false);
    expect(reducer(s, { type: 'next' })).toBe(s);
    // While editing, j/k/space are text: the cursor and the flags stay.
    expect(fold(s, { type: 'option-move', delta: 1 }, { type: 'option-toggle' })).toBe(s);
    s = fold(s, { type: 'option-edit', text: '0' }, { type: 'option-edit', text: '027' }, { type: 'option-accept' });
    expect(s.draft.options).toEqual({ umask: '027' });
    expect(s.optionsUi.editing).toBeUndefined();
    expect(reducer(s, { type: 'option-edit-start' }).optionsUi.editing).toBe('027');
    // An empty text is the default again.
    expect(fold(s, ...[{ type: 'option-edit-start' }, { type: 'option-edit', text: '  ' }, { type: 'option-accept' }] as Action[]).draft.options).toEqual({});
  });

  it('Esc while editing cancels the edit and stays; Esc again goes back to Access', () => {
    let s = fold(sftpOnly(), ...edit('startDir', '/upload'), { type: 'option-edit-start' }, { type: 'option-edit', text: '/elsewhere' });
    s = reducer(s, { type: 'back' });
    expect(s.screen).toBe('options');
    expect(s.optionsUi.editing).toBeUndefined();
    expect(s.draft.options).toEqual({ startDir: '/upload' });
    s = reducer(s, { type: 'back' });
    expect(s.screen).toBe('access');
    expect(s.draft.options).toEqual({ startDir: '/upload' });
  });

  it('Enter on a flag, an extra or Continue does not start an edit', () => {
    for (const name of ['shared', 'extras tmp', 'continue']) expect(fold(sftpOnly(), ...to(name), { type: 'option-edit-start' }).optionsUi.editing).toBeUndefined();
  });

  it('lists are typed comma- or space-separated; binds as SOURCE:TARGET[:ro|rw], ro by default', () => {
    const s = fold(
      withBash(),
      ...edit('allowFrom', ' 203.0.113.7,10.0.0.0/8 '),
      { type: 'option-move', delta: 1 },
      { type: 'option-edit-start' },
      { type: 'option-edit', text: 'git /usr/bin/nano, git' },
      { type: 'option-accept' },
    );
    expect(s.draft.options.allowFrom).toEqual(['203.0.113.7', '10.0.0.0/8']);
    expect(s.draft.options.extraBinaries).toEqual(['git', '/usr/bin/nano', 'git']);
    const b = fold(withBash(), ...edit('binds', '/srv/web/example.com:/web, /srv/data:/data:rw'));
    expect(b.draft.options.binds).toEqual([
      { source: '/srv/web/example.com', target: '/web', readOnly: true },
      { source: '/srv/data', target: '/data', readOnly: false },
    ]);
    expect(reducer(b, { type: 'option-edit-start' }).optionsUi.editing).toBe('/srv/web/example.com:/web:ro, /srv/data:/data:rw');
  });

  it('a bind not in the SOURCE:TARGET[:ro|rw] notation is refused at Enter and stays in the edit', () => {
    for (const text of ['/srv/web', '/srv/web:/web:rx', '/a:/b:ro:x']) {
      const s = fold(withBash(), ...edit('binds', text));
      expect(s.optionsUi.editing).toBe(text);
      expect(s.optionsUi.error?.message).toBe(`binds: write SOURCE:TARGET[:ro|rw], not ${JSON.stringify(text)}`);
      expect(s.draft.options.binds).toBeUndefined();
      // Fixing it clears the refusal.
      const fixed = fold(s, { type: 'option-edit', text: '/srv/web:/web' }, { type: 'option-accept' });
      expect(fixed.optionsUi).toEqual({ cursor: indexOf('binds') });
    }
  });

  it('bash preselects the extras locale and terminfo; sftp alone none; a choice made sticks', () => {
    expect(draftToAnswers(withBash().draft).extras).toEqual(['locale', 'terminfo']);
    expect('extras' in draftToAnswers(sftpOnly().draft)).toBe(false);
    // Unticking locale makes the list explicit: terminfo only, whatever the tools.
    let s = fold(withBash(), ...to('extras locale'), { type: 'option-toggle' });
    expect(s.draft.options.extras).toEqual(['terminfo']);
    s = fold(s, { type: 'option-move', delta: 1 }, { type: 'option-move', delta: 1 }, { type: 'option-move', delta: 1 }, { type: 'option-toggle' });
    expect(s.draft.options.extras).toEqual(['terminfo', 'tmp']);
    expect(draftToAnswers({ ...s.draft, tools: ['sftp'] }).extras).toEqual(['terminfo', 'tmp']);
    // Unticking everything is the default, and absent from the answers.
    const none = fold(withBash(), ...to('extras locale'), { type: 'option-toggle' }, { type: 'option-move', delta: 1 }, { type: 'option-toggle' });
    expect(none.draft.options.extras).toEqual([]);
    expect('extras' in draftToAnswers(none.draft)).toBe(false);
  });

  it('draftToAnswers carries every option that was set, and nothing at its default', () => {
    let s = fold(withBash(), ...to('shared'), { type: 'option-toggle' }, ...edit('group', 'uploads'));
    s = fold(s, { type: 'option-move', delta: 1 }, { type: 'option-edit-start' }, { type: 'option-edit', text: '/shared' }, { type: 'option-accept' });
    s = fold(s, { type: 'option-move', delta: 1 }, { type: 'option-edit-start' }, { type: 'option-edit', text: '/srv/web:/web' }, { type: 'option-accept' });
    expect(draftToAnswers(s.draft)).toEqual({
      user: 'alice',
      tools: ['bash', 'sftp'],
      jail: '/srv/jails/alice',
      arch: 'auto',
      authorizedKeys: ['ssh-ed25519 AAAA alice@laptop'],
      createUser: true,
      installMissing: false,
      shared: true,
      group: 'uploads',
      groupDir: '/shared',
      binds: [{ source: '/srv/web', target: '/web', readOnly: true }],
      extras: ['locale', 'terminfo'],
    });
  });

  it('Continue checks with parseAnswers: a refusal stays on the screen with message and hint', () => {
    const s = fold(sftpOnly(), ...edit('umask', '0999'));
    const r = checkAnswers(draftToAnswers(s.draft));
    expect('error' in r).toBe(true);
    if (!('error' in r)) return;
    expect(r.error.message).toBe('wizard: "umask" must be a quoted octal string, got a string ("0999")');
    const t = reducer(s, { type: 'options-checked', error: r.error });
    expect(t.screen).toBe('options');
    expect(t.optionsUi.error).toEqual(r.error);
    // The next change clears it.
    expect(fold(t, { type: 'option-move', delta: -1 }, { type: 'option-move', delta: -1 }, { type: 'option-move', delta: -1 }, { type: 'option-toggle' }).optionsUi.error).toBeUndefined();
  });

  it('Continue with good answers keeps their normal form and goes to a fresh preview', () => {
    const s = fold(sftpOnly(), ...edit('umask', '027'), ...[{ type: 'option-move', delta: 1 }, { type: 'option-edit-start' }, { type: 'option-edit', text: '/upload/' }, { type: 'option-accept' }] as Action[], { type: 'plan-ready', plan: plan('old') });
    const r = checkAnswers(draftToAnswers(s.draft));
    expect('answers' in r).toBe(true);
    if (!('answers' in r)) return;
    const t = reducer(s, { type: 'options-checked', answers: r.answers });
    expect(t.screen).toBe('preview');
    expect(t.plan).toBeUndefined();
    expect(t.draft.options).toEqual({ umask: '0027', startDir: '/upload' });
    // Defaults stay unset: the extras still follow the tools.
    expect(t.draft.options.extras).toBeUndefined();
  });

  it('parseAnswers refuses contradictions between options: readOnly with writable', () => {
    const s = fold(sftpOnly(), ...to('writable'), { type: 'option-edit-start' }, { type: 'option-edit', text: '/home/alice/up' }, { type: 'option-accept' }, { type: 'option-move', delta: 1 }, { type: 'option-toggle' });
    const r = checkAnswers(draftToAnswers(s.draft));
    expect(r).toEqual({ error: { message: 'wizard: "readOnly" and "writable" contradict each other', hint: 'drop one of them' } });
  });

  it('coming back to Options keeps the cursor and drops a leftover refusal', () => {
    const s = fold(sftpOnly(), ...to('umask'), { type: 'options-checked', error: { message: 'x' } }, { type: 'back' }, { type: 'next' });
    expect(s.screen).toBe('options');
    expect(s.optionsUi).toEqual({ cursor: indexOf('umask') });
  });
});

describe('preview', () => {
  it('entering the preview clears the old plan and its error', () => {
    const withPlan = fold(answered('options'), { type: 'plan-ready', plan: plan('old') });
    expect(withPlan.plan).toBeDefined();
    const s = reducer(withPlan, { type: 'next' });
    expect(s.screen).toBe('preview');
    expect(s.plan).toBeUndefined();
    const failed = fold(answered('options'), { type: 'plan-failed', message: 'x' }, { type: 'next' });
    expect(failed.planError).toBeUndefined();
  });

  it('plan-ready and plan-failed replace each other', () => {
    const s = fold(answered('preview'), { type: 'plan-failed', message: 'sshd -t failed', hint: 'fix sshd_config' });
    expect(s.planError).toEqual({ message: 'sshd -t failed', hint: 'fix sshd_config' });
    expect(s.plan).toBeUndefined();
    const ok = reducer(s, { type: 'plan-ready', plan: plan('a') });
    expect(ok.planError).toBeUndefined();
    expect(ok.plan?.steps).toHaveLength(1);
  });
});

describe('run', () => {
  const p = plan('Create user', 'Make the jail', 'Copy binaries');
  const running = (): WizardState => fold(answered('preview'), { type: 'plan-ready', plan: p }, { type: 'next' });

  it('entering run builds the pending step list from the plan', () => {
    const s = running();
    expect(s.screen).toBe('run');
    expect(s.run).toEqual({
      steps: [
        { title: 'Create user', status: 'pending' },
        { title: 'Make the jail', status: 'pending' },
        { title: 'Copy binaries', status: 'pending' },
      ],
      rolledBack: [],
      rollingBack: false,
      manual: [],
      log: [],
    });
  });

  it('step events update the steps, the progress and the append-only log', () => {
    let s = running();
    s = reducer(s, exec({ type: 'step-start', index: 0, total: 3, step: p.steps[0]! }));
    expect(s.run.steps.map((x) => x.status)).toEqual(['running', 'pending', 'pending']);
    s = reducer(s, exec({ type: 'step-done', index: 0 }));
    expect(s.run.steps.map((x) => x.status)).toEqual(['done', 'pending', 'pending']);
    expect(s.run.log).toEqual([{ kind: 'done', text: 'Create user' }]);

    s = fold(s, exec({ type: 'step-start', index: 1, total: 3, step: p.steps[1]! }), exec({ type: 'progress', index: 1, done: 3, total: 10, bytes: 1e6, totalBytes: 2e6 }));
    expect(s.run.progress).toEqual({ done: 3, total: 10, bytes: 1e6, totalBytes: 2e6 });
    s = reducer(s, exec({ type: 'step-done', index: 1 }));
    expect(s.run.progress).toBeUndefined();
    expect(s.run.log.map((l) => l.text)).toEqual(['Create user', 'Make the jail']);

    s = reducer(s, exec({ type: 'step-start', index: 2, total: 3, step: p.steps[2]! }));
    const logBefore = s.run.log;
    s = reducer(s, exec({ type: 'step-failed', index: 2, error: 'ENOSPC' }));
    expect(s.run.steps.map((x) => x.status)).toEqual(['done', 'done', 'failed']);
    expect(s.run.error).toBe('ENOSPC');
    expect(s.run.log.slice(0, logBefore.length)).toEqual(logBefore);
    expect(s.run.log.at(-1)).toEqual({ kind: 'failed', text: 'Copy binaries: ENOSPC' });
    expect(s.screen).toBe('run');
  });

  it('a step the plan did not list is appended when it starts', () => {
    const s = reducer(running(), exec({ type: 'step-start', index: 3, total: 4, step: step('Reload sshd') }));
    expect(s.run.steps.at(-1)).toEqual({ title: 'Reload sshd', status: 'running' });
    expect(s.run.steps).toHaveLength(4);
  });

  it('two steps with the same title are marked in order', () => {
    const q = plan('Copy', 'Copy');
    let s = fold(answered('preview'), { type: 'plan-ready', plan: q }, { type: 'next' });
    s = fold(s, exec({ type: 'step-start', index: 0, total: 2, step: q.steps[0]! }), exec({ type: 'step-done', index: 0 }), exec({ type: 'step-start', index: 1, total: 2, step: q.steps[1]! }));
    expect(s.run.steps.map((x) => x.status)).toEqual(['done', 'running']);
  });

  it('rollback events mark steps undone (or not) newest first and log them', () => {
    let s = running();
    for (const [i, st] of p.steps.slice(0, 2).entries()) s = fold(s, exec({ type: 'step-start', index: i, total: 3, step: st }), exec({ type: 'step-done', index: i }));
    s = fold(s, exec({ type: 'step-start', index: 2, total: 3, step: p.steps[2]! }), exec({ type: 'step-failed', index: 2, error: 'boom' }));
    s = reducer(s, exec({ type: 'rollback-start', reason: 'boom' }));
    expect(s.run.rollingBack).toBe(true);
    s = fold(
      s,
      exec({ type: 'rollback-step', title: 'Copy binaries', ok: true, manual: [] }),
      exec({ type: 'rollback-step', title: 'Make the jail', ok: false, manual: ['rmdir /srv/jails/alice'] }),
      exec({ type: 'rollback-step', title: 'Create user', ok: true, manual: [] }),
    );
    expect(s.run.steps.map((x) => x.status)).toEqual(['undone', 'undo-failed', 'undone']);
    expect(s.run.rolledBack).toEqual([
      { title: 'Copy binaries', ok: true },
      { title: 'Make the jail', ok: false },
      { title: 'Create user', ok: true },
    ]);
    expect(s.run.log.map((l) => l.kind)).toEqual(['done', 'done', 'failed', 'undone', 'undo-failed', 'undone']);
    s = reducer(s, exec({ type: 'rollback-done', manual: ['rmdir /srv/jails/alice'] }));
    expect(s.run.rollingBack).toBe(false);
    expect(s.run.manual).toEqual(['rmdir /srv/jails/alice']);
  });

  it('next-plan appends the second plan\u2019s steps as pending; an answer clears it', () => {
    const second = plan('Copy rsync', 'Copy its libraries');
    let s = reducer(running(), { type: 'next-plan', plan: second });
    expect(s.run.pendingPlan).toBe(second);
    expect(s.run.steps.map((x) => `${x.title}:${x.status}`)).toEqual(['Create user:pending', 'Make the jail:pending', 'Copy binaries:pending', 'Copy rsync:pending', 'Copy its libraries:pending']);
    s = reducer(s, { type: 'next-plan', plan: undefined });
    expect(s.run.pendingPlan).toBeUndefined();
    expect(s.run.steps).toHaveLength(5);
  });

  it('test-start goes to the test screen and probes are appended', () => {
    let s = reducer(running(), { type: 'test-start' });
    expect(s.screen).toBe('test');
    s = fold(s, { type: 'probe', result: { name: 'ssh login', ok: true, detail: '' } }, { type: 'probe', result: { name: 'sftp put', ok: false, detail: 'denied' } });
    expect(s.probes.map((x) => x.name)).toEqual(['ssh login', 'sftp put']);
  });

  it('finished ok goes to the summary', () => {
    const s = fold(running(), { type: 'test-start' }, { type: 'finished', ok: true, exitCode: 0 });
    expect(s.screen).toBe('summary');
    expect(s.outcome).toEqual({ ok: true, exitCode: 0 });
  });

  it('finished with a failure stays on run, with the error and manual commands', () => {
    const s = reducer(running(), { type: 'finished', ok: false, exitCode: 1, error: 'Copy binaries: boom', manual: ['rm -rf /x'] });
    expect(s.screen).toBe('run');
    expect(s.outcome).toEqual({ ok: false, exitCode: 1 });
    expect(s.run.error).toBe('Copy binaries: boom');
    expect(s.run.manual).toEqual(['rm -rf /x']);
    expect(s.run.rollingBack).toBe(false);
  });

  it('finished with a failure during the connection test stays on test', () => {
    const s = fold(running(), { type: 'test-start' }, { type: 'finished', ok: false, exitCode: 1, error: 'sftp put failed' });
    expect(s.screen).toBe('test');
    expect(s.run.error).toBe('sftp put failed');
  });

  it('finished without manual commands keeps the ones rollback reported', () => {
    const s = fold(running(), exec({ type: 'rollback-done', manual: ['umount /x'] }), { type: 'finished', ok: false, exitCode: 1, error: 'x' });
    expect(s.run.manual).toEqual(['umount /x']);
  });
});

describe('the App\'s state lives in the reducer too', () => {
  it('holds the preflight, the repair choice, key labels, saved paths and the connect target', () => {
    const s0 = initialState();
    expect(s0).toMatchObject({ repairing: false, rollingBackUnfinished: false, keyLabels: {}, target: { host: 'this-host', port: 22 } });
    const preflight = { lines: [] } as unknown as NonNullable<WizardState['preflight']>;
    const s = fold(
      s0,
      { type: 'preflight', preflight },
      { type: 'rolling-back-unfinished', value: true },
      { type: 'add-key', key: 'ssh-ed25519 AAAA alice@laptop', label: 'ED25519 alice@laptop' },
      // A key already there keeps its first label.
      { type: 'add-key', key: 'ssh-ed25519 AAAA alice@laptop', label: 'other' },
      { type: 'saved', path: '/root/jailwizard-alice.sh' },
      { type: 'answers-saved', path: '/var/lib/jailwizard/answers/alice.yaml' },
      { type: 'connect-target', target: { host: 'srv.example', port: 2222, from: 'fqdn' } },
      { type: 'repair' },
    );
    expect(s.preflight).toBe(preflight);
    expect(s).toMatchObject({ rollingBackUnfinished: true, repairing: true, saved: '/root/jailwizard-alice.sh', answersPath: '/var/lib/jailwizard/answers/alice.yaml', target: { host: 'srv.example', port: 2222 } });
    expect(s.keyLabels).toEqual({ 'ssh-ed25519 AAAA alice@laptop': 'ED25519 alice@laptop' });
    expect(s.draft.authorizedKeys).toEqual(['ssh-ed25519 AAAA alice@laptop']);
    expect(fold(s, { type: 'saved', path: undefined }, { type: 'rolling-back-unfinished', value: false })).toMatchObject({ saved: undefined, rollingBackUnfinished: false });
  });
});
