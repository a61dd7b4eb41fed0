import React from 'react';
import { Box, Text } from 'ink';
import type { Answers } from '../src/model/types.ts';
import { connectCommands, isLoopback } from '../src/plan/connect-commands.ts';
import { Prose, fit, useSize, useUi, useWrapStyle } from './ui.tsx';
import { wrapCommand } from '../src/wizard/wrap.ts';
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
  const connect = connectCommands(a.user, a.tools, { host: p.host, port: p.port });
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
  const { sym, caps } = useUi();
  const { columns, rows } = useSize();
  const { answers: a, onExit } = props;
  useKeys((key) => {
    if (key.name === 'enter' || key.name === 'escape' || (key.name === 'text' && key.text === 'q')) onExit(summaryText(props));
  });
  const s = summaryLines(props);
  const roomy = rows >= 24;
  const style = useWrapStyle();
  // Commands wrap with a shell continuation (a copied line still runs); on exit they are
  // printed again whole, one per line.
  const command = (t: string, indent: number): string[] => wrapCommand(t, columns - 1, style, indent);
  return (
    <Box flexDirection="column">
      <Prose text={`${sym.ok} ${s.heading}`} hanging={2} color={caps.color ? 'green' : undefined} />
      {roomy ? <Text> </Text> : null}
      <Text bold>How {a.user} connects:</Text>
      {s.connect.flatMap((c) => command(c, 2)).map((l, i) => (
        <Text key={`c${i}`}>{l}</Text>
      ))}
      {isLoopback(props.host) ? <Prose text={`(sshd listens only on ${props.host}: only this host can connect)`} indent={2} hanging={3} color={caps.color ? 'yellow' : undefined} /> : null}
      {a.authorizedKeys.length === 0 ? <Prose text={`(no keys yet: add them to /etc/ssh/authorized_keys/${a.user})`} indent={2} hanging={3} color={caps.color ? 'yellow' : undefined} /> : null}
      {roomy ? <Text> </Text> : null}
      {/* In a small window these two stay one line each, shortened at a word: printed whole on exit. */}
      {(roomy ? command(`Undo: ${s.undo}`, 0) : [fit(`Undo: ${s.undo}`, columns - 1)]).map((l, i) => (
        <Text key={`u${i}`}>{l}</Text>
      ))}
      {s.again
        ? (roomy ? command(`Again: ${s.again}`, 0) : [fit(`Again: ${s.again}`, columns - 1)]).map((l, i) => (
            <Text key={`a${i}`}>{l}</Text>
          ))
        : null}
      <Text dimColor>Enter: exit (the commands are printed in full).</Text>
    </Box>
  );
}
