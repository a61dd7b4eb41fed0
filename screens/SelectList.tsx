// A list to pick one item from (in place of ink-select-input, which takes Ink's whole
// reads): ↑/↓ (k/j) move and wrap around, PgUp/PgDn and Home/End jump, Enter picks. The
// screen that shows it owns input and hands keys to onKey().
import React, { useState } from 'react';
import { Box, Text } from 'ink';
import type { Key } from '../src/wizard/keys.ts';
import { Indicator, useUi } from './ui.tsx';

export interface SelectItem<V> {
  label: string;
  value: V;
}

export interface SelectList<V> {
  /** The highlighted item. */
  index: number;
  /** Handles a list key; Enter calls onSelect with the highlighted item. True when it was one. */
  onKey(key: Key): boolean;
  view: React.JSX.Element;
}

export function useSelectList<V>(
  items: SelectItem<V>[],
  o: { initialIndex?: number; limit?: number; onSelect(item: SelectItem<V>): void; onHighlight?(item: SelectItem<V>): void },
): SelectList<V> {
  const n = items.length;
  const [chosen, setChosen] = useState(Math.max(0, Math.min(n - 1, o.initialIndex ?? 0)));
  const index = Math.max(0, Math.min(n - 1, chosen));
  const limit = Math.max(1, Math.min(n, o.limit ?? n));
  const go = (next: number): boolean => {
    if (n === 0) return true;
    setChosen(next);
    if (next !== index) o.onHighlight?.(items[next]!);
    return true;
  };
  const onKey = (key: Key): boolean => {
    if (key.name === 'up' || (key.name === 'text' && key.text === 'k')) return go((index + n - 1) % Math.max(1, n));
    if (key.name === 'down' || (key.name === 'text' && key.text === 'j')) return go((index + 1) % Math.max(1, n));
    if (key.name === 'pageup') return go(Math.max(0, index - limit));
    if (key.name === 'pagedown') return go(Math.min(n - 1, index + limit));
    if (key.name === 'home') return go(0);
    if (key.name === 'end') return go(n - 1);
    if (key.name === 'enter') {
      if (n > 0) o.onSelect(items[index]!);
      return true;
    }
    return false;
  };
  // The window keeps the highlighted item in view.
  const top = Math.max(0, Math.min(index - Math.floor(limit / 2), n - limit));
  const view = <SelectView items={items.slice(top, top + limit)} highlighted={index - top} />;
  return { index, onKey, view };
}

function SelectView<V>({ items, highlighted }: { items: SelectItem<V>[]; highlighted: number }): React.JSX.Element {
  const { caps } = useUi();
  return (
    <Box flexDirection="column">
      {items.map((item, i) => (
        <Box key={`${i}:${item.label}`}>
          <Indicator isSelected={i === highlighted} />
          <Text color={i === highlighted && caps.color ? 'cyan' : undefined}>{item.label}</Text>
        </Box>
      ))}
    </Box>
  );
}
