// Maps and Sets made on first use. A session keeps several tables (puts in flight, credit,
// exports, imports …) that an idle session never fills; an empty Map still costs its hash
// table (about 180 bytes in V8), so with thousands of idle sessions the empty tables were a
// large part of each one. These hold nothing until the first entry, and let the table go again
// when cleared. Only what the session code calls is here.

/** Iterated when a table was never made: never written to. */
const EMPTY_MAP: ReadonlyMap<never, never> = new Map<never, never>();
const EMPTY_SET: ReadonlySet<never> = new Set<never>();

/** A `Map` whose table is made on the first `set`. */
export class LazyMap<K, V> {
  #map: Map<K, V> | null = null;

  get size(): number {
    return this.#map?.size ?? 0;
  }

  get(key: K): V | undefined {
    return this.#map?.get(key);
  }

  has(key: K): boolean {
    return this.#map?.has(key) ?? false;
  }

  set(key: K, value: V): this {
    (this.#map ??= new Map<K, V>()).set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.#map?.delete(key) ?? false;
  }

  /** Empties the map and lets its table go (cleared first, so that an iteration under way ends, as a Map's would). */
  clear(): void {
    this.#map?.clear();
    this.#map = null;
  }

  keys(): MapIterator<K> {
    return (this.#map ?? (EMPTY_MAP as ReadonlyMap<K, V>)).keys();
  }

  values(): MapIterator<V> {
    return (this.#map ?? (EMPTY_MAP as ReadonlyMap<K, V>)).values();
  }

  entries(): MapIterator<[K, V]> {
    return (this.#map ?? (EMPTY_MAP as ReadonlyMap<K, V>)).entries();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/** A `Set` whose table is made on the first `add`. */
export class LazySet<T> {
  #set: Set<T> | null = null;

  get size(): number {
    return this.#set?.size ?? 0;
  }

  has(value: T): boolean {
    return this.#set?.has(value) ?? false;
  }

  add(value: T): this {
    (this.#set ??= new Set<T>()).add(value);
    return this;
  }

  delete(value: T): boolean {
    return this.#set?.delete(value) ?? false;
  }

  /** Empties the set and lets its table go (cleared first, so that an iteration under way ends, as a Set's would). */
  clear(): void {
    this.#set?.clear();
    this.#set = null;
  }

  values(): SetIterator<T> {
    return (this.#set ?? (EMPTY_SET as ReadonlySet<T>)).values();
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.values();
  }
}
