// The wizard's state: one reducer, testable without a terminal. Screens only render it and
// dispatch actions; side effects (planning, running) live in the App and report back here.
import type { ExecEvent } from '../executor.ts';
import type { Plan } from '../effects.ts';
import type { ProbeResult } from '../verify.ts';
import { TOOLS, type Answers, type Arch, type Tool } from '../types.ts';

export const SCREENS = ['preflight', 'user', 'tools', 'jail', 'arch', 'access', 'preview', 'run', 'test', 'summary'] as const;
export type Screen = (typeof SCREENS)[number];

/** Screens the admin can go back from with Esc. Once changes have started, there is no back. */
const BACK_ALLOWED: ReadonlySet<Screen> = new Set(['user', 'tools', 'jail', 'arch', 'access', 'preview']);

export interface Draft {
  user: string;
  tools: Tool[];
  jail: string;
  arch: Arch | 'auto';
  authorizedKeys: string[];
  /** The admin chose to add keys later (shown with its consequence). */
  keysLater: boolean;
  installMissing: boolean;
}

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'undone' | 'undo-failed';

export interface LogLine {
  kind: 'done' | 'failed' | 'undone' | 'undo-failed';
  text: string;
}

export interface RunState {
  steps: { title: string; status: StepStatus }[];
  /** Append-only: finished steps and rollback steps, for the Run screen's static log. */
  log: LogLine[];
  progress?: { done: number; total: number; bytes: number; totalBytes: number };
  rolledBack: { title: string; ok: boolean }[];
  rollingBack: boolean;
  manual: string[];
  error?: string;
  /** A second plan (after packages were installed) waiting for the admin's go-ahead. */
  pendingPlan?: Plan;
}

export interface WizardState {
  screen: Screen;
  draft: Draft;
  plan?: Plan;
  planError?: { message: string; hint?: string };
  run: RunState;
  probes: ProbeResult[];
  outcome?: { ok: boolean; exitCode: number };
}

export type Action =
  | { type: 'next' }
  | { type: 'back' }
  | { type: 'goto'; screen: Screen }
  | { type: 'set-user'; user: string }
  | { type: 'toggle-tool'; tool: Tool }
  | { type: 'set-jail'; jail: string }
  | { type: 'set-arch'; arch: Arch | 'auto' }
  | { type: 'add-key'; key: string }
  | { type: 'remove-key'; index: number }
  | { type: 'keys-later' }
  | { type: 'set-install-missing'; value: boolean }
  | { type: 'plan-ready'; plan: Plan }
  | { type: 'plan-failed'; message: string; hint?: string }
  | { type: 'exec'; event: ExecEvent }
  | { type: 'next-plan'; plan: Plan | undefined }
  | { type: 'test-start' }
  | { type: 'probe'; result: ProbeResult }
  | { type: 'finished'; ok: boolean; exitCode: number; error?: string; manual?: string[] };

export function initialState(draft: Partial<Draft> = {}): WizardState {
  return {
    screen: 'preflight',
    draft: { user: '', tools: [], jail: '', arch: 'auto', authorizedKeys: [], keysLater: false, installMissing: false, ...draft },
    run: { steps: [], rolledBack: [], rollingBack: false, manual: [], log: [] },
    probes: [],
  };
}

/** The default jail for a user: a shared-service layout under /srv. */
export function defaultJail(user: string): string {
  return `/srv/jails/${user}`;
}

function move(state: WizardState, delta: 1 | -1): Screen {
  const i = SCREENS.indexOf(state.screen);
  return SCREENS[Math.min(SCREENS.length - 1, Math.max(0, i + delta))]!;
}

export function draftToAnswers(d: Draft): Answers {
  return {
    user: d.user,
    tools: TOOLS.filter((t) => d.tools.includes(t)),
    jail: d.jail,
    arch: d.arch,
    authorizedKeys: d.authorizedKeys,
    createUser: true,
    installMissing: d.installMissing,
  };
}

/** Can the admin leave this screen forward? (Each screen shows why not.) */
export function canAdvance(s: WizardState): boolean {
  switch (s.screen) {
    case 'user':
      return s.draft.user !== '';
    case 'tools':
      return s.draft.tools.length > 0;
    case 'jail':
      return s.draft.jail !== '';
    case 'access':
      return s.draft.authorizedKeys.length > 0 || s.draft.keysLater;
    case 'preview':
      return s.plan !== undefined && !s.planError;
    default:
      return true;
  }
}

export function reducer(s: WizardState, a: Action): WizardState {
  switch (a.type) {
    case 'next': {
      if (!canAdvance(s)) return s;
      const screen = move(s, 1);
      // Entering the preview starts a fresh plan: answers may have changed.
      if (screen === 'preview') return { ...s, screen, plan: undefined, planError: undefined };
      if (screen === 'run') return { ...s, screen, run: { steps: (s.plan?.steps ?? []).map((st) => ({ title: st.title, status: 'pending' })), rolledBack: [], rollingBack: false, manual: [], log: [] } };
      return { ...s, screen };
    }
    case 'back':
      if (!BACK_ALLOWED.has(s.screen)) return s;
      return { ...s, screen: move(s, -1) };
    case 'goto':
      return { ...s, screen: a.screen };
    case 'set-user': {
      // A new user gets the default jail, unless the admin already chose one for this user.
      const jail = s.draft.jail === '' || s.draft.jail === defaultJail(s.draft.user) ? defaultJail(a.user) : s.draft.jail;
      return { ...s, draft: { ...s.draft, user: a.user, jail } };
    }
    case 'toggle-tool': {
      const has = s.draft.tools.includes(a.tool);
      const tools = has ? s.draft.tools.filter((t) => t !== a.tool) : TOOLS.filter((t) => t === a.tool || s.draft.tools.includes(t));
      return { ...s, draft: { ...s.draft, tools } };
    }
    case 'set-jail':
      return { ...s, draft: { ...s.draft, jail: a.jail } };
    case 'set-arch':
      return { ...s, draft: { ...s.draft, arch: a.arch } };
    case 'add-key':
      if (s.draft.authorizedKeys.includes(a.key)) return s;
      return { ...s, draft: { ...s.draft, authorizedKeys: [...s.draft.authorizedKeys, a.key], keysLater: false } };
    case 'remove-key':
      return { ...s, draft: { ...s.draft, authorizedKeys: s.draft.authorizedKeys.filter((_, i) => i !== a.index) } };
    case 'keys-later':
      return { ...s, draft: { ...s.draft, keysLater: true } };
    case 'set-install-missing':
      return { ...s, draft: { ...s.draft, installMissing: a.value } };
    case 'plan-ready':
      return { ...s, plan: a.plan, planError: undefined };
    case 'plan-failed':
      return { ...s, plan: undefined, planError: { message: a.message, hint: a.hint } };
    case 'exec':
      return { ...s, run: runReducer(s.run, a.event) };
    case 'next-plan':
      if (!a.plan) return { ...s, run: { ...s.run, pendingPlan: undefined } };
      return {
        ...s,
        run: { ...s.run, pendingPlan: a.plan, steps: [...s.run.steps, ...a.plan.steps.map((st) => ({ title: st.title, status: 'pending' as const }))] },
      };
    case 'test-start':
      return { ...s, screen: 'test' };
    case 'probe':
      return { ...s, probes: [...s.probes, a.result] };
    case 'finished':
      return {
        ...s,
        // A failure stays on the screen that shows what was rolled back.
        screen: a.ok ? 'summary' : s.screen === 'test' ? 'test' : 'run',
        outcome: { ok: a.ok, exitCode: a.exitCode },
        run: { ...s.run, error: a.error, manual: a.manual ?? s.run.manual, rollingBack: false, pendingPlan: undefined },
      };
  }
}

/** Executor events, folded into the Run screen's state. Steps are matched by title, in order. */
function runReducer(r: RunState, e: ExecEvent): RunState {
  const setStatus = (pred: (st: RunState['steps'][number]) => boolean, status: StepStatus): RunState['steps'] => {
    const i = r.steps.findIndex(pred);
    if (i < 0) return r.steps;
    return r.steps.map((st, k) => (k === i ? { ...st, status } : st));
  };
  switch (e.type) {
    case 'step-start': {
      const known = r.steps.some((st) => st.title === e.step.title && st.status === 'pending');
      const steps = known ? setStatus((st) => st.title === e.step.title && st.status === 'pending', 'running') : [...r.steps, { title: e.step.title, status: 'running' as const }];
      return { ...r, steps, progress: undefined };
    }
    case 'progress':
      return { ...r, progress: { done: e.done, total: e.total, bytes: e.bytes, totalBytes: e.totalBytes } };
    case 'step-done': {
      const title = r.steps.find((st) => st.status === 'running')?.title ?? '';
      return { ...r, steps: setStatus((st) => st.status === 'running', 'done'), progress: undefined, log: [...r.log, { kind: 'done', text: title }] };
    }
    case 'step-failed': {
      const title = r.steps.find((st) => st.status === 'running')?.title ?? '';
      return { ...r, steps: setStatus((st) => st.status === 'running', 'failed'), error: e.error, progress: undefined, log: [...r.log, { kind: 'failed', text: `${title}: ${e.error}` }] };
    }
    case 'rollback-start':
      return { ...r, rollingBack: true };
    case 'rollback-step': {
      // Mark the last step with this title that ran (done or failed) as undone.
      let idx = -1;
      r.steps.forEach((st, k) => {
        if (st.title === e.title && (st.status === 'done' || st.status === 'failed' || st.status === 'running')) idx = k;
      });
      const steps = r.steps.map((st, k) => (k === idx ? { ...st, status: e.ok ? ('undone' as const) : ('undo-failed' as const) } : st));
      return { ...r, steps, rolledBack: [...r.rolledBack, { title: e.title, ok: e.ok }], log: [...r.log, { kind: e.ok ? 'undone' : 'undo-failed', text: e.title }] };
    }
    case 'rollback-done':
      return { ...r, rollingBack: false, manual: e.manual };
  }
}
