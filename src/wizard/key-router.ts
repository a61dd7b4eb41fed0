// The wizard's one input layer: every read from the terminal goes through a KeyReader,
// and the keys go out one at a time, in order. The root (Ctrl+C, Esc) sees each key
// first; the rest go to the one owner of input on the screen. Between two keys the
// router yields to the event loop, so that React has drawn the first key's effect and the
// second key meets the screen as it is now (Enter after Down acts on the moved cursor).
import { KeyReader, type Key } from './keys.ts';

/** Returns true when it took the key (the root: then the screen does not see it). */
export type KeyHandler = (key: Key) => boolean | void;

export interface KeyOwner {
  handle: KeyHandler;
  /** Takes a run of printable characters as one key (text fields); others get them one by one. */
  takesRuns: boolean;
  /**
   * Takes several keys at once: handles a prefix of them with one state change and says
   * how many it took (0: none; they go one at a time). A burst of 20 arrows is then one
   * redraw, not 20. Never offered Esc or Ctrl keys: those go by the root first.
   */
  burst?: (keys: Key[]) => number;
}

export interface RouterTiming {
  /** How long an ESC at the end of a read waits for the rest of its sequence (readline waits too). */
  escWaitMs: number;
  /** How long a paste without its end marker waits for more before it counts as ended. */
  pasteWaitMs: number;
  /** Runs fn after pending I/O and timers: between two keys. */
  yieldThen(fn: () => void): void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(t: unknown): void;
}

export const DEFAULT_TIMING: RouterTiming = {
  escWaitMs: 100,
  pasteWaitMs: 1000,
  yieldThen: (fn) => void setImmediate(fn),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

/** Keys a burst may carry: not the root's (Esc, Ctrl). */
function offerable(k: Key): boolean {
  return k.name !== 'escape' && k.name !== 'ctrl';
}

/** A run of characters as one key per character. */
function oneByOne(k: Key): Key[] {
  return k.name === 'text' && [...k.text].length > 1 ? [...k.text].map((ch) => ({ name: 'text', text: ch })) : [k];
}

export class KeyRouter {
  root: KeyHandler | undefined;
  private readonly reader = new KeyReader();
  private readonly queue: Key[] = [];
  private readonly owners: KeyOwner[] = [];
  private busy = false;
  private timer: unknown;
  private closed = false;

  constructor(private readonly timing: RouterTiming = DEFAULT_TIMING) {}

  /** The owner added last takes the keys until it is removed (the returned function). */
  addOwner(owner: KeyOwner): () => void {
    this.owners.push(owner);
    return () => {
      const i = this.owners.lastIndexOf(owner);
      if (i >= 0) this.owners.splice(i, 1);
    };
  }

  /** One read from the terminal. */
  feed(chunk: string): void {
    if (this.closed) return;
    this.queue.push(...this.reader.push(chunk));
    this.armTimer();
    this.kick();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) this.timing.clearTimer(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private armTimer(): void {
    if (this.timer !== undefined) this.timing.clearTimer(this.timer);
    this.timer = undefined;
    const pending = this.reader.pending();
    if (!pending) return;
    this.timer = this.timing.setTimer(
      () => {
        this.timer = undefined;
        if (this.closed) return;
        this.queue.push(...this.reader.flush());
        this.kick();
      },
      pending === 'paste' ? this.timing.pasteWaitMs : this.timing.escWaitMs,
    );
  }

  private kick(): void {
    if (!this.busy && this.queue.length > 0) this.step();
  }

  private readonly step = (): void => {
    this.busy = true;
    const key = this.queue.shift();
    try {
      if (key && !this.closed) this.deliver(key);
    } finally {
      if (this.queue.length > 0 && !this.closed) this.timing.yieldThen(this.step);
      else this.busy = false;
    }
  };

  private deliver(key: Key): void {
    const owner = this.owners.at(-1);
    if (owner?.burst && this.queue.length > 0 && offerable(key)) {
      const keys = [key, ...this.queue];
      let n = keys.findIndex((k) => !offerable(k));
      if (n < 0) n = keys.length;
      const offered = owner.takesRuns ? keys.slice(0, n) : keys.slice(0, n).flatMap(oneByOne);
      const took = offered.length > 1 ? owner.burst(offered) : 0;
      if (took > 0) {
        // Put back what it did not take (in single characters if it was split).
        const rest = offered.slice(took);
        this.queue.splice(0, n - 1, ...rest);
        return;
      }
    }
    // A run goes out one character at a time unless the owner is a text field: each
    // character is a key of its own (j j moves twice; space space toggles twice).
    if (key.name === 'text' && !owner?.takesRuns) {
      const [first, ...rest] = [...key.text];
      if (rest.length > 0) {
        this.queue.unshift({ name: 'text', text: rest.join('') });
        key = { name: 'text', text: first! };
      }
    }
    if (this.root?.(key) === true) return;
    owner?.handle(key);
  }
}
