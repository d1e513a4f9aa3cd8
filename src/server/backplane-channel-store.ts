// Groups of connections across servers (docs/api.md "Groups across servers"): a ChannelStore whose
// broadcastEncoded reaches the members of every node through a Backplane, any engine's. Members
// stay on their node (a connection is a socket of this process); a group is a subject,
// `wirechan.group.<name>` by default, that a node subscribes to while it has members of the
// group, so that a broadcast crosses once and only to the nodes that have members (NATS and Redis
// route by subject). socket.io's cluster adapter is the model: rooms local, broadcasts published.
import type { Backplane, BackplaneMessage, Unsubscribe } from "../backplane/backplane.js";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { type ChannelStore, MemoryChannelStore, memoryChannelStoreDefaults, type MemoryChannelStoreOptions, quote } from "./channel-store.js";
import type { Connection, SendData } from "./connection.js";
import { EncodedMessage } from "./encoded-message.js";

/** The options of a {@link BackplaneChannelStore}; defaults in {@link backplaneChannelStoreDefaults}. */
export interface BackplaneChannelStoreOptions extends MemoryChannelStoreOptions {
  /**
   * What a group's subject starts with: `<subjectPrefix><group>`. Stores sharing one backplane
   * on one node each need their own (a node takes one handler per subject). Default
   * `"wirechan.group."`.
   */
  subjectPrefix?: string;
  /**
   * Largest payload `broadcastEncoded` publishes, in UTF-8 bytes of text (bytes cross as base64,
   * a third larger, and count as such). Past it `ERR_MESSAGE_TOO_LARGE`, and nothing is sent.
   * Default 1 MiB.
   */
  maxPayloadBytes?: number;
}

/** Every default of {@link BackplaneChannelStoreOptions}. */
export const backplaneChannelStoreDefaults = {
  ...memoryChannelStoreDefaults,
  subjectPrefix: "wirechan.group.",
  maxPayloadBytes: 1_048_576,
} as const satisfies Required<BackplaneChannelStoreOptions>;

/** The first character of a body: the payload was text, or bytes in base64. */
const TEXT = "t";
const BYTES = "b";

/**
 * A {@link ChannelStore} over a {@link Backplane}, for servers behind a balancer: make one per
 * server, each on its own node of one engine (`new BackplaneChannelStore(backplane)`, or
 * {@link backplaneChannelStore}). The Redis and NATS stores are this store over their engines.
 *
 * - `addToGroup`, `removeFromGroup`: members are this node's connections, with the limits and
 *   the leaving on close of {@link MemoryChannelStore}. A group's first member here subscribes
 *   this node to the group's subject; its last one leaving unsubscribes it. Throws the
 *   backplane's `ERR_BACKPLANE_SUBJECT` (past its `maxSubjects`) as it throws `GroupLimitError`:
 *   nothing added.
 * - `broadcastEncoded(group, payload)`: published once; this node's members get it at once, every
 *   other node's when the backplane brings it (a node without members of the group is not
 *   subscribed and gets nothing). Returns how many of this node's members it was sent to. One
 *   node's broadcasts reach every node in the order it made them; broadcasts from two nodes may
 *   arrive in another order on different nodes. Throws, having sent nothing anywhere, what the
 *   backplane's `publish` throws (`ERR_BACKPLANE_FULL`, `ERR_BACKPLANE_CLOSED`, an engine's own)
 *   and `ERR_MESSAGE_TOO_LARGE` past `maxPayloadBytes`.
 * - `broadcast(group, fn)`: this node's members only: `fn` is code, and code does not cross. To
 *   reach every node, encode once and use `broadcastEncoded`.
 * - `members(group)`, `groups()`: this node's. For "how many are here" across nodes, a topic's
 *   presence counts every node's subscribers.
 */
export class BackplaneChannelStore<A = unknown> implements ChannelStore<A> {
  readonly options: Readonly<Required<BackplaneChannelStoreOptions>>;
  readonly #local: MemoryChannelStore<A>;
  /** This node's subscription per group with members here; at most the backplane's maxSubjects. */
  readonly #subjects = new Map<string, Unsubscribe>();
  #closed = false;

  /**
   * Throws what `MemoryChannelStore` throws for a bad option, and a `TypeError` or `RangeError`
   * (`ERR_CHANNEL_STORE_OPTION`) for a bad `subjectPrefix` or `maxPayloadBytes`, or a
   * `backplane` that is not one.
   */
  constructor(
    readonly backplane: Backplane,
    options: BackplaneChannelStoreOptions = {},
  ) {
    if (typeof backplane !== "object" || backplane === null || typeof backplane.publish !== "function" || typeof backplane.subscribe !== "function") {
      throw new WirechanTypeError("ERR_CHANNEL_STORE_OPTION", "BackplaneChannelStore: backplane must be a Backplane (createBackplane, memoryBackplane …)");
    }
    const { subjectPrefix = backplaneChannelStoreDefaults.subjectPrefix, maxPayloadBytes = backplaneChannelStoreDefaults.maxPayloadBytes, ...memory } = options;
    if (typeof subjectPrefix !== "string" || subjectPrefix.length === 0) {
      throw new WirechanTypeError("ERR_CHANNEL_STORE_OPTION", `BackplaneChannelStore option subjectPrefix must be a non-empty string, got ${JSON.stringify(subjectPrefix)}`);
    }
    if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes < 1) {
      throw new WirechanRangeError("ERR_CHANNEL_STORE_OPTION", `BackplaneChannelStore option maxPayloadBytes must be a positive integer, got ${String(maxPayloadBytes)}`);
    }
    this.#local = new MemoryChannelStore<A>(memory, this.#groupGone);
    this.options = { ...this.#local.options, subjectPrefix, maxPayloadBytes };
  }

  /** See {@link BackplaneChannelStore}: a group new to this node subscribes it to the group's subject first. */
  addToGroup(group: string, conn: Connection, attachment: A): void {
    if (!conn.isOpen) return;
    const subscribed = this.#subscribe(group);
    try {
      this.#local.addToGroup(group, conn, attachment);
    } catch (error) {
      // Refused (GroupLimitError): a subject taken for it alone is given back.
      if (subscribed && this.#local.members(group) === 0) this.#groupGone(group);
      throw error;
    }
  }

  removeFromGroup(group: string, conn: Connection): void {
    this.#local.removeFromGroup(group, conn);
  }

  /** This node's members only (see {@link BackplaneChannelStore}). */
  broadcast(group: string, fn: (conn: Connection, attachment: A) => SendData | undefined): number {
    return this.#local.broadcast(group, fn);
  }

  /** Every node's members (see {@link BackplaneChannelStore}); returns how many of this node's it was sent to. */
  broadcastEncoded(group: string, payload: string | Uint8Array): number {
    // Encoded once: its length is checked here and its bytes go to every member of this node.
    const message = new EncodedMessage(payload);
    const base64 = message.isText ? "" : message.bytes.toString("base64");
    const bytes = message.isText ? message.bytes.byteLength : base64.length;
    if (bytes > this.options.maxPayloadBytes) {
      throw new WirechanRangeError("ERR_MESSAGE_TOO_LARGE", `a broadcast of ${bytes} bytes to group ${quote(group)} is over the BackplaneChannelStore option maxPayloadBytes (${this.options.maxPayloadBytes})`);
    }
    // Published first: a publish refused (the backplane full or closed) sends nothing anywhere.
    this.backplane.publish(this.#subject(group), message.isText ? TEXT + message.text : BYTES + base64);
    return this.#local.broadcastMessage(group, message);
  }

  members(group: string): number {
    return this.#local.members(group);
  }

  groups(): number {
    return this.#local.groups();
  }

  /** Groups this node is subscribed to on the backplane (those with members here). */
  get subjects(): number {
    return this.#subjects.size;
  }

  /**
   * Stops hearing other nodes' broadcasts: every subject is given back. Members stay, and get
   * this node's own broadcasts; later groups subscribe nothing. Idempotent. Close the store before
   * its backplane.
   */
  close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#subjects.values()) unsubscribe();
    this.#subjects.clear();
  }

  #subject(group: string): string {
    return `${this.options.subjectPrefix}${group}`;
  }

  /** Subscribes this node to `group`'s subject if it is not yet; true if this call did. Throws what the backplane throws. */
  #subscribe(group: string): boolean {
    if (this.#closed || this.#subjects.has(group)) return false;
    const unsubscribe = this.backplane.subscribe(this.#subject(group), (message) => this.#relayed(group, message));
    this.#subjects.set(group, unsubscribe);
    return true;
  }

  readonly #groupGone = (group: string): void => {
    this.#subjects.get(group)?.();
    this.#subjects.delete(group);
  };

  /** Another node's broadcast: to this node's members. This node's own come back too and are skipped (sent already). */
  #relayed(group: string, message: BackplaneMessage): void {
    if (message.from === this.backplane.nodeId) return;
    const payload = readBody(message.body);
    if (payload === null) {
      this.options.logger.warn(`BackplaneChannelStore: a broadcast to group ${quote(group)} from node ${message.from} that this version cannot read was dropped`);
      return;
    }
    this.#local.broadcastEncoded(group, payload);
  }
}

/** The payload of a body {@link BackplaneChannelStore.broadcastEncoded} published, or null for another kind. */
export function readBody(body: string): string | Uint8Array | null {
  if (body.startsWith(TEXT)) return body.slice(1);
  if (!body.startsWith(BYTES)) return null;
  const base64 = body.slice(1);
  // Node's decoder skips what is not base64: check first, so that garbage is refused, not turned into bytes.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) return null;
  return new Uint8Array(Buffer.from(base64, "base64"));
}

/** A {@link BackplaneChannelStore} on `backplane`: one per server, each on its own node. */
export function backplaneChannelStore<A = unknown>(backplane: Backplane, options: BackplaneChannelStoreOptions = {}): BackplaneChannelStore<A> {
  return new BackplaneChannelStore<A>(backplane, options);
}
