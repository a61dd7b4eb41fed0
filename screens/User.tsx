import React, { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import SelectInput from 'ink-select-input';
import TextInput from 'ink-text-input';
import { Indicator, useUi } from './ui.tsx';

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
  const { sym } = useUi();
  const [typing, setTyping] = useState(users.length === 0 || (value !== '' && !users.includes(value)));
  const [name, setName] = useState(users.includes(value) ? '' : value);
  const problem = name ? validate(name) : undefined;
  const [rejected, setRejected] = useState<string>();
  if (typing) {
    return (
      <Box flexDirection="column">
        <Text>Name of the new user to jail:</Text>
        <Box>
          <Text>{sym.pointer} </Text>
          <TextInput
            value={name}
            onChange={(v) => setName(v.trim())}
            onSubmit={(v) => {
              if (v && !validate(v)) onSubmit(v);
            }}
          />
        </Box>
        {problem ? <Text color="red">{sym.bad} {problem}</Text> : name ? <Text color="green">{sym.ok} {name} will be created</Text> : <Text dimColor>lowercase letters, digits, - and _</Text>}
        {users.length > 0 ? <Text dimColor>(Tab: pick an existing user instead)</Text> : null}
        <TabSwitch onTab={() => setTyping(false)} />
      </Box>
    );
  }
  const items = [...users.map((u) => ({ label: u, value: u })), { label: `New user${sym.ellipsis}`, value: NEW }];
  return (
    <Box flexDirection="column">
      <Text>Which user should be jailed?</Text>
      <SelectInput
        indicatorComponent={Indicator}
        items={items}
        limit={listHeight}
        initialIndex={Math.max(0, users.indexOf(value))}
        onSelect={(item) => {
          if (item.value === NEW) setTyping(true);
          else {
            const why = validate(item.value);
            if (why) setRejected(why);
            else onSubmit(item.value);
          }
        }}
      />
      {rejected ? <Text color="red">{sym.bad} {rejected}</Text> : null}
    </Box>
  );
}

/** Tab leaves the text field for the list; a component so the hook lives only while typing. */
function TabSwitch({ onTab }: { onTab(): void }): null {
  useInput((_input, key) => {
    if (key.tab) onTab();
  });
  return null;
}
