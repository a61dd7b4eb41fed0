import React, { useRef, useState } from 'react';
import { Box, Text } from 'ink';
import type { KeyCheck } from '../src/wizard/services.ts';
import { Spinner, useSize, useUi, useWrapStyle } from './ui.tsx';
import { wrapProse } from '../src/wizard/wrap.ts';
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
  /** Rows the screen may use (the window less the frame). */
  bodyRows?: number;
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
export function AccessScreen({ user, keys, onAdd, onLater, onNext, bodyRows }: AccessProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const { rows: windowRows, columns } = useSize();
  const rows = bodyRows ?? windowRows - 5;
  const style = useWrapStyle();
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

  // Below the field: the report of the last entries, else the keys chosen, wrapped at
  // words, as many as the window has rows for (the latest ones; a count for the rest).
  const width = columns - 1;
  const color = (st: Report['status']): string | undefined => (!caps.color ? undefined : st === 'added' ? 'green' : st === 'duplicate' ? 'yellow' : 'red');
  const mark = (st: Report['status']): string => (st === 'added' ? sym.ok : st === 'duplicate' ? sym.warn : sym.bad);
  const tail = (blocks: { lines: string[]; color?: string }[], room: number): { lines: string[]; color?: string }[] => {
    const out: { lines: string[]; color?: string }[] = [];
    let used = 0;
    for (const b of [...blocks].reverse()) {
      if (used + b.lines.length > room) break;
      out.unshift(b);
      used += b.lines.length;
    }
    return out;
  };
  const fieldRows = Math.ceil(([...text].length + 3) / Math.max(1, width));
  const later = wrapProse(`No keys: nobody can log in as ${user} until you add one to /etc/ssh/authorized_keys/${user} (root-owned). The connection test still runs, with a temporary key. Enter again to go on.`, width, style);
  const hintRows = keys.length > 0 || !askLater ? 1 : later.length;
  // The question, the field, the spinner or a count line, a blank line and the hint.
  const room = Math.max(2, rows - 1 - fieldRows - 1 - 1 - hintRows);
  const listing = reports.length > 0 ? reports.map((r) => ({ lines: wrapProse(`${mark(r.status)} ${r.text}`, width, style, 0, 2), color: color(r.status) })) : keys.map((k) => ({ lines: wrapProse(`${sym.ok} ${k.label}`, width, style, 0, 2) }));
  const shown = tail(listing, room);
  const hidden = listing.length - shown.length;
  return (
    <Box flexDirection="column">
      <Text>Paste a public key for {user}, or a .pub file path:</Text>
      <Box>
        <Box flexShrink={0}>
          <Text>{sym.pointer} </Text>
        </Box>
        {field.view}
      </Box>
      {checking ? (
        <Text>
          <Spinner /> checking with ssh-keygen -l{sym.ellipsis}
        </Text>
      ) : null}
      {hidden > 0 ? <Text dimColor>({hidden} more above)</Text> : null}
      {shown.flatMap((b, i) =>
        b.lines.map((l, j) => (
          <Text key={`${i}.${j}`} color={b.color}>
            {l}
          </Text>
        )),
      )}
      <Box marginTop={1} flexDirection="column">
        {keys.length > 0 ? (
          <Text dimColor>{keys.length === 1 ? '1 key' : `${keys.length} keys`}. Enter on an empty line continues.</Text>
        ) : askLater ? (
          later.map((l, i) => (
            <Text key={i} color={caps.color ? 'yellow' : undefined}>
              {l}
            </Text>
          ))
        ) : (
          <Text dimColor>Enter on an empty line: add keys later.</Text>
        )}
      </Box>
    </Box>
  );
}
