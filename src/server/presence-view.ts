// What one node knows of a topic's presence (docs/api.md "Presence"): every node's entries, this
// node's own included, each change told once as a join or a leave. Bounded: this node's own
// entries are always kept (its topic's maxSubscribers bounds them), other nodes' up to
// maxEntries in all; past it a join is left out and counted, never an error, since a join from
// another node has nobody here to refuse it to.
import type { Logger } from "../session/logger.js";

/** Who is subscribed to a topic: one entry per subscription, on whichever node it was made. */
export interface PresenceEntry {
  /** The node (its backplane's `nodeId`; `"local"` without a backplane) the subscription is on. */
  readonly node: string;
  /** The entry's key, unique on its node: one per subscription, never reused. */
  readonly key: string;
  /** The id of the client's session, or null for a local channel of server code. */
  readonly session: string | null;
  /** What `principalOf` gave (for a client) or `subscribe` was given (server code), as JSON carries it: the same value on every node. */
  readonly principal: unknown;
}

/**
 * Why an entry left:
 * - `left`: its subscription ended (unsubscribed, dropped, its session ended), as its node said;
 * - `node-left`: its node closed its topic or its server, and said goodbye;
 * - `expired`: its node was not heard from for `timeout`: dead, or cut off from the backplane;
 * - `resync`: its node's snapshot no longer lists it (a message was lost), or its node restarted;
 * - `closed`: this node's topic closed.
 */
export type PresenceLeaveReason = "left" | "node-left" | "expired" | "resync" | "closed";

/** A change of a topic's presence, as a watcher gets it. */
export type PresenceEvent =
  | { readonly type: "join"; readonly entry: PresenceEntry }
  | { readonly type: "leave"; readonly entry: PresenceEntry; readonly reason: PresenceLeaveReason };

/** Every node's entries of one topic, as this node knows them. */
export class PresenceView {
  readonly #byNode = new Map<string, Map<string, PresenceEntry>>();
  #size = 0;
  /** Other nodes' joins left out since the topic began (maxEntries). */
  #leftOut = 0;
  /** Whether the fill has been logged since the view was last below maxEntries (one line per episode, not per join). */
  #warned = false;

  constructor(
    private readonly self: string,
    private readonly maxEntries: number,
    private readonly emit: (event: PresenceEvent) => void,
    private readonly logger: Logger,
    private readonly topic: string,
  ) {}

  get size(): number {
    return this.#size;
  }

  get leftOut(): number {
    return this.#leftOut;
  }

  /** Nodes with at least one entry, this one included. */
  get nodes(): number {
    return this.#byNode.size;
  }

  /** The nodes with entries now. */
  nodeIds(): IterableIterator<string> {
    return this.#byNode.keys();
  }

  /** Entries of `node` now. */
  countOf(node: string): number {
    return this.#byNode.get(node)?.size ?? 0;
  }

  entriesOf(node: string): IterableIterator<PresenceEntry> {
    return (this.#byNode.get(node) ?? new Map<string, PresenceEntry>()).values();
  }

  /** Every entry, this node's first; at most `limit` of them. */
  list(limit = Infinity): PresenceEntry[] {
    const out: PresenceEntry[] = [];
    const nodes = [this.self, ...[...this.#byNode.keys()].filter((node) => node !== this.self)];
    for (const node of nodes) {
      for (const entry of this.entriesOf(node)) {
        if (out.length >= limit) return out;
        out.push(entry);
      }
    }
    return out;
  }

  /** Adds `entry`, told as a join; false if it was known already or left out (another node's, past maxEntries). */
  add(entry: PresenceEntry): boolean {
    let entries = this.#byNode.get(entry.node);
    if (entries?.has(entry.key)) return false;
    if (entry.node !== this.self && this.#size >= this.maxEntries) {
      this.#leftOut++;
      if (!this.#warned) {
        this.#warned = true;
        this.logger.warn(`topic ${JSON.stringify(this.topic)}: presence keeps ${this.maxEntries} entries (maxEntries); joins from other nodes are left out of the list until some leave`);
      }
      return false;
    }
    if (entries === undefined) {
      entries = new Map();
      this.#byNode.set(entry.node, entries);
    }
    // Shared by every list and watcher: nobody may change it for the others.
    Object.freeze(entry);
    entries.set(entry.key, entry);
    this.#size++;
    this.emit({ type: "join", entry });
    return true;
  }

  /** Removes `node`'s entry `key`, told as a leave with `reason`; the entry, or undefined if unknown. */
  remove(node: string, key: string, reason: PresenceLeaveReason): PresenceEntry | undefined {
    const entries = this.#byNode.get(node);
    const entry = entries?.get(key);
    if (entries === undefined || entry === undefined) return undefined;
    entries.delete(key);
    if (entries.size === 0) this.#byNode.delete(node);
    this.#size--;
    if (this.#size < this.maxEntries) this.#warned = false;
    this.emit({ type: "leave", entry, reason });
    return entry;
  }

  /** Removes every entry of `node`, each told as a leave with `reason`. */
  dropNode(node: string, reason: PresenceLeaveReason): void {
    for (const entry of [...this.entriesOf(node)]) this.remove(node, entry.key, reason);
  }

  /**
   * Makes `node`'s entries those of a snapshot: the ones it no longer lists leave (`resync`), the
   * new ones join, and those in both stay without an event.
   */
  replaceNode(node: string, entries: readonly PresenceEntry[]): void {
    const keys = new Set(entries.map((entry) => entry.key));
    for (const entry of [...this.entriesOf(node)]) if (!keys.has(entry.key)) this.remove(node, entry.key, "resync");
    for (const entry of entries) this.add(entry);
  }
}
