// The wizard's state: one reducer, testable without a terminal. Screens only render it and
// dispatch actions; side effects (planning, running) live in the App and report back here.
import type { ExecEvent } from '../engine/executor.ts';
import type { Plan } from '../model/effects.ts';
import type { ProbeResult } from '../workflows/verify.ts';
import { SFTP_ONLY_KEYS, commandToolsText, runsCommands } from '../host/answers.ts';
import type { ConnectTarget } from '../host/connect-target.ts';
import type { Preflight } from './preflight.ts';
import { EXTRAS, isSftpOnly, type Answers, type Arch, type BindMount, type Extra, type Tool } from '../model/types.ts';
import { TOOLS } from '../../recipes/index.ts';

export const SCREENS = ['preflight', 'user', 'tools', 'jail', 'arch', 'access', 'options', 'preview', 'run', 'test', 'summary'] as const;
export type Screen = (typeof SCREENS)[number];

/** Screens the admin can go back from with Esc. Once changes have started, there is no back. */
const BACK_ALLOWED: ReadonlySet<Screen> = new Set(['user', 'tools', 'jail', 'arch', 'access', 'options', 'preview']);

// ---------------------------------------------------------------- the Options screen

/** The optional answer keys the Options screen sets (group too: groupDir needs it). */
export const OPTION_KEYS = ['shared', 'writable', 'readOnly', 'umask', 'startDir', 'log', 'group', 'groupDir', 'binds', 'allowFrom', 'extraBinaries', 'allowSetuid', 'extras'] as const;
export type OptionKey = (typeof OPTION_KEYS)[number];
/** What the admin set on the Options screen; an absent key is the default. */
export type Options = Partial<Pick<Answers, OptionKey>>;

export type FlagKey = 'shared' | 'readOnly' | 'log' | 'allowSetuid';
export type TextKey = 'writable' | 'umask' | 'startDir' | 'group' | 'groupDir' | 'binds' | 'allowFrom' | 'extraBinaries';

/** One row of the Options screen, top to bottom; the last one continues to the preview. */
export type OptionItem = { kind: 'flag'; key: FlagKey } | { kind: 'text'; key: TextKey } | { kind: 'extra'; extra: Extra } | { kind: 'continue' };

export const OPTION_ITEMS: readonly OptionItem[] = [
  { kind: 'flag', key: 'shared' },
  { kind: 'text', key: 'writable' },
  { kind: 'flag', key: 'readOnly' },
  { kind: 'text', key: 'umask' },
  { kind: 'text', key: 'startDir' },
  { kind: 'flag', key: 'log' },
  { kind: 'text', key: 'group' },
  { kind: 'text', key: 'groupDir' },
  { kind: 'text', key: 'binds' },
  { kind: 'text', key: 'allowFrom' },
  { kind: 'text', key: 'extraBinaries' },
  { kind: 'flag', key: 'allowSetuid' },
  ...EXTRAS.map((extra) => ({ kind: 'extra' as const, extra })),
  { kind: 'continue' },
];

/** The Options screen's own state: the highlighted row, a text being edited, the last refusal. */
export interface OptionsUi {
  cursor: number;
  /** The text of the highlighted option while it is edited (Enter accepts, Esc cancels). */
  editing?: string;
  error?: { message: string; hint?: string };
}

/** A login shell without a locale and terminfo warns on every login: bash gets them unless the admin says otherwise. */
export const BASH_EXTRAS: readonly Extra[] = ['locale', 'terminfo'];

/** Why an option does not apply to these answers (shown dimmed), or undefined when it does. */
export function optionNotApplicable(d: Pick<Draft, 'tools' | 'options'>, key: OptionKey): string | undefined {
  // The same rules parseAnswers enforces (answers.ts), said in the wizard's words.
  if ((SFTP_ONLY_KEYS as readonly string[]).includes(key)) return isSftpOnly(d) ? undefined : 'needs tools = [sftp] alone';
  switch (key) {
    case 'extraBinaries':
    case 'allowSetuid':
      return runsCommands(d.tools) ? undefined : `needs ${commandToolsText()}`;
    case 'groupDir':
      return d.options.group ? undefined : 'needs a group (set group first)';
    default:
      return undefined;
  }
}

/** The extras in effect: the admin's choice, else the default for the tools. */
export function effectiveExtras(d: Pick<Draft, 'tools' | 'options'>): Extra[] {
  return d.options.extras ?? (d.tools.includes('bash') ? [...BASH_EXTRAS] : []);
}

/** An option's value as the admin edits it: lists comma-separated, binds as SOURCE:TARGET:ro|rw. */
export function optionText(o: Options, key: TextKey): string {
  switch (key) {
    case 'binds':
      return (o.binds ?? []).map((b) => `${b.source}:${b.target}:${b.readOnly ? 'ro' : 'rw'}`).join(', ');
    case 'allowFrom':
    case 'extraBinaries':
      return (o[key] ?? []).join(', ');
    default:
      return o[key] ?? '';
  }
}

/**
 * The edited text back into the option. Only the wizard's own notation is checked here
 * (SOURCE:TARGET[:ro|rw]); what the values may be is parseAnswers' business, at Continue.
 */
export function parseOptionText(key: TextKey, text: string): { value: Options[TextKey] } | { error: { message: string; hint?: string } } {
  const t = text.trim();
  const list = (sep: RegExp): string[] => t.split(sep).map((x) => x.trim()).filter((x) => x !== '');
  switch (key) {
    case 'binds': {
      const binds: BindMount[] = [];
      for (const item of list(/,/)) {
        const [source = '', target = '', flag = 'ro', ...rest] = item.split(':').map((x) => x.trim());
        if (source === '' || target === '' || rest.length > 0 || !['ro', 'rw'].includes(flag)) {
          return { error: { message: `binds: write SOURCE:TARGET[:ro|rw], not ${JSON.stringify(item)}`, hint: 'e.g. /srv/web/example.com:/web:ro, several separated by commas' } };
        }
        binds.push({ source, target, readOnly: flag === 'ro' });
      }
      return { value: binds.length > 0 ? binds : undefined };
    }
    case 'allowFrom':
    case 'extraBinaries': {
      const items = list(/[\s,]+/);
      return { value: items.length > 0 ? items : undefined };
    }
    default:
      return { value: t === '' ? undefined : t };
  }
}

function setOption<K extends OptionKey>(o: Options, key: K, value: Options[K]): Options {
  const next = { ...o };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

export interface Draft {
  user: string;
  tools: Tool[];
  jail: string;
  arch: Arch | 'auto';
  authorizedKeys: string[];
  /** The admin chose to add keys later (shown with its consequence). */
  keysLater: boolean;
  installMissing: boolean;
  /** The Options screen's answers; absent keys are the defaults (extras: see effectiveExtras). */
  options: Options;
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
  /** The Tools screen's highlighted row. */
  toolsCursor: number;
  optionsUi: OptionsUi;
  plan?: Plan;
  planError?: { message: string; hint?: string };
  run: RunState;
  probes: ProbeResult[];
  outcome?: { ok: boolean; exitCode: number };
  /** What the first screen shows, once gathered. */
  preflight?: Preflight;
  /** The first screen rolls back an unfinished run of an earlier jailwizard. */
  rollingBackUnfinished: boolean;
  /** How each key added on the Access screen is shown, by its line. */
  keyLabels: Record<string, string>;
  /** Where the Preview screen last saved the script or the answers. */
  saved?: string;
  /** Where a successful run saved its answers. */
  answersPath?: string;
  /** Where the user connects to, for the Summary's commands. */
  target: ConnectTarget;
  /** "Repair a jail" from the first screen: doctor, interactively, instead of the make flow. */
  repairing: boolean;
}

export type Action =
  /** Several actions as one state change, in order (a burst of keys is one redraw). */
  | { type: 'batch'; actions: Action[] }
  | { type: 'next' }
  | { type: 'back' }
  | { type: 'goto'; screen: Screen }
  | { type: 'set-user'; user: string }
  | { type: 'toggle-tool'; tool: Tool }
  /** Tools screen: moves of the highlight and toggles of the highlighted tool, in order. */
  | { type: 'tool-moves'; moves: ToolMove[] }
  | { type: 'set-jail'; jail: string }
  | { type: 'set-arch'; arch: Arch | 'auto' }
  | { type: 'add-key'; key: string; label?: string }
  | { type: 'remove-key'; index: number }
  | { type: 'keys-later' }
  | { type: 'set-install-missing'; value: boolean }
  /** Options screen: move the highlight (wraps around). */
  | { type: 'option-move'; delta: 1 | -1 }
  /** Options screen: Space on the highlighted row toggles a flag or an extra. */
  | { type: 'option-toggle' }
  /** Options screen: Enter on a text option starts editing it. */
  | { type: 'option-edit-start' }
  | { type: 'option-edit'; text: string }
  /** Enter while editing: the text becomes the option (Esc, that is `back`, cancels). */
  | { type: 'option-accept' }
  /**
   * Continue: the App checked draftToAnswers() with parseAnswers; either its refusal, or
   * the normalised answers (umask "027" is "0027") to keep, and on to the preview.
   */
  | { type: 'options-checked'; error: { message: string; hint?: string } }
  | { type: 'options-checked'; answers: Answers }
  | { type: 'plan-ready'; plan: Plan }
  | { type: 'plan-failed'; message: string; hint?: string }
  | { type: 'exec'; event: ExecEvent }
  | { type: 'next-plan'; plan: Plan | undefined }
  | { type: 'test-start' }
  | { type: 'probe'; result: ProbeResult }
  | { type: 'finished'; ok: boolean; exitCode: number; error?: string; manual?: string[] }
  | { type: 'preflight'; preflight: Preflight }
  | { type: 'rolling-back-unfinished'; value: boolean }
  | { type: 'saved'; path: string | undefined }
  | { type: 'answers-saved'; path: string }
  | { type: 'connect-target'; target: ConnectTarget }
  | { type: 'repair' };

export function initialState(draft: Partial<Draft> = {}): WizardState {
  return {
    screen: 'preflight',
    draft: { user: '', tools: [], jail: '', arch: 'auto', authorizedKeys: [], keysLater: false, installMissing: false, options: {}, ...draft },
    optionsUi: { cursor: 0 },
    toolsCursor: 0,
    run: { steps: [], rolledBack: [], rollingBack: false, manual: [], log: [] },
    probes: [],
    rollingBackUnfinished: false,
    keyLabels: {},
    target: { host: 'this-host', port: 22, from: 'fqdn' },
    repairing: false,
  };
}

export type ToolMove = 'up' | 'down' | 'toggle';

/** The Tools screen after moves, in order: the highlight wraps around; a toggle flips the highlighted tool. */
export function moveTools(at: { cursor: number; tools: Tool[] }, moves: readonly ToolMove[]): { cursor: number; tools: Tool[] } {
  let { cursor, tools } = at;
  for (const m of moves) {
    if (m === 'up') cursor = (cursor + TOOLS.length - 1) % TOOLS.length;
    else if (m === 'down') cursor = (cursor + 1) % TOOLS.length;
    else {
      const t = TOOLS[cursor]!;
      tools = tools.includes(t) ? tools.filter((x) => x !== t) : TOOLS.filter((x) => x === t || tools.includes(x));
    }
  }
  return { cursor, tools };
}

/** The default jail for a user: a shared-service layout under /srv. */
export function defaultJail(user: string): string {
  return `/srv/jails/${user}`;
}

function move(state: WizardState, delta: 1 | -1): Screen {
  const i = SCREENS.indexOf(state.screen);
  return SCREENS[Math.min(SCREENS.length - 1, Math.max(0, i + delta))]!;
}

/**
 * The answers the planner takes and the wizard saves. Options that do not apply to the
 * chosen tools are left out (the screen shows them dimmed), and so are defaults: an
 * answers file names only what the admin changed.
 */
export function draftToAnswers(d: Draft): Answers {
  const a: Answers = {
    user: d.user,
    tools: TOOLS.filter((t) => d.tools.includes(t)),
    jail: d.jail,
    arch: d.arch,
    authorizedKeys: d.authorizedKeys,
    createUser: true,
    installMissing: d.installMissing,
  };
  const o: Options = { ...d.options, extras: effectiveExtras(d) };
  const out = a as Record<OptionKey, unknown>;
  for (const key of OPTION_KEYS) {
    const v = o[key];
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0) || optionNotApplicable(d, key)) continue;
    out[key] = v;
  }
  return a;
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
    case 'options':
      return s.optionsUi.editing === undefined;
    case 'preview':
      return s.plan !== undefined && !s.planError;
    default:
      return true;
  }
}

/** Esc goes back from here (on Options it first cancels an edit); elsewhere the screen gets it. */
export function escapeGoesBack(s: WizardState): boolean {
  return BACK_ALLOWED.has(s.screen);
}

export function reducer(s: WizardState, a: Action): WizardState {
  switch (a.type) {
    case 'batch':
      return a.actions.reduce(reducer, s);
    case 'next': {
      if (!canAdvance(s)) return s;
      const screen = move(s, 1);
      // Entering the preview starts a fresh plan: answers may have changed.
      if (screen === 'preview') return { ...s, screen, plan: undefined, planError: undefined };
      // The Options screen opens without a leftover edit or refusal.
      if (screen === 'options') return { ...s, screen, optionsUi: { cursor: s.optionsUi.cursor } };
      if (screen === 'run') return { ...s, screen, run: { steps: (s.plan?.steps ?? []).map((st) => ({ title: st.title, status: 'pending' })), rolledBack: [], rollingBack: false, manual: [], log: [] } };
      return { ...s, screen };
    }
    case 'back':
      // Esc while an option is edited cancels the edit, and stays.
      if (s.screen === 'options' && s.optionsUi.editing !== undefined) return { ...s, optionsUi: { ...s.optionsUi, editing: undefined } };
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
    case 'tool-moves': {
      const at = moveTools({ cursor: s.toolsCursor, tools: s.draft.tools }, a.moves);
      return { ...s, toolsCursor: at.cursor, draft: { ...s.draft, tools: at.tools } };
    }
    case 'set-jail':
      return { ...s, draft: { ...s.draft, jail: a.jail } };
    case 'set-arch':
      return { ...s, draft: { ...s.draft, arch: a.arch } };
    case 'add-key':
      if (s.draft.authorizedKeys.includes(a.key)) return s;
      return {
        ...s,
        draft: { ...s.draft, authorizedKeys: [...s.draft.authorizedKeys, a.key], keysLater: false },
        ...(a.label !== undefined ? { keyLabels: { ...s.keyLabels, [a.key]: a.label } } : {}),
      };
    case 'remove-key':
      return { ...s, draft: { ...s.draft, authorizedKeys: s.draft.authorizedKeys.filter((_, i) => i !== a.index) } };
    case 'keys-later':
      return { ...s, draft: { ...s.draft, keysLater: true } };
    case 'set-install-missing':
      return { ...s, draft: { ...s.draft, installMissing: a.value } };
    case 'option-move': {
      if (s.optionsUi.editing !== undefined) return s;
      const n = OPTION_ITEMS.length;
      return { ...s, optionsUi: { ...s.optionsUi, cursor: (s.optionsUi.cursor + n + a.delta) % n } };
    }
    case 'option-toggle': {
      const item = OPTION_ITEMS[s.optionsUi.cursor]!;
      if (s.optionsUi.editing !== undefined) return s;
      let options: Options;
      if (item.kind === 'flag') {
        if (optionNotApplicable(s.draft, item.key)) return s;
        options = setOption(s.draft.options, item.key, s.draft.options[item.key] ? undefined : true);
      } else if (item.kind === 'extra') {
        const now = effectiveExtras(s.draft);
        const extras = now.includes(item.extra) ? now.filter((x) => x !== item.extra) : EXTRAS.filter((x) => x === item.extra || now.includes(x));
        // An explicit list, even an empty one: the admin's choice outlives changes of tools.
        options = { ...s.draft.options, extras };
      } else return s;
      return { ...s, draft: { ...s.draft, options }, optionsUi: { ...s.optionsUi, error: undefined } };
    }
    case 'option-edit-start': {
      const item = OPTION_ITEMS[s.optionsUi.cursor]!;
      if (item.kind !== 'text' || s.optionsUi.editing !== undefined || optionNotApplicable(s.draft, item.key)) return s;
      return { ...s, optionsUi: { ...s.optionsUi, editing: optionText(s.draft.options, item.key), error: undefined } };
    }
    case 'option-edit':
      if (s.optionsUi.editing === undefined) return s;
      return { ...s, optionsUi: { ...s.optionsUi, editing: a.text } };
    case 'option-accept': {
      const item = OPTION_ITEMS[s.optionsUi.cursor]!;
      if (item.kind !== 'text' || s.optionsUi.editing === undefined) return s;
      const r = parseOptionText(item.key, s.optionsUi.editing);
      if ('error' in r) return { ...s, optionsUi: { ...s.optionsUi, error: r.error } };
      return { ...s, draft: { ...s.draft, options: setOption(s.draft.options, item.key, r.value) }, optionsUi: { cursor: s.optionsUi.cursor } };
    }
    case 'options-checked': {
      if (s.screen !== 'options') return s;
      if ('error' in a) return { ...s, optionsUi: { ...s.optionsUi, error: a.error } };
      // Keep the normalised form of what the admin set; what was left at its default stays unset.
      let options = s.draft.options;
      for (const key of OPTION_KEYS) {
        if (options[key] !== undefined && !optionNotApplicable(s.draft, key) && a.answers[key] !== undefined) options = setOption(options, key, a.answers[key]);
      }
      return reducer({ ...s, draft: { ...s.draft, options }, optionsUi: { cursor: s.optionsUi.cursor } }, { type: 'next' });
    }
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
    case 'preflight':
      return { ...s, preflight: a.preflight };
    case 'rolling-back-unfinished':
      return { ...s, rollingBackUnfinished: a.value };
    case 'saved':
      return { ...s, saved: a.path };
    case 'answers-saved':
      return { ...s, answersPath: a.path };
    case 'connect-target':
      return { ...s, target: a.target };
    case 'repair':
      return { ...s, repairing: true };
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
