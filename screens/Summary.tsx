import React from 'react';
import { Box, Text } from 'ink';
import type { Answers } from '../src/types.ts';
import { fit, useSize, useUi } from './ui.tsx';
import { useKeys } from './keyboard.tsx';

export interface SummaryProps {
  answers: Answers;
  host: string;
  port: number;
  passed: number;
  answersPath?: string;
  extraFlags: string;
  onExit(finalText: string): void;
}

/** The summary as plain lines: shown on screen, and printed again on exit for copying. */
export function summaryLines(p: Omit<SummaryProps, 'onExit'>): { heading: string; connect: string[]; undo: string; again?: string } {
  const a = p.answers;
  const P = p.port === 22 ? '' : ` -P ${p.port}`;
  const pl = p.port === 22 ? '' : ` -p ${p.port}`;
  const connect: string[] = [];
  if (a.tools.includes('sftp') || a.tools.includes('scp')) connect.push(`sftp${P} ${a.user}@${p.host}`);
  if (a.tools.includes('scp')) connect.push(`scp${P} FILE ${a.user}@${p.host}:`);
  if (a.tools.includes('bash')) connect.push(`ssh${pl} ${a.user}@${p.host}`);
  if (a.tools.includes('rsync')) connect.push(`rsync -av${p.port === 22 ? '' : ` -e 'ssh -p ${p.port}'`} FILES ${a.user}@${p.host}:`);
  return {
    heading: `${a.user} is jailed in ${a.jail} with ${a.tools.join(', ')}; ${p.passed} probes passed.`,
    connect,
    undo: `jailwizard remove ${a.user}${p.extraFlags}`,
    again: p.answersPath ? `jailwizard apply --config ${p.answersPath}${p.extraFlags}` : undefined,
  };
}

export function summaryText(p: Omit<SummaryProps, 'onExit'>): string {
  const s = summaryLines(p);
  return [
    s.heading,
    `How ${p.answers.user} connects:`,
    ...s.connect.map((c) => `  ${c}`),
    ...(p.answers.authorizedKeys.length === 0 ? [`  (no keys yet: add them to /etc/ssh/authorized_keys/${p.answers.user})`] : []),
    `Undo:  ${s.undo}`,
    ...(s.again ? [`Make the same jail again:  ${s.again}`] : []),
    '',
  ].join('\n');
}

/** What was made, how the user connects, how to undo it, and how to make it again. */
export function SummaryScreen(props: SummaryProps): React.JSX.Element {
  const { sym } = useUi();
  const { columns, rows } = useSize();
  const { answers: a, onExit } = props;
  useKeys((key) => {
    if (key.name === 'enter' || key.name === 'escape' || (key.name === 'text' && key.text === 'q')) onExit(summaryText(props));
  });
  const s = summaryLines(props);
  const roomy = rows >= 24;
  // Long commands are cut here; on exit they are printed whole, as plain lines to copy.
  const line = (t: string): string => fit(t, columns - 1);
  return (
    <Box flexDirection="column">
      <Text color="green">
        {sym.ok} {s.heading}
      </Text>
      {roomy ? <Text> </Text> : null}
      <Text bold>How {a.user} connects:</Text>
      {s.connect.map((c) => (
        <Text key={c}>  {c}</Text>
      ))}
      {a.authorizedKeys.length === 0 ? <Text color="yellow">{line(`  (no keys yet: add them to /etc/ssh/authorized_keys/${a.user})`)}</Text> : null}
      {roomy ? <Text> </Text> : null}
      <Text>{line(`Undo: ${s.undo}`)}</Text>
      {s.again ? <Text>{line(`Again: ${s.again}`)}</Text> : null}
      <Text dimColor>Enter: exit (the commands are printed in full).</Text>
    </Box>
  );
}
