import type { Channel } from "./channel.js";
import { spawn } from "./spawn.js";

/** Fan-out of one channel to many (core.async `mult`). */
export interface Mult<T> {
  /**
   * Adds `ch` as a tap: it receives every later value. Closed when the source closes unless
   * `close` is false (also when the source has already closed). Returns `ch`.
   */
  tap<C extends Channel<unknown, T>>(ch: C, close?: boolean): C;
  /** Removes a tap; it is not closed. */
  untap(ch: Channel<unknown, T>): void;
  /** Removes every tap. */
  untapAll(): void;
}

/**
 * Distributes every value of `source` to all current taps. Each value is accepted by every
 * tap before the next is taken from the source, so the slowest tap sets the pace (give taps
 * buffers, windowed ones to shed load); values that arrive while there are no taps are
 * dropped; a tap found closed is removed.
 *
 * One deliberate difference from core.async: a tap added after the source has closed is
 * closed at once (when `close` is true) instead of waiting forever.
 */
export function mult<T>(source: Channel<T, unknown>): Mult<T> {
  const m = new MultImpl(source);
  spawn(m.run(), "mult");
  return m;
}

class MultImpl<T> implements Mult<T> {
  readonly #taps = new Map<Channel<unknown, T>, boolean>();
  #sourceClosed = false;
  /** @internal called when removing closed taps left none, so pub can forget the topic. */
  onEmpty: (() => void) | null = null;

  readonly #source: Channel<T, unknown>;

  constructor(source: Channel<T, unknown>) {
    this.#source = source;
  }

  /** @internal number of taps, for pub's bookkeeping. */
  get size(): number {
    return this.#taps.size;
  }

  tap<C extends Channel<unknown, T>>(ch: C, close = true): C {
    if (this.#sourceClosed) {
      if (close) ch.close();
    } else {
      this.#taps.set(ch, close);
    }
    return ch;
  }

  untap(ch: Channel<unknown, T>): void {
    this.#taps.delete(ch);
  }

  untapAll(): void {
    this.#taps.clear();
  }

  async run(): Promise<void> {
    for (;;) {
      const value = await this.#source.take();
      if (value === undefined) {
        this.#sourceClosed = true;
        for (const [ch, close] of this.#taps) if (close) ch.close();
        return;
      }
      if (this.#taps.size === 0) continue;
      const targets = [...this.#taps.keys()];
      const accepted = await Promise.all(targets.map((ch) => putOrFalse(ch, value)));
      let removed = false;
      for (let i = 0; i < targets.length; i++) {
        if (!accepted[i]) removed = this.#taps.delete(targets[i] as Channel<unknown, T>) || removed;
      }
      if (removed && this.#taps.size === 0) this.onEmpty?.();
    }
  }
}

/** A tap whose pending queue is full (flooded by other producers) counts as gone. */
function putOrFalse<T>(ch: Channel<unknown, T>, value: T): Promise<boolean> {
  try {
    return ch.put(value);
  } catch (error) {
    console.error("wirechan: mult removed a tap that could not take a value:", error);
    return Promise.resolve(false);
  }
}

export { MultImpl };
