import React from 'react';
import { Box, Text } from 'ink';
import type { Extra } from '../src/model/types.ts';
import {
  OPTION_ITEMS,
  effectiveExtras,
  optionNotApplicable,
  optionText,
  type Action,
  type Draft,
  type OptionItem,
  type OptionKey,
  type OptionsUi,
  type TextKey,
} from '../src/wizard/state.ts';
import { fit, useSize, useUi, useWrapStyle } from './ui.tsx';
import { wrapProse } from '../src/wizard/wrap.ts';
import { useKeys } from './keyboard.tsx';
import { foldKeys } from '../src/wizard/keys.ts';
import { useTextField } from './TextField.tsx';

export type OptionAction = Extract<Action, { type: 'option-move' | 'option-toggle' | 'option-edit-start' | 'option-edit' | 'option-accept' }>;
type OptionBatch = { type: 'batch'; actions: OptionAction[] };

export interface OptionsProps {
  draft: Pick<Draft, 'user' | 'tools' | 'options'>;
  ui: OptionsUi;
  onAction(a: OptionAction | OptionBatch): void;
  /** c, Tab, or Enter on "Continue": the App checks the answers and goes on, or shows why not. */
  onContinue(): void;
  /** Rows the screen may use (the window less the frame's title and key hints). */
  bodyRows?: number;
}

// One line each, shortened from ANSWER_KEYS' docs (src/host/answers.ts). The screens part of the
// bundle does not import the answers parser, so the words live here.
const DOC: Record<OptionKey, string> = {
  shared: 'one jail for several users, /home/<user>',
  writable: 'the one dir the user owns (default: home)',
  readOnly: 'read, never write (internal-sftp -R)',
  umask: 'umask of uploads (internal-sftp -u)',
  startDir: 'where sessions start (internal-sftp -d)',
  log: 'log file operations via <jail>/dev/log',
  group: 'an existing group the user joins',
  groupDir: "setgid dir (2770) for the group's members",
  binds: 'host dirs inside, nodev,nosuid,noexec',
  allowFrom: 'the only addresses allowed to log in',
  extraBinaries: 'more commands, with their libraries',
  allowSetuid: 'keep setuid bits of extra commands',
  extras: 'runtime pieces ELF headers cannot name',
};

const EXTRA_DOC: Record<Extra, string> = {
  locale: 'C.UTF-8 (bash warns on login without)',
  terminfo: 'xterm, screen, tmux (clear, less, nano)',
  profile: '/etc/profile: PATH and a [jail] prompt',
  tmp: '/tmp, mode 1777',
  nss: 'nsswitch.conf (files), libnss_files',
};

/** How each text option is typed; shown under the list while it is highlighted or edited. */
function format(key: TextKey, user: string): string {
  switch (key) {
    case 'writable':
      return `a dir inside the jail, e.g. /home/${user}/upload`;
    case 'umask':
      return 'octal, e.g. 0027';
    case 'startDir':
      return 'a dir inside the jail, e.g. /upload';
    case 'group':
      return 'an existing group, e.g. uploads (groupadd it first)';
    case 'groupDir':
      return 'a dir inside the jail, e.g. /shared';
    case 'binds':
      return 'SOURCE:TARGET[:ro|rw], comma-separated; ro by default';
    case 'allowFrom':
      return 'addresses or networks, e.g. 203.0.113.7, 10.0.0.0/8';
    case 'extraBinaries':
      return 'names or paths, e.g. git, /usr/bin/nano';
  }
}

function label(item: OptionItem): string {
  if (item.kind === 'extra') return `extras ${item.extra}`;
  if (item.kind === 'continue') return 'Continue';
  return item.key;
}

/** The options: every optional answer key with its value, toggled or typed in place. */
export function OptionsScreen({ draft, ui, onAction, onContinue, bodyRows }: OptionsProps): React.JSX.Element {
  const { sym, caps } = useUi();
  const { columns: width, rows } = useSize();
  const style = useWrapStyle();
  const nameWidth = 16;
  const valueWidth = width >= 80 ? 17 : 12;
  const editing = ui.editing !== undefined;
  const current = OPTION_ITEMS[ui.cursor]!;
  const field = useTextField(
    ui.editing ?? '',
    (text) => onAction({ type: 'option-edit', text }),
    () => onAction({ type: 'option-accept' }),
  );
  useKeys(
    (key) => {
      if (editing) {
        field.onKey(key);
        return;
      }
      const ch = key.name === 'text' ? key.text : undefined;
      if (key.name === 'up' || ch === 'k') onAction({ type: 'option-move', delta: -1 });
      else if (key.name === 'down' || ch === 'j') onAction({ type: 'option-move', delta: 1 });
      else if (ch === ' ') onAction({ type: 'option-toggle' });
      else if (key.name === 'tab' || ch === 'c') onContinue();
      else if (key.name === 'enter') {
        if (current.kind === 'continue') onContinue();
        else if (current.kind === 'text') onAction({ type: 'option-edit-start' });
        else onAction({ type: 'option-toggle' });
      }
    },
    {
      runs: editing,
      burst: (keys) => {
        if (editing) return field.onKeys(keys);
        // Moves and toggles that arrived at once: one state change, in order.
        const { at: actions, took } = foldKeys<OptionAction[]>([], keys, (acts, k) => {
          const ch = k.name === 'text' ? k.text : undefined;
          if (k.name === 'up' || ch === 'k') return [...acts, { type: 'option-move', delta: -1 }];
          if (k.name === 'down' || ch === 'j') return [...acts, { type: 'option-move', delta: 1 }];
          return ch === ' ' ? [...acts, { type: 'option-toggle' }] : undefined;
        });
        if (took > 0) onAction({ type: 'batch', actions });
        return took;
      },
    },
  );

  const extras = effectiveExtras(draft);
  const reasonOf = (item: OptionItem): string | undefined => (item.kind === 'flag' || item.kind === 'text' ? optionNotApplicable(draft, item.key) : undefined);
  const valueOf = (item: OptionItem): string => {
    if (item.kind === 'flag') return draft.options[item.key] ? sym.on : sym.off;
    if (item.kind === 'extra') return extras.includes(item.extra) ? sym.on : sym.off;
    if (item.kind === 'text') return optionText(draft.options, item.key) || '-';
    return '';
  };

  // Below the list: what the highlighted row is (the edit field while editing), and a
  // refusal (message and hint), wrapped at words. The list gets the rest and scrolls with
  // the cursor; the whole frame stays shorter than the window. A long text being typed
  // wraps too: count its lines.
  const text = width - 1;
  const detail = ((): string => {
    const reason = reasonOf(current);
    if (reason) return `${label(current)}: not used here, ${reason}`;
    if (current.kind === 'text') {
      const value = optionText(draft.options, current.key);
      // A value wider than its column is shown whole here.
      return `${value.length > valueWidth ? `${current.key} = ${value}. ` : ''}Enter edits: ${format(current.key, draft.user)}`;
    }
    if (current.kind === 'continue') return 'Checks these options, then shows every command (also: c or Tab).';
    return 'Space toggles.';
  })();
  const detailLines = wrapProse(editing && current.kind === 'text' ? `Enter accepts, Esc cancels; ${format(current.key, draft.user)}` : detail, text, style);
  const errorLines = ui.error ? wrapProse(`${sym.bad} ${ui.error.message}`, text, style, 0, 2) : [];
  const hintLines = ui.error?.hint ? wrapProse(`hint: ${ui.error.hint}`, text, style, 2, 8) : [];
  const editLines = editing ? Math.ceil((label(current).length + 2 + (ui.editing ?? '').length + 1) / Math.max(1, width)) : 0;
  const below = editLines + detailLines.length + errorLines.length + hintLines.length;
  const height = Math.max(3, Math.min(OPTION_ITEMS.length, (bodyRows ?? rows - 5) - below));
  const top = Math.max(0, Math.min(ui.cursor - Math.floor(height / 2), OPTION_ITEMS.length - height));
  const shown = OPTION_ITEMS.slice(top, top + height);
  const up = caps.unicode ? '↑' : '^';
  const down = caps.unicode ? '↓' : 'v';

  return (
    <Box flexDirection="column">
      {shown.map((item, i) => {
        const at = top + i;
        const selected = at === ui.cursor;
        const mark = selected ? sym.pointer : i === 0 && top > 0 ? up : i === shown.length - 1 && top + height < OPTION_ITEMS.length ? down : ' ';
        if (item.kind === 'continue') {
          return (
            <Text key="continue" bold color={selected && caps.color ? 'cyan' : undefined}>
              {mark} Continue to the preview {sym.arrow}
            </Text>
          );
        }
        const reason = reasonOf(item);
        const value = fit(valueOf(item), valueWidth);
        const doc = reason ? `n/a: ${reason}` : item.kind === 'extra' ? EXTRA_DOC[item.extra] : DOC[item.key];
        const line = fit(`${mark} ${label(item).padEnd(nameWidth)}${value.padEnd(valueWidth)} ${doc}`, width - 1);
        return (
          <Text key={label(item)} dimColor={!!reason} color={selected && caps.color ? 'cyan' : undefined}>
            {line}
          </Text>
        );
      })}
      {editing && current.kind === 'text' ? (
        <Box>
          <Box marginRight={1} flexShrink={0}>
            <Text>{current.key}:</Text>
          </Box>
          {field.view}
        </Box>
      ) : null}
      {detailLines.map((l, i) => (
        <Text key={`d${i}`} dimColor>
          {l}
        </Text>
      ))}
      {errorLines.map((l, i) => (
        <Text key={`e${i}`} color={caps.color ? 'red' : undefined}>
          {l}
        </Text>
      ))}
      {hintLines.map((l, i) => (
        <Text key={`h${i}`}>{l}</Text>
      ))}
    </Box>
  );
}
