import React from 'react';
import { Box, Text, useInput } from 'ink';
import type { Preflight as PreflightData } from '../src/wizard/preflight.ts';
import SelectInput from 'ink-select-input';
import { Indicator, Spinner, Status, fit, useSize, useUi } from './ui.tsx';

export interface PreflightProps {
  data?: PreflightData;
  rollingBack?: boolean;
  onContinue(): void;
  onRollback(): void;
  /** "Repair a jail": doctor, interactively. */
  onRepair?(): void;
  onRepairHint?: string;
}

/** What was found on this host, with the fix for each problem. */
export function PreflightScreen({ data, rollingBack, onContinue, onRollback, onRepair }: PreflightProps): React.JSX.Element {
  const { columns } = useSize();
  const { sym } = useUi();
  useInput((input, key) => {
    if (!data) return;
    if (key.return && !data.blocked && !onRepair) onContinue();
    if (input === 'r' && data.unfinished && !rollingBack) onRollback();
  });
  if (!data) {
    return (
      <Text>
        <Spinner /> Checking this host{sym.ellipsis}
      </Text>
    );
  }
  return (
    <Box flexDirection="column">
      {data.findings.map((f) => (
        <Box key={f.label} flexDirection="column">
          <Text>
            <Status ok={f.status === 'ok'} warn={f.status === 'warn'} /> {fit(`${f.label}: ${f.value}`, columns - 4)}
          </Text>
          {f.fix ? <Text dimColor>{fit(`    fix: ${f.fix}`, columns - 2)}</Text> : null}
        </Box>
      ))}
      <Box marginTop={1}>
        {rollingBack ? (
          <Text>
            <Spinner /> Rolling back the unfinished run{sym.ellipsis}
          </Text>
        ) : data.blocked ? (
          <Text color="red">Fix the problems above first{data.unfinished ? ' (r: roll back the unfinished run)' : ''}.</Text>
        ) : onRepair ? (
          <Box flexDirection="column">
            <Text>Press Enter to start.</Text>
            <SelectInput
              indicatorComponent={Indicator}
              items={[
                { label: 'Make a new jail', value: 'make' },
                { label: `Repair a jail (doctor)${data.repairUsers.length ? `: ${data.repairUsers.join(', ')}` : ''}`, value: 'repair' },
              ]}
              onSelect={(i) => (i.value === 'make' ? onContinue() : onRepair())}
            />
          </Box>
        ) : (
          <Text>Press Enter to start.</Text>
        )}
      </Box>
    </Box>
  );
}
