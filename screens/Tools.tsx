import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { RECIPES } from '../recipes/index.ts';
import { TOOLS, type Tool } from '../src/types.ts';
import { useUi } from './ui.tsx';

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
  const [cursor, setCursor] = useState(0);
  const [tried, setTried] = useState(false);
  useInput((input, key) => {
    if (key.upArrow || input === 'k') setCursor((c) => (c + TOOLS.length - 1) % TOOLS.length);
    else if (key.downArrow || input === 'j') setCursor((c) => (c + 1) % TOOLS.length);
    else if (input === ' ') onToggle(TOOLS[cursor]!);
    else if (key.return) {
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
            {i === cursor ? sym.pointer : ' '} {selected.includes(t) ? sym.on : sym.off} {t}
            {missing.includes(t) ? ' (not installed here: its package is installed first)' : ''}
          </Text>
          <Text dimColor>      {RECIPES[t].summary}</Text>
        </Box>
      ))}
      {tried && selected.length === 0 ? <Text color="red">{sym.bad} choose at least one tool</Text> : null}
    </Box>
  );
}
