// Which interrupting signal reached jailwizard: Ctrl+C (SIGINT), SIGTERM, or SIGHUP from a
// dropped SSH session. A terminal or a dying session signals the whole process group, so
// the child that runs at that moment (useradd, sshd -T, ssh…) gets the same signal. The
// executor notes each one here; run() asks, so a child that failed because of it is
// reported as the interruption, never as the child's own error.

export const INTERRUPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type InterruptSignal = (typeof INTERRUPT_SIGNALS)[number];

let count = 0;
let last: InterruptSignal | undefined;

const listeners = new Set<(sig: InterruptSignal) => void>();

export function noteInterrupt(sig: InterruptSignal): void {
  count++;
  last = sig;
  for (const l of listeners) l(sig);
}

/**
 * Calls `l` at each interrupt from now on, until the returned function is called. For what
 * the signal cannot reach itself: a process outside our group that a child waits on (the
 * connection test's ssh control master holds its clients' pipes).
 */
export function onInterrupt(l: (sig: InterruptSignal) => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** How many interrupts were noted so far: compare before and after a child ran. */
export function interruptCount(): number {
  return count;
}

export function lastInterrupt(): InterruptSignal | undefined {
  return last;
}

export function isInterruptSignal(sig: unknown): sig is InterruptSignal {
  return (INTERRUPT_SIGNALS as readonly unknown[]).includes(sig);
}
