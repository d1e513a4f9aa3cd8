// The contract between servers that share work (docs/architecture.md "backplane/", docs/api.md
// "More than one server"). Two halves, as socket.io's ClusterAdapter and nats.js's transport
// split theirs: an engine (memory, Redis pub/sub, NATS core subjects) fills the three methods
// of BackplaneEngine; what every engine would otherwise write again (the node id and the
// framing of what crosses, the bound on publishes the engine has not taken, one handler per
// subject) is written once in node.ts, and the server sees only Backplane.
import { WirechanError } from "../csp/errors.js";

/** Stops what `subscribe` started. Idempotent. */
export type Unsubscribe = () => void;

/**
 * What an engine fills: text in, text out, on subjects. An engine knows nothing of nodes,
 * topics or framing; it carries each text to every node subscribed to its subject, this one
 * included.
 */
export interface BackplaneEngine {
  /**
   * Hands `text` to the engine for every node subscribed to `subject` now. Texts published one
   * after another by one node reach each subscriber in that order. Resolves once the engine
   * took the text (sent it, or delivered it: the engine says which); rejects when it fails
   * later. Throws at once when it cannot take the text now (a bound of its own), so that the
   * publisher learns. Never calls a subscriber's handler before it returns.
   */
  publish(subject: string, text: string): Promise<void>;
  /**
   * Calls `onMessage` with every text published on `subject` from now on, by any node,
   * until the returned function is called. Throws when the engine cannot take one more
   * subscription (its bound).
   */
  subscribe(subject: string, onMessage: (text: string) => void): Unsubscribe;
  /**
   * Appends `text` to the log `log`, which the engine keeps (it outlives every node: Redis,
   * NATS JetStream), trimmed to its newest `maxEntries`. Resolves once stored; rejects when
   * the engine refused or could not store it.
   */
  append(log: string, text: string, maxEntries: number): Promise<void>;
  /** The newest `maxEntries` entries of the log `log`, oldest first ([] for a log nobody wrote). */
  read(log: string, maxEntries: number): Promise<string[]>;
  /** Ends this node's use of the engine: its subscriptions stop. */
  close(): Promise<void>;
  /**
   * Resolves once every subscription made so far is in effect where the messages are routed
   * (a network engine: its server acknowledged them, also after a reconnect), so that what any
   * node publishes from then on reaches this one. Without it, subscriptions take effect at once
   * (the memory bus).
   */
  ready?(): Promise<void>;
}

/** One message as it crossed: who published it, and what. */
export interface BackplaneMessage {
  /** The publishing node's {@link Backplane.nodeId}: this node's own messages come back too. */
  readonly from: string;
  /** The text published, as it was published. */
  readonly body: string;
}

/**
 * What a server uses (`createServer({ backplane })`): one node's view of the engine, made by
 * `createBackplane(engine)` or an engine's own factory (`memoryBackplane(bus)`).
 */
export interface Backplane {
  /** This node's id: unique among the nodes of one engine; every message says which node sent it. */
  readonly nodeId: string;
  /**
   * Publishes `body` on `subject` to every node (this one included), in the order of this
   * node's publishes. Never waits: throws a {@link BackplaneError} `ERR_BACKPLANE_FULL` when
   * the engine has not yet taken `maxPending` earlier publishes (it is slow or down),
   * `ERR_BACKPLANE_CLOSED` after `close()`, and what the engine throws at once (the memory
   * bus: `ERR_MEMORY_BUS_FULL`; NATS: `ERR_BACKPLANE_TOO_LARGE` past the server's max_payload,
   * `ERR_NATS_BUFFER_FULL`; Redis and NATS: `ERR_BACKPLANE_SUBJECT` for a subject they cannot
   * carry). A publish the engine rejects later is logged and lost.
   */
  publish(subject: string, body: string): void;
  /**
   * Calls `handler` with every message on `subject` from now on, never inside `publish`. One
   * handler per subject per node: a second throws `ERR_BACKPLANE_SUBJECT`, as does one more
   * than `maxSubjects`; after `close()`, `ERR_BACKPLANE_CLOSED`.
   */
  subscribe(subject: string, handler: (message: BackplaneMessage) => void): Unsubscribe;
  /** Publishes the engine has not taken yet (at most `maxPending`). */
  readonly pending: number;
  /**
   * A log every node reads, kept by the engine (what must outlive a node: the chat's history):
   * `append` resolves once the engine stored the text, keeping the newest `maxEntries` of the
   * log; `read` resolves with them, oldest first. Both reject with what the engine rejects
   * with, and with `ERR_BACKPLANE_CLOSED` after `close()`. Writes of one node are kept in the
   * order it made them; nodes appending at once are ordered by the engine.
   */
  append(log: string, text: string, maxEntries: number): Promise<void>;
  read(log: string, maxEntries: number): Promise<string[]>;
  /**
   * Resolves once this node's subscriptions are in effect at the engine's server (Redis and
   * NATS acknowledge a subscription over the network, in a later turn than `subscribe`), so
   * that what any node publishes from then on reaches this node: a server's topics, made
   * before `listen`, are ready when it resolves. Waits through an outage. At once on the memory bus.
   */
  ready(): Promise<void>;
  /** Ends every subscription of this node and closes the engine. Idempotent. */
  close(): Promise<void>;
}

/**
 * An error of the backplane, with a code: `ERR_BACKPLANE_FULL`, `ERR_BACKPLANE_CLOSED`,
 * `ERR_BACKPLANE_SUBJECT`, `ERR_MEMORY_BUS_FULL`; of the network engines,
 * `ERR_BACKPLANE_TOO_LARGE` (a text over the server's payload limit),
 * `ERR_BACKPLANE_DISCONNECTED` (a publish the connection dropped before the server confirmed
 * it), `ERR_BACKPLANE_CONNECT` (the first connection failed) and `ERR_NATS_BUFFER_FULL`.
 */
export class BackplaneError extends WirechanError {}
