// A list to pick one item from: ↑/↓ (k/j) move and wrap around, PgUp/PgDn and Home/End
// jump, Enter picks. The rows are ink-select-input's own Item; its SelectInput is not used
// because it reads Ink's whole input string, so a burst of keys over a slow SSH link moved
// it once (issue #15). The screen that shows the list owns input and hands keys to onKey().
import React, { useState } from 'react';
import { Box } from 'ink';
import { Item } from 'ink-select-input';
import { foldKeys, type Key } from '../src/wizard/keys.ts';
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
  /** Handles the movement keys at the start of a burst as one move; returns how many. */
  onKeys(keys: Key[]): number;
  view: React.JSX.Element;
}

export function useSelectList<V>(
  items: SelectItem<V>[],
  o: { initialIndex?: number; limit?: number; onSelect(item: SelectItem<V>): void },
): SelectList<V> {
  const n = items.length;
  const [chosen, setChosen] = useState(Math.max(0, Math.min(n - 1, o.initialIndex ?? 0)));
  const index = Math.max(0, Math.min(n - 1, chosen));
  const limit = Math.max(1, Math.min(n, o.limit ?? n));
  const go = (next: number): boolean => {
    if (n > 0) setChosen(next);
    return true;
  };
  /** Where a movement key takes the highlight from `at`; undefined for other keys. */
  const moved = (at: number, key: Key): number | undefined => {
    if (n === 0) return undefined;
    if (key.name === 'up' || (key.name === 'text' && key.text === 'k')) return (at + n - 1) % n;
    if (key.name === 'down' || (key.name === 'text' && key.text === 'j')) return (at + 1) % n;
    if (key.name === 'pageup') return Math.max(0, at - limit);
    if (key.name === 'pagedown') return Math.min(n - 1, at + limit);
    if (key.name === 'home') return 0;
    if (key.name === 'end') return n - 1;
    return undefined;
  };
  const onKey = (key: Key): boolean => {
    const to = moved(index, key);
    if (to !== undefined) return go(to);
    if (key.name === 'enter') {
      if (n > 0) o.onSelect(items[index]!);
      return true;
    }
    return false;
  };
  // A burst of movement keys: one move to where they all lead.
  const onKeys = (keys: Key[]): number => {
    const { at, took } = foldKeys(index, keys, moved);
    if (took > 0) go(at);
    return took;
  };
  // The window keeps the highlighted item in view.
  const top = Math.max(0, Math.min(index - Math.floor(limit / 2), n - limit));
  const view = <SelectView items={items.slice(top, top + limit)} highlighted={index - top} />;
  return { index, onKey, onKeys, view };
}

function SelectView<V>({ items, highlighted }: { items: SelectItem<V>[]; highlighted: number }): React.JSX.Element {
  const { caps } = useUi();
  return (
    <Box flexDirection="column">
      {items.map((item, i) => (
        <Box key={`${i}:${item.label}`}>
          <Indicator isSelected={i === highlighted} />
          <Item isSelected={i === highlighted && caps.color} label={item.label} />
        </Box>
      ))}
    </Box>
  );
}
