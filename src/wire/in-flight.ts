// Puts sent and not yet answered, by sequence number: a proxy's settlers of its puts
// (remote-channel.ts) and a session's proxies of its puts (src/session/peer.ts).

/**
 * Items by sequence number, the first in two fields and the others in a Map made once a second
 * one is kept. A sender awaiting each put (a request and its reply) never makes the Map: a set
 * and a delete per put made a Map rebuild its table every few puts, on both sides of a round
 * trip. Items are never undefined.
 */
export class InFlight<T> {
  /** The sequence number of `#sole`, 0 for none (sequence numbers start at 1). */
  #soleSeq = 0;
  #sole: T | undefined = undefined;
  #more: Map<number, T> | null = null;

  add(seq: number, item: T): void {
    if (this.#soleSeq === 0) {
      this.#soleSeq = seq;
      this.#sole = item;
    } else (this.#more ??= new Map()).set(seq, item);
  }

  /** The item of `seq`, no longer kept; undefined when none is. */
  take(seq: number): T | undefined {
    if (seq === this.#soleSeq) {
      const item = this.#sole;
      this.#soleSeq = 0;
      this.#sole = undefined;
      return item;
    }
    const item = this.#more?.get(seq);
    if (item !== undefined) this.#more?.delete(seq);
    return item;
  }

  /**
   * Every item, in the order of their sequence numbers (the order the puts were sent, as their
   * answers would have come), and none kept any more. The one in the two fields may be newer
   * than some in the Map: it was added when they were free.
   */
  drain(): T[] {
    const items: T[] = [];
    let soleSeq = this.#soleSeq;
    for (const [seq, item] of this.#more ?? []) {
      if (soleSeq !== 0 && soleSeq < seq) {
        items.push(this.#sole as T);
        soleSeq = 0;
      }
      items.push(item);
    }
    if (soleSeq !== 0) items.push(this.#sole as T);
    this.#soleSeq = 0;
    this.#sole = undefined;
    this.#more = null;
    return items;
  }
}
