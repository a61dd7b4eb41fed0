import React from 'react';
import { Box, Text, useInput } from 'ink';
import type { Plan } from '../src/effects.ts';
import { formatPlan } from '../src/effects.ts';
import { Pager, Spinner, useUi } from './ui.tsx';

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
  const { sym } = useUi();
  useInput((input, key) => {
    if (!plan) return;
    if (key.return) onConfirm();
    else if (input === 's') onSaveScript();
    else if (input === 'a') onSaveAnswers();
  });
  if (error) {
    return (
      <Box flexDirection="column">
        <Text color="red">{sym.bad} {error.message}</Text>
        {error.hint ? <Text>  hint: {error.hint}</Text> : null}
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
  const lines = formatPlan(plan).trimEnd().split('\n');
  return (
    <Box flexDirection="column">
      <Pager lines={lines} height={height} />
      {saved ? <Text color="green">{sym.ok} saved {saved}</Text> : null}
      <Text bold>
        {plan.steps.length === 0 ? 'Nothing to change. Enter: run the connection test.' : `Enter: apply these ${plan.steps.length} steps.`}
      </Text>
    </Box>
  );
}
