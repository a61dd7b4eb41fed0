import React from 'react';
import { Box, Text, useInput } from 'ink';
import type { ProbeResult } from '../src/verify.ts';
import { Spinner, Status, fit, useSize, useUi } from './ui.tsx';

export interface TestProps {
  probes: ProbeResult[];
  finished: boolean;
  ok?: boolean;
  error?: string;
  rolledBack: number;
  height: number;
  onExit(): void;
}

/** Each probe of the connection test, ticked off live. */
export function ConnectionTestScreen({ probes, finished, ok, error, rolledBack, height, onExit }: TestProps): React.JSX.Element {
  const { columns } = useSize();
  const { sym } = useUi();
  useInput((input, key) => {
    if (finished && (key.return || input === 'q')) onExit();
  });
  // Only the latest probes fit: the live area must stay shorter than the window.
  const shown = probes.slice(-Math.max(3, height - 4));
  return (
    <Box flexDirection="column">
      <Text>Logging in as the user with the real ssh, sftp, scp and rsync clients:</Text>
      {shown.map((p) => (
        <Text key={p.name}>
          <Status ok={p.ok} /> {fit(p.ok ? p.name : `${p.name}: ${p.detail}`, columns - 4)}
        </Text>
      ))}
      {!finished ? (
        <Text>
          <Spinner /> probing{sym.ellipsis} ({probes.length} done)
        </Text>
      ) : ok ? null : (
        <Box flexDirection="column">
          <Text color="red">{fit(error ?? 'the connection test failed', columns - 2)}</Text>
          <Text color="yellow">Rolled back {rolledBack} step(s): a half-working jail is not left behind. Enter: exit.</Text>
        </Box>
      )}
    </Box>
  );
}
