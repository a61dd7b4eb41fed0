import React, { useState } from 'react';
import { Box, Text } from 'ink';
import TextInput from 'ink-text-input';
import { Spinner, fit, useSize, useUi } from './ui.tsx';

export interface AccessProps {
  user: string;
  keys: { line: string; label: string }[];
  /** Validates pasted key lines or a .pub path with ssh-keygen -l; resolves to an error or nothing. */
  onAdd(text: string): Promise<string | undefined>;
  onLater(): void;
  onNext(): void;
}

/** Paste public keys (or a path to a .pub file); or add keys later, with what that means. */
export function AccessScreen({ user, keys, onAdd, onLater, onNext }: AccessProps): React.JSX.Element {
  const { sym } = useUi();
  const { columns } = useSize();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const [checking, setChecking] = useState(false);
  const [askLater, setAskLater] = useState(false);
  const submit = async (v: string): Promise<void> => {
    const value = v.trim();
    if (value === '') {
      if (keys.length > 0) return onNext();
      if (askLater) {
        onLater();
        return onNext();
      }
      setAskLater(true);
      return;
    }
    setChecking(true);
    const err = await onAdd(value);
    setChecking(false);
    setError(err);
    if (!err) setText('');
  };
  return (
    <Box flexDirection="column">
      <Text>Paste a public key for {user}, or a .pub file path:</Text>
      <Box>
        <Text>{sym.pointer} </Text>
        {/* A pasted block of several lines arrives at once: submit it whole. */}
        <TextInput value={text} onChange={(v) => (/[\r\n]/.test(v) ? void submit(v) : setText(v))} onSubmit={(v) => void submit(v)} />
      </Box>
      {checking ? (
        <Text>
          <Spinner /> checking with ssh-keygen -l{sym.ellipsis}
        </Text>
      ) : null}
      {error ? <Text color="red">{fit(`${sym.bad} ${error}`, columns - 2)}</Text> : null}
      {keys.map((k) => (
        <Text key={k.line}>{fit(`${sym.ok} ${k.label}`, columns - 2)}</Text>
      ))}
      <Box marginTop={1} flexDirection="column">
        {keys.length > 0 ? (
          <Text dimColor>Enter on an empty line continues.</Text>
        ) : askLater ? (
          <>
            <Text color="yellow">{fit(`No keys: nobody can log in as ${user} until you add one to /etc/ssh/authorized_keys/${user}`, columns - 2)}</Text>
            <Text color="yellow">(root-owned). The connection test still runs, with a temporary key. Enter again to go on.</Text>
          </>
        ) : (
          <Text dimColor>Enter on an empty line: add keys later.</Text>
        )}
      </Box>
    </Box>
  );
}
