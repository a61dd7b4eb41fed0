import React from 'react';
import { Box, Text, useInput } from 'ink';
import type { Answers } from '../src/types.ts';
import { useUi } from './ui.tsx';

export interface SummaryProps {
  answers: Answers;
  host: string;
  port: number;
  passed: number;
  answersPath?: string;
  extraFlags: string;
  onExit(): void;
}

/** What was made, how the user connects, how to undo it, and how to make it again. */
export function SummaryScreen({ answers: a, host, port, passed, answersPath, extraFlags, onExit }: SummaryProps): React.JSX.Element {
  const { sym } = useUi();
  useInput((input, key) => {
    if (key.return || input === 'q' || key.escape) onExit();
  });
  const p = port === 22 ? '' : ` -P ${port}`;
  const pl = port === 22 ? '' : ` -p ${port}`;
  return (
    <Box flexDirection="column">
      <Text color="green">{sym.ok} {a.user} is jailed in {a.jail} with {a.tools.join(', ')}; {passed} probes passed.</Text>
      <Text> </Text>
      <Text bold>How {a.user} connects:</Text>
      {a.tools.includes('sftp') || a.tools.includes('scp') ? <Text>  sftp{p} {a.user}@{host}</Text> : null}
      {a.tools.includes('scp') ? <Text>  scp{p} FILE {a.user}@{host}:</Text> : null}
      {a.tools.includes('bash') ? <Text>  ssh{pl} {a.user}@{host}</Text> : null}
      {a.tools.includes('rsync') ? <Text>  rsync -av{port === 22 ? '' : ` -e 'ssh -p ${port}'`} FILES {a.user}@{host}:</Text> : null}
      {a.authorizedKeys.length === 0 ? <Text color="yellow">  (no keys yet: add them to /etc/ssh/authorized_keys/{a.user})</Text> : null}
      <Text> </Text>
      <Text bold>Undo:</Text>
      <Text>  jailwizard remove {a.user}{extraFlags}</Text>
      {answersPath ? (
        <>
          <Text bold>Make the same jail again:</Text>
          <Text>  jailwizard apply --config {answersPath}{extraFlags}</Text>
        </>
      ) : null}
      <Text dimColor>Enter: exit.</Text>
    </Box>
  );
}
