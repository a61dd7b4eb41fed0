import React from 'react';
import { Box, Text } from 'ink';
import type { Preflight as PreflightData } from '../src/wizard/preflight.ts';
import { Prose, Spinner, Status, useSize, useUi } from './ui.tsx';
import { useKeys } from './keyboard.tsx';
import { useSelectList } from './SelectList.tsx';

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
  const { sym } = useUi();
  const { columns } = useSize();
  const choices = useSelectList(
    [
      { label: 'Make a new jail', value: 'make' },
      { label: `Repair a jail (doctor)${data?.repairUsers.length ? `: ${data.repairUsers.join(', ')}` : ''}`, value: 'repair' },
    ],
    { onSelect: (i) => (i.value === 'make' ? onContinue() : onRepair?.()) },
  );
  useKeys((key) => {
    if (!data) return;
    if (key.name === 'text' && key.text === 'r' && data.unfinished && !rollingBack) onRollback();
    else if (data.blocked || rollingBack) return;
    else if (onRepair) choices.onKey(key);
    else if (key.name === 'enter') onContinue();
  }, { burst: (keys) => (data && !data.blocked && !rollingBack && onRepair ? choices.onKeys(keys) : 0) });
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
          <Box>
            <Status ok={f.status === 'ok'} warn={f.status === 'warn'} />
            <Box marginLeft={1} flexDirection="column">
              <Prose text={`${f.label}: ${f.value}`} hanging={2} width={columns - 3} />
            </Box>
          </Box>
          {f.fix ? <Prose text={`fix: ${f.fix}`} indent={4} hanging={9} dimColor /> : null}
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
            {choices.view}
          </Box>
        ) : (
          <Text>Press Enter to start.</Text>
        )}
      </Box>
    </Box>
  );
}
