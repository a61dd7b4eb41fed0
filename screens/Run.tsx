import React from 'react';
import { Box, Static, Text } from 'ink';
import { formatPlanLines } from '../src/model/effects.ts';
import type { RunState } from '../src/wizard/state.ts';
import { ProgressBar, Prose, Spinner, fit, mb, usePager, useSize, useUi, useWrapStyle, wrapPlan } from './ui.tsx';
import { useKeys } from './keyboard.tsx';

export interface RunProps {
  run: RunState;
  finished: boolean;
  ok?: boolean;
  height: number;
  /** Answer for a plan made after packages were installed. */
  onPendingPlan(go: boolean): void;
  onExit(): void;
}

/**
 * Finished steps scroll into a static log above the frame. It is mounted once, by the App,
 * for the wizard's whole life: an unmounted <Static> makes Ink 5 measure a freed node and
 * run out of memory (ink#904).
 */
export const RunLog = React.memo(RunLogLines);

// Memoized, so that it re-renders only when the log grows: Ink 5 draws a whole frame at
// once, unthrottled, whenever a mounted <Static> re-renders (its "static dirty" path), so
// re-rendering it on every key would draw one frame per key of a burst.
function RunLogLines({ log }: { log: RunState['log'] }): React.JSX.Element {
  const { sym, caps } = useUi();
  const { columns } = useSize();
  const mark = { done: sym.ok, failed: sym.bad, undone: sym.undone, 'undo-failed': sym.bad };
  const color = { done: 'green', failed: 'red', undone: 'yellow', 'undo-failed': 'red' } as const;
  return (
    <Static items={log.map((l, i) => ({ ...l, key: i }))}>
      {(l) => (
        <Box key={l.key} flexDirection="column">
          <Prose text={`${mark[l.kind]} ${l.kind === 'undone' ? 'undone: ' : l.kind === 'undo-failed' ? 'could not undo: ' : ''}${l.text}`} hanging={2} width={columns - 1} color={caps.color ? color[l.kind] : undefined} />
        </Box>
      )}
    </Static>
  );
}

/** The live area: the current step only, or the rollback, or what went wrong. */
export function RunScreen({ run, finished, ok, height, onPendingPlan, onExit }: RunProps): React.JSX.Element {
  const { sym } = useUi();
  const { columns } = useSize();
  const style = useWrapStyle();
  const pager = usePager(run.pendingPlan ? wrapPlan(formatPlanLines(run.pendingPlan), columns - 1, style) : [], height - 3);
  useKeys((key) => {
    if (run.pendingPlan) {
      if (key.name === 'enter') onPendingPlan(true);
      else if (key.name === 'escape') onPendingPlan(false);
      else pager.onKey(key);
    } else if (finished && (key.name === 'enter' || (key.name === 'text' && key.text === 'q'))) onExit();
  }, { burst: (keys) => (run.pendingPlan ? pager.onKeys(keys) : 0) });
  const current = run.steps.find((s) => s.status === 'running');
  const done = run.steps.filter((s) => s.status === 'done').length;
  return (
    <Box flexDirection="column">
      {run.pendingPlan ? (
        <Box flexDirection="column">
          <Text bold>The packages are installed. The next steps copy their files:</Text>
          {pager.view}
          <Text>Enter: go on. Esc: roll everything back.</Text>
        </Box>
      ) : null}
      {current && !run.rollingBack ? (
        <Box flexDirection="column">
          <Text>
            <Spinner /> {fit(current.title, columns - 4)}
          </Text>
          {run.progress && run.progress.totalBytes > 0 ? (
            <Text>
              {'  '}
              <ProgressBar done={run.progress.bytes} total={run.progress.totalBytes} /> {run.progress.done}/{run.progress.total} files, {mb(run.progress.bytes)} of {mb(run.progress.totalBytes)}
            </Text>
          ) : null}
        </Box>
      ) : null}
      {run.rollingBack ? (
        <Text color="yellow">
          <Spinner /> Rolling back, newest change first{sym.ellipsis}
        </Text>
      ) : null}
      {!finished ? <Text dimColor>{done}/{run.steps.length} steps done. Ctrl+C rolls everything back.</Text> : null}
      {finished && !ok ? (
        <Box flexDirection="column" marginTop={1}>
          <Prose text={`${sym.bad} ${run.error ?? 'failed'}`} hanging={2} color="red" />
          {run.manual.length > 0 ? (
            <>
              <Text color="red">These changes could not be undone; run them by hand:</Text>
              {run.manual.map((m) => (
                <Text key={m}>  {m}</Text>
              ))}
            </>
          ) : (
            <Text color="green">{sym.ok} Rolled back: {run.rolledBack.length} step{run.rolledBack.length === 1 ? '' : 's'} undone; the host is as it was.</Text>
          )}
          <Text dimColor>Enter: exit.</Text>
        </Box>
      ) : null}
    </Box>
  );
}
