/**
 * A first-in-first-out queue on a power-of-two ring. `Array.prototype.shift` is O(n) once an
 * array leaves V8's fast path, and channels shift on every take; the ring keeps both ends
 * O(1) and reuses its slots, so a steady stream of values allocates nothing.
 */
export class RingQueue<T> {
  /** Number of items held. */
  length = 0;
  #head = 0;
  #mask: number;
  #items: Array<T | undefined>;

  constructor(initialCapacity = 8) {
    let capacity = 2;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array<T | undefined>(capacity);
    this.#mask = capacity - 1;
  }

  push(item: T): void {
    if (this.length > this.#mask) this.#grow();
    this.#items[(this.#head + this.length) & this.#mask] = item;
    this.length++;
  }

  /** Removes and returns the oldest item; `undefined` when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined; // let the item be collected
    this.#head = (this.#head + 1) & this.#mask;
    this.length--;
    return item;
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.#items[this.#head];
  }

  /** The item `index` places after the oldest (0 is the oldest); `undefined` past the end. */
  at(index: number): T | undefined {
    return index < 0 || index >= this.length ? undefined : this.#items[(this.#head + index) & this.#mask];
  }

  /** Calls `fn` with every item, oldest first. */
  forEach(fn: (item: T) => void): void {
    for (let i = 0; i < this.length; i++) fn(this.#items[(this.#head + i) & this.#mask] as T);
  }

  /** Removes every item for which `drop` is true, keeping the order of the rest. O(n). */
  removeWhere(drop: (item: T) => boolean): number {
    const items = this.#items;
    const mask = this.#mask;
    let kept = 0;
    for (let i = 0; i < this.length; i++) {
      const item = items[(this.#head + i) & mask] as T;
      if (!drop(item)) {
        items[(this.#head + kept) & mask] = item;
        kept++;
      }
    }
    for (let i = kept; i < this.length; i++) items[(this.#head + i) & mask] = undefined;
    const removed = this.length - kept;
    this.length = kept;
    return removed;
  }

  /** Removes one item (by identity). Returns whether it was there. */
  delete(item: T): boolean {
    let found = false;
    this.removeWhere((x) => {
      if (found || x !== item) return false;
      found = true;
      return true;
    });
    return found;
  }

  clear(): void {
    for (let i = 0; i < this.length; i++) this.#items[(this.#head + i) & this.#mask] = undefined;
    this.#head = 0;
    this.length = 0;
  }

  #grow(): void {
    const old = this.#items;
    const capacity = old.length * 2;
    const items = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}
