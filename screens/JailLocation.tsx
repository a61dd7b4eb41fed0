import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import SelectInput from 'ink-select-input';
import TextInput from 'ink-text-input';
import type { ChainLink } from '../src/ownership.ts';
import { Indicator, Status, fit, useSize, useUi } from './ui.tsx';

export interface JailProps {
  user: string;
  value: string;
  /** The user's home, offered as the ArchWiki layout (ChrootDirectory %h). */
  home: string;
  chain(jail: string): ChainLink[];
  /** Why this path cannot be the jail, or undefined. */
  validate(jail: string): string | undefined;
  onSubmit(jail: string): void;
}

const TYPE = '\u0000type';

/** Where the jail lives, with sshd's ownership rule checked live for every component. */
export function JailScreen({ user, value, home, chain, validate, onSubmit }: JailProps): React.JSX.Element {
  const { sym } = useUi();
  const { columns } = useSize();
  const suggestions = [
    { label: `/srv/jails/${user}   (shared-service layout)`, value: `/srv/jails/${user}` },
    { label: `${home}   (the user's home as chroot, ArchWiki layout)`, value: home },
    { label: `Type a path${sym.ellipsis}`, value: TYPE },
  ];
  const [typing, setTyping] = useState(value !== '' && !suggestions.some((s) => s.value === value));
  const [typed, setTyped] = useState(typing ? value : '');
  const [highlight, setHighlight] = useState(value && !typing ? value : suggestions[0]!.value);
  const shown = typing ? typed : highlight === TYPE ? '' : highlight;
  const problem = shown && shown.startsWith('/') ? validate(shown) : shown ? 'must be an absolute path' : undefined;
  const links = shown.startsWith('/') ? chain(shown) : [];
  const pad = Math.min(28, Math.max(...links.map((l) => l.path.length), 1) + 1);
  useInput(
    (_input, key) => {
      if (key.tab) setTyping(false);
    },
    { isActive: typing },
  );
  return (
    <Box flexDirection="column">
      <Text>Where should {user}'s jail live?</Text>
      {typing ? (
        <Box>
          <Text>{sym.pointer} </Text>
          <TextInput value={typed} onChange={(v) => setTyped(v.trim())} onSubmit={(v) => v && !problem && onSubmit(v)} />
        </Box>
      ) : (
        <SelectInput
          indicatorComponent={Indicator}
          items={suggestions}
          initialIndex={Math.max(0, suggestions.findIndex((s) => s.value === value))}
          onHighlight={(i) => setHighlight(i.value)}
          onSelect={(i) => {
            if (i.value === TYPE) setTyping(true);
            else if (!validate(i.value)) onSubmit(i.value);
          }}
        />
      )}
      {shown.startsWith('/') ? (
        <Box flexDirection="column" marginTop={1}>
          <Text dimColor>{fit("sshd's rule: each component root-owned, no group/other write", columns - 2)}</Text>
          {links.map((l) => (
            <Text key={l.path}>
              <Status ok={l.ok} /> {fit(`${l.path.padEnd(pad)} ${l.owner}${l.symlinkTo ? ` ${sym.arrow} ${l.symlinkTo}` : ''}${l.reason ? `  (${l.reason})` : ''}`, columns - 4)}
            </Text>
          ))}
        </Box>
      ) : null}
      {problem ? <Text color="red">{fit(`${sym.bad} ${problem}`, columns - 2)}</Text> : null}
      {typing ? <Text dimColor>(Tab: back to the suggestions)</Text> : null}
    </Box>
  );
}
