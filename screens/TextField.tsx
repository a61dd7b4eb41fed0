// A one-line text field with a shell's keys (src/wizard/line-edit.ts). The screen that
// shows it owns input and hands keys to onKey(); the field keeps only its cursor.
import React, { useRef, useState } from 'react';
import { Text } from 'ink';
import { foldKeys, type Key } from '../src/wizard/keys.ts';
import { editLine } from '../src/wizard/line-edit.ts';
import { useUi } from './ui.tsx';

export interface TextField {
  /** Handles an editing key; true when it was one. Enter calls onSubmit. */
  onKey(key: Key): boolean;
  /** Handles the editing keys at the start of a burst as one change; returns how many. */
  onKeys(keys: Key[]): number;
  /** The value with its cursor, to put where the field goes. */
  view: React.JSX.Element;
}

const length = (s: string): number => [...s].length;

/**
 * `value` belongs to the screen (it may trim or clear it); a value changed from outside
 * puts the cursor at its end.
 */
export function useTextField(value: string, onChange: (value: string) => void, onSubmit: (value: string) => void): TextField {
  const [cursor, setCursor] = useState(length(value));
  const last = useRef(value);
  const at = value === last.current ? Math.min(cursor, length(value)) : length(value);
  const onKey = (key: Key): boolean => {
    const r = editLine({ value, cursor: at }, key);
    if (!r) return false;
    if ('submit' in r) {
      onSubmit(value);
      return true;
    }
    last.current = r.line.value;
    setCursor(r.line.cursor);
    if (r.line.value !== value) onChange(r.line.value);
    return true;
  };
  // A burst of editing keys: folded in order, then one change.
  const onKeys = (keys: Key[]): number => {
    const { at: line, took } = foldKeys({ value, cursor: at }, keys, (l, k) => {
      const r = editLine(l, k);
      return r && 'line' in r ? r.line : undefined;
    });
    if (took > 0) {
      last.current = line.value;
      setCursor(line.cursor);
      if (line.value !== value) onChange(line.value);
    }
    return took;
  };
  return { onKey, onKeys, view: <FieldText value={value} cursor={at} /> };
}

const INVERSE = '\u001b[7m';
const INVERSE_OFF = '\u001b[27m';

/** The value with the cursor drawn in inverse video (not on TERM=dumb, which gets no escapes). */
export function FieldText({ value, cursor }: { value: string; cursor: number }): React.JSX.Element {
  const { caps } = useUi();
  if (caps.dumb) return <Text>{value}</Text>;
  const c = [...value];
  const under = c[cursor] ?? ' ';
  // Raw SGR 7, not chalk's inverse: with NO_COLOR chalk draws no styles at all, and a
  // field without a visible cursor cannot be edited in the middle.
  // One string: Ink re-measures a text whose value changes, not one that gains a child.
  return <Text>{`${c.slice(0, cursor).join('')}${INVERSE}${under}${INVERSE_OFF}${c.slice(cursor + 1).join('')}`}</Text>;
}
