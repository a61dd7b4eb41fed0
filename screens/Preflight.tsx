import React from 'react';
import { Box, Text } from 'ink';
import type { Finding, Preflight as PreflightData } from '../src/wizard/preflight.ts';
import { wrapProse } from '../src/wizard/wrap.ts';
import { Spinner, Status, fit, useSize, useUi, useWrapStyle } from './ui.tsx';
import { useKeys } from './keyboard.tsx';
import { useSelectList } from './SelectList.tsx';

export interface PreflightProps {
  data?: PreflightData;
  /** Rows the screen may use; what does not fit is shortened (the passed checks first). */
  rows?: number;
  rollingBack?: boolean;
  onContinue(): void;
  onRollback(): void;
  /** "Repair a jail": doctor, interactively. */
  onRepair?(): void;
}

/** What was found on this host, with the fix for each problem. */
export function PreflightScreen({ data, rows, rollingBack, onContinue, onRollback, onRepair }: PreflightProps): React.JSX.Element {
  const { sym } = useUi();
  const style = useWrapStyle();
  const mark = (f: Finding): string => (f.status === 'ok' ? sym.ok : f.status === 'warn' ? sym.warn : sym.bad);
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
  // The findings as lines, wrapped at words; when they do not fit the window, the passed
  // checks take one line each, then one line together, so the problems stay in full.
  const below = data.blocked || rollingBack || !onRepair ? 2 : 4;
  const budget = rows === undefined ? Infinity : rows - below;
  type Line = { text: string; status?: Finding['status']; fix?: boolean };
  const lead = (f: Finding, texts: string[]): Line[] => texts.map((text, i) => (i === 0 ? { text: text.slice(2), status: f.status } : { text }));
  const problem = (f: Finding): Line[] => [
    ...lead(f, wrapProse(`${mark(f)} ${f.label}: ${f.value}`, columns - 1, style, 0, 4)),
    ...(f.fix ? wrapProse(`fix: ${f.fix}`, columns - 1, style, 4, 9).map((text) => ({ text, fix: true })) : []),
  ];
  const full = data.findings.flatMap(problem);
  const oneEach = data.findings.flatMap((f) => (f.status === 'ok' ? lead(f, [fit(`${mark(f)} ${f.label}: ${f.value}`, columns - 1)]) : problem(f)));
  const passed: Finding = { label: '', value: '', status: 'ok' };
  const together = [...lead(passed, wrapProse(`${sym.ok} ${data.findings.filter((f) => f.status === 'ok').map((f) => f.label).join(', ')}`, columns - 1, style, 0, 2)), ...data.findings.filter((f) => f.status !== 'ok').flatMap(problem)];
  const lines = full.length <= budget ? full : oneEach.length <= budget ? oneEach : together;
  return (
    <Box flexDirection="column">
      {lines.map((l, i) =>
        l.status ? (
          <Text key={i}>
            <Status ok={l.status === 'ok'} warn={l.status === 'warn'} /> {l.text}
          </Text>
        ) : (
          <Text key={i} dimColor={l.fix}>
            {l.text}
          </Text>
        ),
      )}
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
