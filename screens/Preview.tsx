import React from 'react';
import { Box, Text } from 'ink';
import type { Plan } from '../src/model/effects.ts';
import { formatPlanLines } from '../src/model/effects.ts';
import { Prose, Spinner, usePager, useSize, useUi, useWrapStyle, wrapPlan } from './ui.tsx';
import { useKeys } from './keyboard.tsx';

export interface PreviewProps {
  plan?: Plan;
  error?: { message: string; hint?: string };
  height: number;
  saved?: string;
  onConfirm(): void;
  onSaveScript(): void;
  onSaveAnswers(): void;
}

/** Every step and every exact command or file write, paged; confirm, go back or save. */
export function PreviewScreen({ plan, error, height, saved, onConfirm, onSaveScript, onSaveAnswers }: PreviewProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const { columns } = useSize();
  const style = useWrapStyle();
  // Wrapped for the window, never cut: prose at words, commands with ` \` (the saved script is exact).
  const lines = plan ? wrapPlan(formatPlanLines(plan), columns - 1, style) : [];
  const pager = usePager(lines, height);
  useKeys((key) => {
    if (!plan) return;
    if (key.name === 'enter') onConfirm();
    else if (key.name === 'text' && key.text === 's') onSaveScript();
    else if (key.name === 'text' && key.text === 'a') onSaveAnswers();
    else pager.onKey(key);
  }, { burst: (keys) => (plan ? pager.onKeys(keys) : 0) });
  if (error) {
    return (
      <Box flexDirection="column">
        <Prose text={`${sym.bad} ${error.message}`} hanging={2} color={caps.color ? 'red' : undefined} />
        {error.hint ? <Prose text={`hint: ${error.hint}`} indent={2} hanging={8} /> : null}
        <Text dimColor>Esc: go back and change the answers.</Text>
      </Box>
    );
  }
  if (!plan) {
    return (
      <Text>
        <Spinner /> Planning: reading this host{sym.ellipsis}
      </Text>
    );
  }
  return (
    <Box flexDirection="column">
      {pager.view}
      {saved ? <Prose text={`${sym.ok} saved ${saved}`} hanging={2} color={caps.color ? 'green' : undefined} /> : null}
      <Text bold>
        {plan.steps.length === 0 ? 'Nothing to change. Enter: run the connection test.' : `Enter: apply these ${plan.steps.length} steps.`}
      </Text>
    </Box>
  );
}
