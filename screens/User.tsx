import React, { useState } from 'react';
import { Box, Text } from 'ink';
import { Prose, useUi } from './ui.tsx';
import { useKeys } from './keyboard.tsx';
import { useSelectList } from './SelectList.tsx';
import { useTextField } from './TextField.tsx';

export interface UserProps {
  /** Existing regular users that may be jailed. */
  users: string[];
  value: string;
  /** Why a name cannot be used, or undefined when it can. */
  validate(name: string): string | undefined;
  onSubmit(name: string): void;
  listHeight: number;
}

const NEW = '\u0000new';

/** Pick an existing non-system user, or type a new name (validated as you type). */
export function UserScreen({ users, value, validate, onSubmit, listHeight }: UserProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const [typing, setTyping] = useState(users.length === 0 || (value !== '' && !users.includes(value)));
  const [name, setName] = useState(users.includes(value) ? '' : value);
  const problem = name ? validate(name) : undefined;
  const [rejected, setRejected] = useState<string>();
  const field = useTextField(name, (v) => setName(v.trim()), (v) => {
    if (v && !validate(v)) onSubmit(v);
  });
  const items = [...users.map((u) => ({ label: u, value: u })), { label: `New user${sym.ellipsis}`, value: NEW }];
  const list = useSelectList(items, {
    limit: listHeight,
    initialIndex: Math.max(0, users.indexOf(value)),
    onSelect(item) {
      if (item.value === NEW) setTyping(true);
      else {
        const why = validate(item.value);
        if (why) setRejected(why);
        else onSubmit(item.value);
      }
    },
  });
  useKeys(
    (key) => {
      if (!typing) list.onKey(key);
      // Tab leaves the text field for the list.
      else if (key.name === 'tab') {
        if (users.length > 0) setTyping(false);
      } else field.onKey(key);
    },
    { runs: typing, burst: (keys) => (typing ? field.onKeys(keys) : list.onKeys(keys)) },
  );
  if (typing) {
    return (
      <Box flexDirection="column">
        <Text>Name of the new user to jail:</Text>
        <Box>
          {/* The prompt keeps its width when a long value wraps. */}
          <Box flexShrink={0}>
            <Text>{sym.pointer} </Text>
          </Box>
          {field.view}
        </Box>
        {problem ? <Prose text={`${sym.bad} ${problem}`} color={caps.color ? 'red' : undefined} /> : name ? <Text color={caps.color ? 'green' : undefined}>{sym.ok} {name} will be created</Text> : <Text dimColor>lowercase letters, digits, - and _</Text>}
        {users.length > 0 ? <Text dimColor>(Tab: pick an existing user instead)</Text> : null}
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      <Text>Which user should be jailed?</Text>
      {list.view}
      {rejected ? <Prose text={`${sym.bad} ${rejected}`} color={caps.color ? 'red' : undefined} /> : null}
    </Box>
  );
}
