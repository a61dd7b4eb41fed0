import React from 'react';
import { Box, Text } from 'ink';
import type { Arch } from '../src/model/types.ts';
import { useKeys } from './keyboard.tsx';
import { useSelectList } from './SelectList.tsx';
import { Prose } from './ui.tsx';

export const ARCH_LAYOUT: Record<Arch, { loader: string; libdir: string }> = {
  x86_64: { loader: '/lib64/ld-linux-x86-64.so.2', libdir: '/lib/x86_64-linux-gnu' },
  aarch64: { loader: '/lib/ld-linux-aarch64.so.1', libdir: '/lib/aarch64-linux-gnu' },
  armhf: { loader: '/lib/ld-linux-armhf.so.3', libdir: '/lib/arm-linux-gnueabihf' },
  i386: { loader: '/lib/ld-linux.so.2', libdir: '/lib/i386-linux-gnu' },
};

export interface ArchProps {
  hostArch: Arch;
  /** Arches for which the chosen tools' binaries exist on this host. */
  available: Arch[];
  value: Arch | 'auto';
  onSubmit(arch: Arch | 'auto'): void;
}

/** The detected arch, with its loader and library dir; others only where binaries exist. */
export function ArchScreen({ hostArch, available, value, onSubmit }: ArchProps): React.JSX.Element {
  const others = available.filter((a) => a !== hostArch);
  const items = [{ label: `${hostArch} (this host)`, value: 'auto' as const }, ...others.map((a) => ({ label: a, value: a }))];
  const list = useSelectList<Arch | 'auto'>(items, {
    initialIndex: Math.max(0, items.findIndex((i) => i.value === value)),
    onSelect: (i) => onSubmit(i.value),
  });
  // The highlighted arch's layout, from the list itself: one state change per key.
  const highlighted = items[list.index]!.value;
  const shown: Arch = highlighted === 'auto' ? hostArch : highlighted;
  useKeys((key) => void list.onKey(key), { burst: list.onKeys });
  return (
    <Box flexDirection="column">
      <Text>Which architecture are the jail's binaries?</Text>
      {list.view}
      <Text dimColor>  loader    {ARCH_LAYOUT[shown].loader}</Text>
      <Text dimColor>  libraries {ARCH_LAYOUT[shown].libdir}</Text>
      {others.length === 0 ? <Prose text={`No binaries for other arches on this host, so only ${hostArch} is offered.`} dimColor /> : null}
    </Box>
  );
}
