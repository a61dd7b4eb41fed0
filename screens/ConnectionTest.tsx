import React from 'react';
import { Box, Text } from 'ink';
import type { ProbeResult } from '../src/workflows/verify.ts';
import { Prose, Spinner, Status, fit, useSize, useUi } from './ui.tsx';
import { useKeys } from './keyboard.tsx';

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
  useKeys((key) => {
    if (finished && (key.name === 'enter' || (key.name === 'text' && key.text === 'q'))) onExit();
  });
  // Only the latest probes fit: the live area must stay shorter than the window.
  const shown = probes.slice(-Math.max(3, height - 4));
  return (
    <Box flexDirection="column">
      <Text>Logging in as the user with the real ssh, sftp, scp and rsync clients:</Text>
      {shown.map((p) => (
        <Box key={p.name}>
          <Status ok={p.ok} />
          <Box marginLeft={1} flexDirection="column">
            {/* A passed probe is one line; a failed one shows all of why. */}
            {p.ok ? <Text>{fit(p.name, columns - 3)}</Text> : <Prose text={`${p.name}: ${p.detail}`} width={columns - 3} />}
          </Box>
        </Box>
      ))}
      {!finished ? (
        <Text>
          <Spinner /> probing{sym.ellipsis} ({probes.length} done)
        </Text>
      ) : ok ? null : (
        <Box flexDirection="column">
          <Prose text={error ?? 'the connection test failed'} color="red" />
          <Text color="yellow">Rolled back {rolledBack} step(s): a half-working jail is not left behind. Enter: exit.</Text>
        </Box>
      )}
    </Box>
  );
}
