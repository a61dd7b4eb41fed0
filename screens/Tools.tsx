import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { RECIPES } from '../recipes/index.ts';
import { type Tool } from '../src/model/types.ts';
import { TOOLS } from '../recipes/index.ts';
import { foldKeys, type Key } from '../src/wizard/keys.ts';
import type { ToolMove } from '../src/wizard/state.ts';
import { useKeys } from './keyboard.tsx';
import { fit, useSize, useUi } from './ui.tsx';

export interface ToolsProps {
  selected: Tool[];
  /** The highlighted row. */
  cursor: number;
  /** Tools whose binaries are not installed on this host (their package is installed first). */
  missing: Tool[];
  /** Moves and toggles, in the order the keys came: one state change for a whole burst. */
  onMoves(moves: ToolMove[]): void;
  onNext(): void;
}

function moveOf(key: Key): ToolMove | undefined {
  const ch = key.name === 'text' ? key.text : undefined;
  if (key.name === 'up' || ch === 'k') return 'up';
  if (key.name === 'down' || ch === 'j') return 'down';
  return ch === ' ' ? 'toggle' : undefined;
}

/** A multi-select; each tool shows its consequence in one line. */
export function ToolsScreen({ selected, cursor, missing, onMoves, onNext }: ToolsProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const { columns } = useSize();
  const [tried, setTried] = useState(false);
  /** The moves at the start of `keys`, handed over at once; how many keys they were. */
  const moves = (keys: Key[]): number => {
    const { at, took } = foldKeys<ToolMove[]>([], keys, (m, k) => {
      const move = moveOf(k);
      return move ? [...m, move] : undefined;
    });
    if (took > 0) onMoves(at);
    return took;
  };
  useKeys(
    (key) => {
      if (moves([key]) > 0) return;
      if (key.name === 'enter') {
        setTried(true);
        if (selected.length > 0) onNext();
      }
    },
    { burst: moves },
  );
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
