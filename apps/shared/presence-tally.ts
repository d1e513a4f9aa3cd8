/**
 * What an app counts of a topic's presence (docs/api.md "Presence"): the entries its own server
 * code made, one per page it tracks, on every node (a page of another node included), followed
 * through `presence.watch`, and a call to `onChange` at most once per turn when they changed.
 *
 * Only entries of server code (`session` null) count: a client may subscribe its own inbox to
 * the topic's name, and that must not make a viewer or a person "here". The map is bounded by
 * the presence's own `maxEntries` (what it lists is what it keeps).
 */
import { chan, type Channel } from "../../src/index.js";
import type { Logger, PresenceEntry, PresenceEvent, TopicPresence } from "../../src/server/index.js";

/**
 * The watcher's queue: an event it cannot take at once drops the watcher (presence's rule), and
 * the tally then watches again from a fresh list, so a burst past it costs a re-read, not a
 * wrong count.
 */
const WATCH_BUFFER = 4096;

export class PresenceTally {
  /** By `node key`: unique across nodes. */
  readonly #entries = new Map<string, PresenceEntry>();
  #events: Channel<PresenceEvent> | null = null;
  #closed = false;
  #notifyScheduled = false;

  constructor(
    private readonly presence: TopicPresence,
    /** Called once per turn with changes, after the entries changed. */
    private readonly onChange: () => void,
    private readonly logger: Logger,
  ) {
    this.#follow();
  }

  /** Entries counted now, every node's. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entries counted now (a live view: do not keep it past the turn). */
  entries(): IterableIterator<PresenceEntry> {
    return this.#entries.values();
  }

  /** Stops following; the topic's presence goes on. Idempotent. */
  close(): void {
    this.#closed = true;
    const events = this.#events;
    this.#events = null;
    if (events !== null) {
      this.presence.unwatch(events);
      events.close();
    }
  }

  /** Watches from a fresh list, and again from a fresh one whenever the watcher is dropped. */
  #follow(): void {
    if (this.#closed) return;
    const events = chan<PresenceEvent>(WATCH_BUFFER);
    this.#events = events;
    this.#entries.clear();
    for (const entry of this.presence.watch(events)) this.#apply({ type: "join", entry });
    this.#changed();
    void this.#read(events);
  }

  async #read(events: Channel<PresenceEvent>): Promise<void> {
    for await (const event of events) {
      if (events !== this.#events) return;
      this.#apply(event);
      this.#changed();
    }
    if (events !== this.#events || this.#closed) return;
    // Dropped as behind (a burst past WATCH_BUFFER): start over from the list, in a later turn so
    // that a watcher dropped again at once cannot spin. (A closed topic's presence keeps a new
    // watcher without a word, so watching it again ends nothing and loops on nothing.)
    this.logger.warn(`presence of ${JSON.stringify(this.presence.topic)}: the watcher was dropped; reading the list again`);
    setImmediate(this.#refollow);
  }

  readonly #refollow = (): void => {
    this.#follow();
  };

  #apply(event: PresenceEvent): void {
    if (event.entry.session !== null) return;
    const id = `${event.entry.node} ${event.entry.key}`;
    if (event.type === "join") this.#entries.set(id, event.entry);
    else this.#entries.delete(id);
  }

  #changed(): void {
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    setImmediate(this.#notify);
  }

  readonly #notify = (): void => {
    this.#notifyScheduled = false;
    if (!this.#closed) this.onChange();
  };
}
