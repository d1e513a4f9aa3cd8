// The in-memory engine: several nodes in one process (tests, `npm start` with one process),
// no service to run. A MemoryBus stands for the Redis or NATS server; memoryBackplane(bus) is one
// node on it. Like a network, it delivers in a later turn (never inside publish), and like one
// Redis server it orders every message: one queue for the whole bus.
import { WirechanRangeError } from "../csp/errors.js";
import { RingQueue } from "../csp/ring-queue.js";
import { type Backplane, type BackplaneEngine, BackplaneError, type Unsubscribe } from "./backplane.js";
import { createBackplane } from "./node.js";
import type { BackplaneOptions } from "./options.js";

export interface MemoryBusOptions {
  /**
   * Messages published on the bus and not yet delivered, all nodes together. Past it a
   * publish throws `ERR_MEMORY_BUS_FULL` at once (nothing is dropped that was taken).
   * Default 10,000.
   */
  maxQueued?: number;
  /** Subscriptions on the bus, all nodes together. Past it a subscribe throws `ERR_BACKPLANE_SUBJECT`. Default 100,000. */
  maxSubscriptions?: number;
  /** Logs the bus keeps (`append`), each trimmed to the `maxEntries` its writer gives. Past it an append to a new log rejects `ERR_MEMORY_BUS_FULL`. Default 1,000. */
  maxLogs?: number;
}

/** Every default of {@link MemoryBusOptions}. */
export const memoryBusDefaults = {
  maxQueued: 10_000,
  maxSubscriptions: 100_000,
  maxLogs: 1_000,
} as const satisfies Required<MemoryBusOptions>;

interface Queued {
  readonly subject: string;
  readonly text: string;
  readonly delivered: () => void;
}

interface Subscription {
  readonly onMessage: (text: string) => void;
}

/**
 * What the nodes of one process share, as a Redis or NATS server would be: one per test or
 * process. Every message goes through one queue, so every subscriber of every node sees the
 * bus's one order (stronger than the contract asks: one publisher's order).
 */
export class MemoryBus {
  readonly #maxQueued: number;
  readonly #maxSubscriptions: number;
  readonly #maxLogs: number;
  /** The logs, each its newest entries (what a Redis list or a JetStream stream keeps). */
  readonly #logs = new Map<string, string[]>();
  readonly #queue = new RingQueue<Queued>(64);
  readonly #subjects = new Map<string, Set<Subscription>>();
  #subscriptions = 0;
  #scheduled = false;
  /** Texts published on the bus, ever: what crossed, whatever the number of subscribers. */
  published = 0;
  /** Texts handed to a subscriber, ever (one per subscribed node per message). */
  delivered = 0;

  /** Throws a `RangeError` (`ERR_BACKPLANE_OPTION`) for a bound that is not a positive integer. */
  constructor(options: MemoryBusOptions = {}) {
    const resolved = { ...memoryBusDefaults, ...options };
    for (const name of ["maxQueued", "maxSubscriptions", "maxLogs"] as const) {
      const value = resolved[name];
      if (!Number.isInteger(value) || value < 1) throw new WirechanRangeError("ERR_BACKPLANE_OPTION", `MemoryBus: ${name} must be a positive integer, got ${String(value)}`);
    }
    this.#maxQueued = resolved.maxQueued;
    this.#maxSubscriptions = resolved.maxSubscriptions;
    this.#maxLogs = resolved.maxLogs;
  }

  /**
   * Appends `text` to the log `log`, keeping its newest `maxEntries`; resolves in a later turn,
   * as a network would. Rejects `ERR_MEMORY_BUS_FULL` for a new log past `maxLogs`.
   */
  append(log: string, text: string, maxEntries: number): Promise<void> {
    let entries = this.#logs.get(log);
    if (entries === undefined) {
      if (this.#logs.size >= this.#maxLogs) return Promise.reject(new BackplaneError("ERR_MEMORY_BUS_FULL", `MemoryBus: ${this.#maxLogs} logs (maxLogs)`));
      entries = [];
      this.#logs.set(log, entries);
    }
    entries.push(text);
    if (entries.length > maxEntries) entries.splice(0, entries.length - maxEntries);
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** The newest `maxEntries` of the log `log`, oldest first, in a later turn. */
  read(log: string, maxEntries: number): Promise<string[]> {
    const entries = this.#logs.get(log) ?? [];
    const newest = entries.slice(Math.max(0, entries.length - maxEntries));
    return new Promise((resolve) => setImmediate(() => resolve(newest)));
  }

  /** Messages published and not yet delivered. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Subscriptions now, all nodes together. */
  get subscriptions(): number {
    return this.#subscriptions;
  }

  /**
   * Queues `text` for every subscriber of `subject` at delivery time; resolves once delivered.
   * Throws a {@link BackplaneError} `ERR_MEMORY_BUS_FULL` when `maxQueued` wait already.
   */
  publish(subject: string, text: string): Promise<void> {
    if (this.#queue.length >= this.#maxQueued) {
      throw new BackplaneError("ERR_MEMORY_BUS_FULL", `MemoryBus: ${this.#maxQueued} messages wait for delivery (maxQueued)`);
    }
    this.published++;
    const done = new Promise<void>((delivered) => this.#queue.push({ subject, text, delivered }));
    this.#schedule();
    return done;
  }

  /**
   * Calls `onMessage` with every text delivered on `subject` from now on. Throws
   * `ERR_BACKPLANE_SUBJECT` past `maxSubscriptions`. An `onMessage` that throws does not stop
   * the delivery to the others; its error is rethrown in a microtask (an uncaught exception).
   */
  subscribe(subject: string, onMessage: (text: string) => void): Unsubscribe {
    if (this.#subscriptions >= this.#maxSubscriptions) {
      throw new BackplaneError("ERR_BACKPLANE_SUBJECT", `MemoryBus: ${this.#maxSubscriptions} subscriptions (maxSubscriptions)`);
    }
    const subscription: Subscription = { onMessage };
    const set = this.#subjects.get(subject) ?? new Set<Subscription>();
    set.add(subscription);
    this.#subjects.set(subject, set);
    this.#subscriptions++;
    return () => {
      if (!set.delete(subscription)) return;
      this.#subscriptions--;
      if (set.size === 0 && this.#subjects.get(subject) === set) this.#subjects.delete(subject);
    };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A later turn, after I/O, as a network would: never inside publish.
    setImmediate(this.#drain);
  }

  /** Delivers what was queued when the turn began; what its handlers publish waits for the next turn. */
  readonly #drain = (): void => {
    this.#scheduled = false;
    for (let n = this.#queue.length; n > 0; n--) {
      const message = this.#queue.shift();
      if (message === undefined) break;
      const set = this.#subjects.get(message.subject);
      if (set !== undefined) {
        // A copy: a handler may unsubscribe (itself or another) while the message is delivered.
        for (const subscription of [...set]) {
          if (!set.has(subscription)) continue;
          this.delivered++;
          try {
            subscription.onMessage(message.text);
          } catch (error) {
            // The other subscribers and messages go on; the error is still the process's to see
            // (a node's handlers never throw: createBackplane reports theirs to its logger).
            queueMicrotask(() => {
              throw error;
            });
          }
        }
      }
      message.delivered();
    }
    if (this.#queue.length > 0) this.#schedule();
  };
}

/** One node's subscriptions on a bus: the engine memoryBackplane wraps. */
class MemoryEngine implements BackplaneEngine {
  readonly #subscriptions = new Set<Unsubscribe>();

  constructor(readonly bus: MemoryBus) {}

  publish(subject: string, text: string): Promise<void> {
    return this.bus.publish(subject, text);
  }

  subscribe(subject: string, onMessage: (text: string) => void): Unsubscribe {
    const stop = this.bus.subscribe(subject, onMessage);
    const unsubscribe = (): void => {
      if (this.#subscriptions.delete(unsubscribe)) stop();
    };
    this.#subscriptions.add(unsubscribe);
    return unsubscribe;
  }

  append(log: string, text: string, maxEntries: number): Promise<void> {
    return this.bus.append(log, text, maxEntries);
  }

  read(log: string, maxEntries: number): Promise<string[]> {
    return this.bus.read(log, maxEntries);
  }

  close(): Promise<void> {
    for (const unsubscribe of [...this.#subscriptions]) unsubscribe();
    return Promise.resolve();
  }
}

/**
 * One node on `bus` (one per server). Options and defaults: `BackplaneOptions`,
 * `backplaneDefaults`. Throws as `createBackplane` does for a bad option.
 */
export function memoryBackplane(bus: MemoryBus, options: BackplaneOptions = {}): Backplane {
  return createBackplane(new MemoryEngine(bus), options);
}
