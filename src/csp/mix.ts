import { alts } from "./alts.js";
import { type Channel, chan } from "./channel.js";
import { slidingBuffer } from "./buffers.js";
import { spawn } from "./spawn.js";
import { WirechanTypeError } from "./errors.js";

/** How an input of a mix is treated. */
export interface MixAttrs {
  /** Taken from, but its values are dropped. */
  mute?: boolean;
  /** Not taken from at all (its producers wait). */
  pause?: boolean;
  /** Soloed: while any input is soloed, only soloed inputs reach the output. */
  solo?: boolean;
}

/** What non-soloed inputs do while some input is soloed. */
export type SoloMode = "mute" | "pause";

/** Fan-in of many channels into one, with per-input controls (core.async `mix`). */
export interface Mix<T> {
  /** Adds an input. */
  admix(ch: Channel<T, unknown>): void;
  /** Removes an input (it is not closed). */
  unmix(ch: Channel<T, unknown>): void;
  /** Removes every input. */
  unmixAll(): void;
  /**
   * Merges the given attributes into each channel's current ones; a channel not yet in the
   * mix is added.
   */
  toggle(changes: ReadonlyMap<Channel<T, unknown>, MixAttrs>): void;
  /** Sets what non-soloed inputs do while some input is soloed; default `"mute"`. */
  soloMode(mode: SoloMode): void;
}

/**
 * Combines inputs into `out`. An input that closes leaves the mix. The mix never closes
 * `out`; it stops for good once `out` refuses a value because it is closed.
 */
export function mix<T>(out: Channel<unknown, T>): Mix<T> {
  const m = new MixImpl(out);
  spawn(m.run(), "mix");
  return m;
}

class MixImpl<T> implements Mix<T> {
  private readonly inputs = new Map<Channel<T, unknown>, MixAttrs>();
  #mode: SoloMode = "mute";
  /** Wakes the loop so it recomputes what to read; one pending wake-up is enough. */
  readonly #changed = chan<true>(slidingBuffer<true>(1));

  readonly #out: Channel<unknown, T>;

  constructor(out: Channel<unknown, T>) {
    this.#out = out;
  }

  admix(ch: Channel<T, unknown>): void {
    this.inputs.set(ch, {});
    this.#changed.offer(true);
  }

  unmix(ch: Channel<T, unknown>): void {
    this.inputs.delete(ch);
    this.#changed.offer(true);
  }

  unmixAll(): void {
    this.inputs.clear();
    this.#changed.offer(true);
  }

  toggle(changes: ReadonlyMap<Channel<T, unknown>, MixAttrs>): void {
    for (const [ch, attrs] of changes) this.inputs.set(ch, { ...this.inputs.get(ch), ...attrs });
    this.#changed.offer(true);
  }

  soloMode(mode: SoloMode): void {
    if (mode !== "mute" && mode !== "pause") {
      throw new WirechanTypeError("ERR_SOLO_MODE", `soloMode must be "mute" or "pause", got ${String(mode)}`);
    }
    this.#mode = mode;
    this.#changed.offer(true);
  }

  async run(): Promise<void> {
    let state = this.#state();
    for (;;) {
      const { value, channel } = await alts<unknown>(state.reads);
      if (channel === this.#changed || value === undefined) {
        if (value === undefined) this.inputs.delete(channel as Channel<T, unknown>);
        state = this.#state();
        continue;
      }
      const input = channel as Channel<T, unknown>;
      const heard = state.solos.size > 0 ? state.solos.has(input) : !state.mutes.has(input);
      if (heard && !(await this.#out.put(value as T))) return;
    }
  }

  #state(): { solos: Set<Channel<T, unknown>>; mutes: Set<Channel<T, unknown>>; reads: Array<Channel<unknown, unknown>> } {
    const solos = new Set<Channel<T, unknown>>();
    const mutes = new Set<Channel<T, unknown>>();
    const reads: Array<Channel<unknown, unknown>> = [this.#changed];
    for (const [ch, attrs] of this.inputs) {
      if (attrs.solo === true) solos.add(ch);
      if (attrs.mute === true) mutes.add(ch);
    }
    const pauseOthers = this.#mode === "pause" && solos.size > 0;
    for (const [ch, attrs] of this.inputs) {
      if (pauseOthers ? solos.has(ch) : attrs.pause !== true) reads.push(ch);
    }
    return { solos, mutes, reads };
  }
}
