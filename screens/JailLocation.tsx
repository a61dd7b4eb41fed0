import React, { useState } from 'react';
import { Box, Text } from 'ink';
import type { ChainLink } from '../src/host/ownership.ts';
import { Prose, Status, fit, useSize, useUi } from './ui.tsx';
import { useKeys } from './keyboard.tsx';
import { useSelectList } from './SelectList.tsx';
import { useTextField } from './TextField.tsx';

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
  const { sym, caps } = useUi();
  const { columns } = useSize();
  const suggestions = [
    { label: `/srv/jails/${user}   (shared-service layout)`, value: `/srv/jails/${user}` },
    { label: `${home}   (the user's home as chroot, ArchWiki layout)`, value: home },
    { label: `Type a path${sym.ellipsis}`, value: TYPE },
  ];
  const [typing, setTyping] = useState(value !== '' && !suggestions.some((s) => s.value === value));
  const [typed, setTyped] = useState(typing ? value : '');
  const list = useSelectList(
    suggestions.map((s) => ({ label: fit(s.label, columns - 3), value: s.value })),
    {
      initialIndex: Math.max(0, suggestions.findIndex((s) => s.value === value)),
      onSelect(i) {
        if (i.value === TYPE) setTyping(true);
        else if (!validate(i.value)) onSubmit(i.value);
      },
    },
  );
  // The chain of the highlighted suggestion, from the list itself: one state change per key.
  const highlight = suggestions[list.index]!.value;
  const shown = typing ? typed : highlight === TYPE ? '' : highlight;
  const problem = shown && shown.startsWith('/') ? validate(shown) : shown ? 'must be an absolute path' : undefined;
  const links = shown.startsWith('/') ? chain(shown) : [];
  const pad = Math.min(28, Math.max(...links.map((l) => l.path.length), 1) + 1);
  const field = useTextField(typed, (v) => setTyped(v.trim()), (v) => {
    if (v && !problem) onSubmit(v);
  });
  useKeys(
    (key) => {
      if (!typing) list.onKey(key);
      else if (key.name === 'tab') setTyping(false);
      else field.onKey(key);
    },
    { runs: typing, burst: (keys) => (typing ? field.onKeys(keys) : list.onKeys(keys)) },
  );
  return (
    <Box flexDirection="column">
      <Text>Where should {user}'s jail live?</Text>
      {typing ? (
        <Box>
          {/* The prompt keeps its width when a long value wraps. */}
          <Box flexShrink={0}>
            <Text>{sym.pointer} </Text>
          </Box>
          {field.view}
        </Box>
      ) : (
        list.view
      )}
      {shown.startsWith('/') ? (
        <Box flexDirection="column" marginTop={1}>
          <Prose text="sshd's rule: each component root-owned, no group/other write" dimColor />
          {links.map((l) => (
            <Box key={l.path}>
              <Status ok={l.ok} />
              <Box marginLeft={1} flexDirection="column">
                <Prose text={`${l.path.padEnd(pad)} ${l.owner}${l.symlinkTo ? ` ${sym.arrow} ${l.symlinkTo}` : ''}${l.reason ? `  (${l.reason})` : ''}`} hanging={pad + 1} width={columns - 3} />
              </Box>
            </Box>
          ))}
        </Box>
      ) : null}
      {problem ? <Prose text={`${sym.bad} ${problem}`} hanging={2} color={caps.color ? 'red' : undefined} /> : null}
      {typing ? <Text dimColor>(Tab: back to the suggestions)</Text> : null}
    </Box>
  );
}
