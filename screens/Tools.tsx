import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { RECIPES } from '../recipes/index.ts';
import { TOOLS, type Tool } from '../src/types.ts';
import { useKeys } from './keyboard.tsx';
import { fit, useSize, useUi } from './ui.tsx';

export interface ToolsProps {
  selected: Tool[];
  /** Tools whose binaries are not installed on this host (their package is installed first). */
  missing: Tool[];
  onToggle(tool: Tool): void;
  onNext(): void;
}

/** A multi-select; each tool shows its consequence in one line. */
export function ToolsScreen({ selected, missing, onToggle, onNext }: ToolsProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const { columns } = useSize();
  const [cursor, setCursor] = useState(0);
  const [tried, setTried] = useState(false);
  useKeys((key) => {
    const ch = key.name === 'text' ? key.text : undefined;
    if (key.name === 'up' || ch === 'k') setCursor((c) => (c + TOOLS.length - 1) % TOOLS.length);
    else if (key.name === 'down' || ch === 'j') setCursor((c) => (c + 1) % TOOLS.length);
    else if (ch === ' ') onToggle(TOOLS[cursor]!);
    else if (key.name === 'enter') {
      setTried(true);
      if (selected.length > 0) onNext();
    }
  });
  return (
    <Box flexDirection="column">
      <Text>What may the user do? (space toggles, Enter continues)</Text>
      {TOOLS.map((t, i) => (
        <Box key={t} flexDirection="column">
          <Text color={i === cursor && caps.color ? 'cyan' : undefined}>
            {fit(`${i === cursor ? sym.pointer : ' '} ${selected.includes(t) ? sym.on : sym.off} ${t}${missing.includes(t) ? ' (not installed here: its package is installed first)' : ''}`, columns - 1)}
          </Text>
          <Text dimColor>{fit(`      ${RECIPES[t].summary}`, columns - 1)}</Text>
        </Box>
      ))}
      {tried && selected.length === 0 ? <Text color="red">{sym.bad} choose at least one tool</Text> : null}
    </Box>
  );
}
