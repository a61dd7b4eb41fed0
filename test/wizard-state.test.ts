// The wizard's reducer, without a terminal: screen transitions, answers and executor events.
import { describe, expect, it } from 'vitest';
import type { Plan, Step } from '../src/effects.ts';
import type { ExecEvent } from '../src/executor.ts';
import { SCREENS, canAdvance, defaultJail, draftToAnswers, initialState, reducer, type Action, type Screen, type WizardState } from '../src/wizard/state.ts';

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
    expect(s.draft).toEqual({ user: '', tools: [], jail: '', arch: 'auto', authorizedKeys: [], keysLater: false, installMissing: false });
    expect(s.plan).toBeUndefined();
    expect(s.run).toEqual({ steps: [], rolledBack: [], rollingBack: false, manual: [], log: [] });
    expect(s.probes).toEqual([]);
  });

  it('takes a partial draft (answers given on the command line)', () => {
    expect(initialState({ user: 'bob', tools: ['rsync'] }).draft).toMatchObject({ user: 'bob', tools: ['rsync'], jail: '', arch: 'auto' });
  });

  it('the screens are in wizard order', () => {
    expect(SCREENS).toEqual(['preflight', 'user', 'tools', 'jail', 'arch', 'access', 'preview', 'run', 'test', 'summary']);
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
    ['access', 'preview'],
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
    expect(fold(s, { type: 'add-key', key: 'ssh-ed25519 AAAA' }, { type: 'next' }).screen).toBe('preview');
    expect(fold(s, { type: 'keys-later' }, { type: 'next' }).screen).toBe('preview');
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
    ['preview', 'access'],
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
    expect(s.screen).toBe('access');
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
    });
  });
});

describe('preview', () => {
  it('entering the preview clears the old plan and its error', () => {
    const withPlan = fold(answered('access'), { type: 'plan-ready', plan: plan('old') });
    expect(withPlan.plan).toBeDefined();
    const s = reducer(withPlan, { type: 'next' });
    expect(s.screen).toBe('preview');
    expect(s.plan).toBeUndefined();
    const failed = fold(answered('access'), { type: 'plan-failed', message: 'x' }, { type: 'next' });
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
