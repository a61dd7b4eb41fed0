// The wizard's root: one reducer, one root of input (Ctrl+C, Esc: KeysRoot), and the effects that
// talk to the engine. Each screen is a thin component: props in, callbacks out.
import React, { useEffect, useLayoutEffect, useReducer, useRef } from 'react';
import { reducer, initialState, draftToAnswers, escapeGoesBack, SCREENS, type Draft } from '../src/wizard/state.ts';
import type { Key } from '../src/wizard/keys.ts';
import { KeysRoot } from './keyboard.tsx';
import type { Services } from '../src/wizard/services.ts';
import type { Plan } from '../src/model/effects.ts';
import { UiContext, Frame, frameBodyRows, useSize, type Ui } from './ui.tsx';
import { PreflightScreen } from './Preflight.tsx';
import { UserScreen } from './User.tsx';
import { ToolsScreen } from './Tools.tsx';
import { JailScreen } from './JailLocation.tsx';
import { ArchScreen } from './Arch.tsx';
import { AccessScreen } from './Access.tsx';
import { OptionsScreen } from './Options.tsx';
import { PreviewScreen } from './Preview.tsx';
import { RunScreen, RunLog } from './Run.tsx';
import { ConnectionTestScreen } from './ConnectionTest.tsx';
import { SummaryScreen } from './Summary.tsx';
import { RepairScreen } from './Repair.tsx';

export interface AppProps {
  services: Services;
  ui: Ui;
  /** Called once with the exit code; the caller unmounts, then prints `finalText` plainly. */
  onExit(code: number, message?: string, finalText?: string): void;
  initialDraft?: Partial<Draft>;
  /** Called as the App unmounts, synchronously: also when Ink unmounts it on a signal. */
  onUnmount?(): void;
}

const HINTS: Record<string, string> = {
  preflight: 'enter start · ctrl+c quit',
  user: 'arrows move · enter choose · esc back · ctrl+c quit',
  tools: 'arrows move · space toggle · enter next · esc back · ctrl+c quit',
  jail: 'arrows move · enter choose · esc back · ctrl+c quit',
  arch: 'enter choose · esc back · ctrl+c quit',
  access: 'enter add/continue · esc back · ctrl+c quit',
  options: 'arrows move · space toggle · enter edit · c continue · esc back · ctrl+c quit',
  preview: 'enter apply · s save script · a save answers · esc back · ctrl+c quit',
  run: 'ctrl+c rolls back',
  test: 'ctrl+c rolls back',
  summary: 'enter exit',
};
const REPAIR_HINTS = 'enter choose/next · ctrl+c quit (rolls back a running fix)';

export function App({ services, ui, onExit, initialDraft, onUnmount }: AppProps): React.JSX.Element {
  const [s, dispatch] = useReducer(reducer, initialDraft, initialState);
  const pendingAnswer = useRef<((go: boolean) => void) | undefined>(undefined);
  const { rows, columns } = useSize();
  // The keys chosen so far, for the duplicate check of the next entry (checks are async).
  const keysNow = useRef(s.draft.authorizedKeys);
  keysNow.current = s.draft.authorizedKeys;
  const running = (s.screen === 'run' || s.screen === 'test') && !s.outcome;
  const { repairing } = s;

  useEffect(() => {
    void services.preflight().then((preflight) => dispatch({ type: 'preflight', preflight }));
  }, [services]);

  // A layout effect's cleanup runs inside the unmount itself, before a signal ends the process.
  const unmounted = useRef(onUnmount);
  unmounted.current = onUnmount;
  useLayoutEffect(() => () => unmounted.current?.(), []);

  // Entering the preview makes a fresh plan from the current answers.
  useEffect(() => {
    if (s.screen !== 'preview' || s.plan || s.planError) return;
    let live = true;
    services.plan(draftToAnswers(s.draft)).then(
      (plan) => live && dispatch({ type: 'plan-ready', plan }),
      (e: Error & { hint?: string }) => live && dispatch({ type: 'plan-failed', message: e.message, hint: e.hint }),
    );
    dispatch({ type: 'saved', path: undefined });
    return () => {
      live = false;
    };
  }, [s.screen, s.plan, s.planError, s.draft, services]);

  // Entering Run executes exactly the plan that was previewed.
  useEffect(() => {
    if (s.screen !== 'run' || !s.plan) return;
    const answers = draftToAnswers(s.draft);
    void services.connectTarget().then((target) => dispatch({ type: 'connect-target', target }), () => {});
    void services
      .execute(answers, s.plan, {
        listener: (event) => dispatch({ type: 'exec', event }),
        confirmNext: (plan: Plan) =>
          new Promise<boolean>((resolve) => {
            pendingAnswer.current = resolve;
            dispatch({ type: 'next-plan', plan });
          }),
        onTestStart: () => dispatch({ type: 'test-start' }),
        onProbe: (result) => dispatch({ type: 'probe', result }),
      })
      .then((outcome) => {
        if (outcome.ok) dispatch({ type: 'answers-saved', path: services.saveAnswers(answers, 'state') });
        dispatch(outcome.ok ? { type: 'finished', ok: true, exitCode: 0 } : { type: 'finished', ok: false, exitCode: outcome.exitCode, error: outcome.error, manual: outcome.manual });
        // A signal (SIGHUP: the terminal is gone) ends the program once rolled back.
        if (!outcome.ok && outcome.exitCode >= 128) onExit(outcome.exitCode, outcome.error);
      });
    // The plan is executed once, when Run is entered.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [s.screen === 'run']);

  // The root of input: Ctrl+C and Esc, before the screen sees a key.
  const onRootKey = (key: Key): boolean => {
    if (key.name === 'ctrl' && key.letter === 'c') {
      // The executor (make or repair) traps SIGINT and rolls back; with none running, it
      // would end the process at once, which is what quitting means then.
      if (running || repairing) process.kill(process.pid, 'SIGINT');
      else if (s.outcome) onExit(s.outcome.exitCode);
      else onExit(130, 'Quit: nothing was changed.');
      return true;
    }
    if (key.name === 'escape' && !running && !repairing && escapeGoesBack(s)) {
      dispatch({ type: 'back' });
      return true;
    }
    return false;
  };

  const answerPending = (go: boolean): void => {
    dispatch({ type: 'next-plan', plan: undefined });
    pendingAnswer.current?.(go);
    pendingAnswer.current = undefined;
  };
  const hints = repairing ? REPAIR_HINTS : s.screen === 'options' && s.optionsUi.editing !== undefined ? 'enter accept · esc cancel · ctrl+c quit' : (HINTS[s.screen] ?? '');
  // The frame: title, a blank line, the body, a blank line, the key hints (one or two lines);
  // the whole stays shorter than the window.
  const bodyRows = frameBodyRows(rows, columns, hints, ui.sym);
  const height = Math.max(6, bodyRows - 3);
  const d = s.draft;
  const index = SCREENS.indexOf(s.screen) + 1;
  const body = ((): React.JSX.Element => {
    switch (s.screen) {
      case 'preflight':
        return (
          <PreflightScreen
            data={s.preflight}
            rows={bodyRows}
            rollingBack={s.rollingBackUnfinished}
            onContinue={() => dispatch({ type: 'next' })}
            onRepair={() => dispatch({ type: 'repair' })}
            onRollback={() => {
              dispatch({ type: 'rolling-back-unfinished', value: true });
              void services.rollbackUnfinished().then(async () => {
                dispatch({ type: 'rolling-back-unfinished', value: false });
                dispatch({ type: 'preflight', preflight: await services.preflight() });
              });
            }}
          />
        );
      case 'user':
        return (
          <UserScreen
            users={services.users()}
            value={d.user}
            validate={services.validateUser}
            listHeight={Math.max(3, rows - 9)}
            onSubmit={(user) => {
              dispatch({ type: 'set-user', user });
              dispatch({ type: 'next' });
            }}
          />
        );
      case 'tools':
        return <ToolsScreen selected={d.tools} cursor={s.toolsCursor} missing={services.missingTools()} onMoves={(moves) => dispatch({ type: 'tool-moves', moves })} onNext={() => {
          dispatch({ type: 'set-install-missing', value: services.missingTools().some((t) => d.tools.includes(t)) });
          dispatch({ type: 'next' });
        }} />;
      case 'jail':
        return (
          <JailScreen
            user={d.user}
            value={d.jail}
            home={services.homeOf(d.user)}
            chain={services.chain}
            validate={(j) => services.validateJail(j, d.user)}
            onSubmit={(jail) => {
              dispatch({ type: 'set-jail', jail });
              dispatch({ type: 'next' });
            }}
          />
        );
      case 'arch': {
        const a = services.arches(d.tools);
        return (
          <ArchScreen
            hostArch={a.host}
            available={a.available}
            value={d.arch}
            onSubmit={(arch) => {
              dispatch({ type: 'set-arch', arch });
              dispatch({ type: 'next' });
            }}
          />
        );
      }
      case 'access':
        return (
          <AccessScreen
            user={d.user}
            bodyRows={bodyRows}
            keys={d.authorizedKeys.map((line) => ({ line, label: s.keyLabels[line] ?? line.slice(0, 40) }))}
            onAdd={async (text) => {
              const r = await services.checkKeys(text, keysNow.current);
              if ('error' in r) return r;
              const added = r.lines.flatMap((k) => (k.status === 'added' ? [k] : []));
              for (const k of added) dispatch({ type: 'add-key', key: k.line, label: k.label });
              keysNow.current = [...keysNow.current, ...added.map((k) => k.line)];
              return r.lines;
            }}
            onLater={() => dispatch({ type: 'keys-later' })}
            onNext={() => dispatch({ type: 'next' })}
          />
        );
      case 'options':
        return (
          <OptionsScreen
            draft={d}
            ui={s.optionsUi}
            onAction={dispatch}
            bodyRows={bodyRows}
            onContinue={() => {
              const r = services.checkAnswers(draftToAnswers(d));
              dispatch('error' in r ? { type: 'options-checked', error: r.error } : { type: 'options-checked', answers: r.answers });
            }}
          />
        );
      case 'preview':
        return (
          <PreviewScreen
            plan={s.plan}
            error={s.planError}
            height={height}
            saved={s.saved}
            onConfirm={() => dispatch({ type: 'next' })}
            onSaveScript={() => s.plan && dispatch({ type: 'saved', path: services.saveScript(s.plan) })}
            onSaveAnswers={() => dispatch({ type: 'saved', path: services.saveAnswers(draftToAnswers(d), 'cwd') })}
          />
        );
      case 'run':
        return <RunScreen run={s.run} finished={!!s.outcome} ok={s.outcome?.ok} height={height} onPendingPlan={answerPending} onExit={() => onExit(s.outcome?.exitCode ?? 1)} />;
      case 'test':
        return (
          <ConnectionTestScreen
            probes={s.probes}
            finished={!!s.outcome}
            ok={s.outcome?.ok}
            error={s.run.error}
            rolledBack={s.run.rolledBack.length}
            height={height}
            onExit={() => onExit(s.outcome?.exitCode ?? 1)}
          />
        );
      case 'summary':
        return (
          <SummaryScreen
            answers={draftToAnswers(d)}
            host={s.target.host}
            port={s.target.port}
            passed={s.probes.filter((p) => p.ok).length}
            answersPath={s.answersPath}
            extraFlags={services.extraFlags}
            onExit={(text) => onExit(0, undefined, text)}
          />
        );
    }
  })();
  return (
    <UiContext.Provider value={ui}>
      <KeysRoot root={onRootKey}>
      <RunLog log={s.run.log} />
      {repairing ? (
        <Frame screen="repair" index={1} total={1} hints={hints}>
          <RepairScreen services={services} height={height} onExit={onExit} />
        </Frame>
      ) : (
        <Frame screen={s.screen} index={index} total={SCREENS.length} hints={hints}>
          {body}
        </Frame>
      )}
      </KeysRoot>
    </UiContext.Provider>
  );
}
