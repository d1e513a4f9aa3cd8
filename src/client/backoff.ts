// The client's reconnect delays (docs/protocol.md section 6): exponential, capped, spread by
// jitter, and counted from the last link that made progress. A link that opens and is cut at
// once does not count as progress, so a server (or a proxy) that accepts and drops every link
// sees the delays grow instead of a reconnect every `initial` ms forever. Browser-safe.

export interface BackoffOptions {
  /** The first delay, in ms. */
  initial: number;
  /** The longest delay, in ms. */
  max: number;
  /** Each delay is spread by ± this fraction of it, at random (0 to 1). */
  jitter: number;
  /** How long a link must stay up, its downstream having delivered, to start the delays again from `initial`, in ms. */
  stableAfter: number;
}

/** The count of tries since a link last made progress, and the delay of the next one. */
export class Backoff {
  #tries = 0;

  readonly #options: BackoffOptions;
  readonly #random: () => number;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /**
   * A link went down after `upFor` ms; `proven`: its downstream delivered something. Only a link
   * that did both for long enough starts the delays again.
   */
  linkEnded(upFor: number, proven: boolean): void {
    if (proven && upFor >= this.#options.stableAfter) this.#tries = 0;
  }

  /** The next try: its number (1 for the first since progress) and how long to wait before it, in ms. */
  next(): { attempt: number; delay: number } {
    this.#tries++;
    const { initial, max, jitter } = this.#options;
    // 2 ** 1100 is Infinity, and min() takes it: no overflow to guard.
    const base = Math.min(max, initial * 2 ** (this.#tries - 1));
    const delay = Math.max(0, Math.round(base * (1 + jitter * (this.#random() * 2 - 1))));
    return { attempt: this.#tries, delay };
  }
}
