import React, { useRef, useState } from 'react';
import { Box, Text } from 'ink';
import type { KeyCheck } from '../src/wizard/services.ts';
import { Prose, Spinner, useSize, useUi } from './ui.tsx';
import { useKeys } from './keyboard.tsx';
import { useTextField } from './TextField.tsx';

export interface AccessProps {
  user: string;
  keys: { line: string; label: string }[];
  /**
   * Checks key lines or a .pub path with ssh-keygen -l and adds the good ones; resolves to
   * what became of each line (or one refusal for the whole entry, e.g. a missing file).
   */
  onAdd(text: string): Promise<KeyCheck[] | { error: string }>;
  onLater(): void;
  onNext(): void;
}

interface Report {
  status: KeyCheck['status'];
  text: string;
}

/** One report line per checked line: added, duplicate (with its fingerprint), or refused and why. */
function reportsOf(r: KeyCheck[] | { error: string }): Report[] {
  if (!Array.isArray(r)) return [{ status: 'refused', text: r.error }];
  const n = (i: number): string => (r.length > 1 ? `line ${i + 1}: ` : '');
  return r.map((k, i) =>
    k.status === 'added'
      ? { status: k.status, text: `${n(i)}added ${k.label}` }
      : k.status === 'duplicate'
        ? { status: k.status, text: `${n(i)}duplicate, already in the list: ${k.fingerprint}` }
        : { status: k.status, text: `${n(i)}refused: ${k.error}` },
  );
}

/**
 * Paste public keys (or a path to a .pub file); or add keys later, with what that means.
 * Entries are checked one after the other, in the order they were given, while the field
 * takes the next one; a paste of several lines adds one key per line.
 */
export function AccessScreen({ user, keys, onAdd, onLater, onNext }: AccessProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const { rows } = useSize();
  const [text, setText] = useState('');
  const [reports, setReports] = useState<Report[]>([]);
  const [checking, setChecking] = useState(false);
  const [askLater, setAskLater] = useState(false);
  const queue = useRef<{ entry: string; typed: boolean }[]>([]);
  const busy = useRef(false);
  // Enter on an empty line while entries are still being checked: go on once they are.
  const continueWhenDone = useRef(false);
  const keysNow = useRef(keys);
  keysNow.current = keys;

  const check = async (): Promise<void> => {
    if (busy.current) return;
    busy.current = true;
    setChecking(true);
    setReports([]);
    let refused = false;
    while (queue.current.length > 0) {
      const { entry, typed } = queue.current.shift()!;
      const r = await onAdd(entry);
      const got = reportsOf(r);
      refused ||= got.some((g) => g.status === 'refused');
      setReports((old) => [...old, ...got]);
      // A typed entry that was refused comes back into the (empty) field to be corrected.
      if (typed && got.length === 1 && got[0]!.status === 'refused') setText((t) => (t === '' ? entry : t));
    }
    busy.current = false;
    setChecking(false);
    if (continueWhenDone.current) {
      continueWhenDone.current = false;
      if (!refused && keysNow.current.length > 0) onNext();
    }
  };
  const submit = (entry: string, typed: boolean): void => {
    queue.current.push({ entry, typed });
    void check();
  };
  const onEmptyEnter = (): void => {
    if (busy.current) continueWhenDone.current = true;
    else if (keys.length > 0) onNext();
    else if (askLater) {
      onLater();
      onNext();
    } else setAskLater(true);
  };
  const field = useTextField(text, setText, (v) => {
    const value = v.trim();
    if (value === '') return onEmptyEnter();
    setText('');
    submit(value, true);
  });
  useKeys(
    (key) => {
      // A paste of several lines: every line is an entry, with what the field held around it.
      if (key.name === 'paste' && /[\r\n]/.test(key.text.trim())) {
        const whole = text.trim() === '' ? key.text : `${text}\n${key.text}`;
        setText('');
        submit(whole, false);
        return;
      }
      field.onKey(key);
    },
    {
      runs: true,
      // Typing that arrived at once: one change, up to a paste of several lines (an entry of its own).
      burst: (keys) => {
        const n = keys.findIndex((k) => k.name === 'paste' && /[\r\n]/.test(k.text.trim()));
        return field.onKeys(n < 0 ? keys : keys.slice(0, n));
      },
    },
  );

  // What is listed below the field gets the rows the window has left.
  const room = Math.max(2, rows - 14);
  const shownReports = reports.slice(-room);
  const shownKeys = keys.slice(-Math.max(1, room - shownReports.length));
  const color = (s: Report['status']): string | undefined => (!caps.color ? undefined : s === 'added' ? 'green' : s === 'duplicate' ? 'yellow' : 'red');
  const mark = (s: Report['status']): string => (s === 'added' ? sym.ok : s === 'duplicate' ? sym.warn : sym.bad);
  return (
    <Box flexDirection="column">
      <Text>Paste a public key for {user}, or a .pub file path:</Text>
      <Box>
        <Text>{sym.pointer} </Text>
        {field.view}
      </Box>
      {checking ? (
        <Text>
          <Spinner /> checking with ssh-keygen -l{sym.ellipsis}
        </Text>
      ) : null}
      {reports.length > shownReports.length ? <Text dimColor>({reports.length - shownReports.length} more above)</Text> : null}
      {shownReports.map((r, i) => (
        <Prose key={`r${i}`} text={`${mark(r.status)} ${r.text}`} hanging={2} color={color(r.status)} />
      ))}
      {keys.length > shownKeys.length ? <Text dimColor>({keys.length} keys; the last {shownKeys.length} shown)</Text> : null}
      {shownKeys.map((k) => (
        <Prose key={k.line} text={`${sym.ok} ${k.label}`} hanging={2} />
      ))}
      <Box marginTop={1} flexDirection="column">
        {keys.length > 0 ? (
          <Text dimColor>Enter on an empty line continues.</Text>
        ) : askLater ? (
          <Prose
            text={`No keys: nobody can log in as ${user} until you add one to /etc/ssh/authorized_keys/${user} (root-owned). The connection test still runs, with a temporary key. Enter again to go on.`}
            color={caps.color ? 'yellow' : undefined}
          />
        ) : (
          <Text dimColor>Enter on an empty line: add keys later.</Text>
        )}
      </Box>
    </Box>
  );
}
