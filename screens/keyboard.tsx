// React's side of the input layer (src/wizard/key-router.ts). The App makes the one
// router; each screen takes keys with useKeys(). No component uses Ink's useInput: Ink 5
// would hand it a whole read as one string.
import React, { createContext, useContext, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useStdin } from 'ink';
import { KeyRouter, type KeyHandler, type RouterTiming } from '../src/wizard/key-router.ts';
import type { Key } from '../src/wizard/keys.ts';

const KeysContext = createContext<KeyRouter | undefined>(undefined);

/**
 * Reads the terminal for the whole wizard: Ink keeps stdin in raw mode and hands each read
 * over; the router splits it into keys. `root` sees every key before the screen does.
 */
function useStdinRouter(enabled: boolean, root?: KeyHandler, timing?: RouterTiming): KeyRouter | undefined {
  const { internal_eventEmitter: reads, setRawMode } = useStdin();
  const rootRef = useRef(root);
  rootRef.current = root;
  const [router] = useState(() => (enabled ? new KeyRouter(timing) : undefined));
  if (router) router.root = (key) => rootRef.current?.(key);
  useEffect(() => {
    if (!router) return;
    setRawMode(true);
    const onRead = (chunk: string): void => router.feed(String(chunk));
    reads.on('input', onRead);
    return () => {
      reads.off('input', onRead);
      router.close();
      setRawMode(false);
    };
  }, [router, reads, setRawMode]);
  return router;
}

/** The App's root: Ctrl+C and Esc go to `root` first; everything below gets keys through useKeys(). */
export function KeysRoot({ root, timing, children }: { root?: KeyHandler; timing?: RouterTiming; children: React.ReactNode }): React.JSX.Element {
  const router = useStdinRouter(true, root, timing);
  return <KeysContext.Provider value={router}>{children}</KeysContext.Provider>;
}

export interface UseKeysOptions {
  /** False: this component takes no keys now. */
  active?: boolean;
  /** A text field: a run of typed characters comes as one key. */
  runs?: boolean;
  /**
   * Several keys at once, as one state change (see KeyOwner.burst): returns how many of
   * them it handled, from the first; the rest come one by one.
   */
  burst?: (keys: Key[]) => number;
}

/**
 * Makes the component the owner of input while it is mounted and active (the one owner
 * mounted last wins). The handler is always the one from the latest render, so each key
 * of a burst sees the state the keys before it left.
 */
export function useKeys(handler: KeyHandler, o: UseKeysOptions = {}): void {
  const shared = useContext(KeysContext);
  // A screen drawn on its own (a screen test) reads the terminal itself.
  const own = useStdinRouter(shared === undefined);
  const router = shared ?? own;
  const ref = useRef(handler);
  ref.current = handler;
  const burstRef = useRef(o.burst);
  burstRef.current = o.burst;
  const active = o.active !== false;
  const runs = !!o.runs;
  // A layout effect: the new owner is in place before the next key is delivered.
  useLayoutEffect(() => {
    if (!router || !active) return;
    return router.addOwner({ handle: (key) => ref.current(key), takesRuns: runs, burst: (keys) => burstRef.current?.(keys) ?? 0 });
  }, [router, active, runs]);
}
