/**
 * `wirechan/nats`: the NATS engine (docs/api.md "More than one server", "NATS"), over NATS core
 * subjects with nats.js 2, an optional peer dependency: only an application that imports this
 * entry needs it. One connection per node; each wirechan subject is escaped into a NATS subject
 * (subjects.ts). NATS core keeps each publisher's order, not one order across publishers.
 *
 * "Taken" means the NATS server has the message: publishes are followed by a PING (one in flight
 * at a time, for every publish made meanwhile) and resolve with its PONG. nats.js itself neither
 * bounds nor keeps what is published while it reconnects (each reconnect attempt empties its
 * outbound buffer), so the engine holds those publishes itself, at most `reconnectBufSize`
 * bytes, and sends them once the connection is back.
 * @module
 */
import { connect, type ConnectionOptions, Events, type Msg, type NatsConnection, type NatsError, type Subscription } from "nats";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { RingQueue } from "../csp/ring-queue.js";
import type { Logger } from "../session/logger.js";
import { type Backplane, type BackplaneEngine, BackplaneError, type Unsubscribe } from "./backplane.js";
import { createBackplane } from "./node.js";
import { type BackplaneOptions, resolveBackplaneOptions } from "./options.js";
import { NatsLogs } from "./nats-log.js";
import { natsSubject } from "./subjects.js";

export interface NatsBackplaneOptions extends BackplaneOptions {
  /**
   * The NATS server(s), `nats://host:port` (one URL or a list). The node opens one connection,
   * reconnecting forever, and closes it in `close()`. The library reads no environment variable.
   * Default `nats://127.0.0.1:4222`. Not with `connection`.
   */
  servers?: string | readonly string[];
  /**
   * Your own connection instead of `servers`: `close()` leaves it open (unsubscribing this
   * node's subjects); you close it. Give it `maxReconnectAttempts: -1`, or it closes for good
   * after nats.js's 10 attempts (then every publish throws `ERR_BACKPLANE_CLOSED`).
   */
  connection?: NatsConnection;
  /** Put before every subject, then escaped with it: the NATS subject is the escape of `prefix + subject`. Default `""`. */
  prefix?: string;
  /**
   * UTF-8 bytes of publishes held while the connection is down, sent once it is back. Past it a
   * publish throws `ERR_NATS_BUFFER_FULL` at once (as the node's `maxPending` bounds their count).
   * Default 8 MiB.
   */
  reconnectBufSize?: number;
  /** Milliseconds between reconnect attempts to one server (nats.js's `reconnectTimeWait`). Default 2,000. */
  reconnectTimeWait?: number;
}

/** Every default of {@link NatsBackplaneOptions} (and of {@link BackplaneOptions}: `backplaneDefaults`). */
export const natsBackplaneDefaults = {
  servers: "nats://127.0.0.1:4222",
  prefix: "",
  reconnectBufSize: 8 * 1024 * 1024,
  reconnectTimeWait: 2_000,
} as const satisfies Pick<Required<NatsBackplaneOptions>, "servers" | "prefix" | "reconnectBufSize" | "reconnectTimeWait">;

/** NATS's own default max_payload, until the server says its own (INFO). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * One node on NATS (one per server). Resolves once connected; rejects with `ERR_BACKPLANE_CONNECT`
 * when the first connection fails (nothing listens at `servers`), and throws a `TypeError` or
 * `RangeError` (`ERR_BACKPLANE_OPTION`) for a bad option. Options and defaults:
 * {@link NatsBackplaneOptions}, `natsBackplaneDefaults`, and the node's own.
 */
export async function natsBackplane(options: NatsBackplaneOptions = {}): Promise<Backplane> {
  const { servers, connection, prefix = natsBackplaneDefaults.prefix, reconnectBufSize = natsBackplaneDefaults.reconnectBufSize, reconnectTimeWait = natsBackplaneDefaults.reconnectTimeWait, ...nodeOptions } = options;
  const resolved = resolveBackplaneOptions(nodeOptions);
  if (typeof prefix !== "string") throw optionError(`prefix must be a string, got ${typeof prefix}`);
  for (const [name, value] of [["reconnectBufSize", reconnectBufSize], ["reconnectTimeWait", reconnectTimeWait]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new WirechanRangeError("ERR_BACKPLANE_OPTION", `natsBackplane: ${name} must be a positive integer, got ${String(value)}`);
  }
  const settings: EngineSettings = { prefix, reconnectBufSize, logger: resolved.logger, nodeId: resolved.nodeId, owned: connection === undefined };
  if (connection !== undefined) {
    if (servers !== undefined) throw optionError("give servers or connection, not both");
    if (typeof connection !== "object" || connection === null || typeof connection.publish !== "function") throw optionError("connection must be a NatsConnection (await connect(...) from nats)");
    return createBackplane(new NatsEngine(connection, settings), resolved);
  }
  const list = typeof servers === "string" ? [servers] : [...(servers ?? [natsBackplaneDefaults.servers])];
  if (list.length === 0 || !list.every((s) => typeof s === "string" && s.length > 0)) throw optionError("servers must be a URL or a non-empty list of URLs");
  const connectOptions: ConnectionOptions = {
    servers: list,
    name: `wirechan-${resolved.nodeId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait,
    // Every node's own messages come back: the contract delivers to the publishing node too.
    noEcho: false,
  };
  let nc: NatsConnection;
  try {
    nc = await connect(connectOptions);
  } catch (error) {
    throw new BackplaneError("ERR_BACKPLANE_CONNECT", `natsBackplane: cannot connect to ${list.join(", ")}`, { cause: error });
  }
  return createBackplane(new NatsEngine(nc, settings), resolved);
}

function optionError(message: string): WirechanTypeError {
  return new WirechanTypeError("ERR_BACKPLANE_OPTION", `natsBackplane: ${message}`);
}

interface EngineSettings {
  readonly prefix: string;
  readonly reconnectBufSize: number;
  readonly logger: Logger;
  readonly nodeId: string;
  /** Whether the node opened the connection (and so closes it). */
  readonly owned: boolean;
}

/** A publish made while the connection was down, sent when it is back. */
interface Held {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The publishes waiting for one PING's answer. */
interface Batch {
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One node's connection. Bounded: held publishes by `reconnectBufSize` bytes (and the node's `maxPending`), subscriptions by its `maxSubjects`. */
class NatsEngine implements BackplaneEngine {
  readonly #nc: NatsConnection;
  readonly #settings: EngineSettings;
  readonly #subscriptions = new Set<Subscription>();
  readonly #held = new RingQueue<Held>(16);
  #heldBytes = 0;
  /** Our view of the connection, from its status events: publishes made while it is false are held. */
  #connected = true;
  /** Who waits for the connection to come back (ready() during an outage): at most one entry per call, resolved at the next reconnect. */
  readonly #backWaiters = new Set<() => void>();
  /** Publishes made since the PING in flight was sent: they wait for the next one. */
  #nextBatch: Batch | null = null;
  #flushing = false;
  #maxPayload: number;
  #closing: Promise<void> | null = null;
  #closedForGood = false;
  readonly #logs: NatsLogs;

  constructor(nc: NatsConnection, settings: EngineSettings) {
    this.#nc = nc;
    this.#settings = settings;
    this.#maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    this.#logs = new NatsLogs(nc, settings.prefix);
    void this.#watch();
    void nc.closed().then(this.#onClosed);
  }

  publish(subject: string, text: string): Promise<void> {
    this.#checkOpen();
    const target = natsSubject(this.#settings.prefix + subject);
    const data = encoder.encode(text);
    this.#checkSize(data);
    if (!this.#connected) return this.#hold(target, data);
    this.#send(target, data);
    return this.#flushed();
  }

  /** Appends to the log's JetStream stream (nats-log.ts); rejects what JetStream rejects (no JetStream on the server, say). */
  append(log: string, text: string, maxEntries: number): Promise<void> {
    this.#checkOpen();
    return this.#logs.append(log, text, maxEntries);
  }

  read(log: string, maxEntries: number): Promise<string[]> {
    this.#checkOpen();
    return this.#logs.read(log, maxEntries);
  }

  subscribe(subject: string, onMessage: (text: string) => void): Unsubscribe {
    this.#checkOpen();
    const target = natsSubject(this.#settings.prefix + subject);
    const logger = this.#settings.logger;
    const nodeId = this.#settings.nodeId;
    let subscription: Subscription;
    try {
      subscription = this.#nc.subscribe(target, {
        // A callback, not the async iterator: nats.js would queue messages for the iterator without bound.
        callback(error: NatsError | null, message: Msg): void {
          if (error !== null) {
            logger.error(`NATS backplane of node ${nodeId}: the subscription to ${target} failed`, error);
            return;
          }
          try {
            onMessage(decoder.decode(message.data));
          } catch (thrown) {
            logger.error(`NATS backplane of node ${nodeId}: a handler of ${target} threw`, thrown);
          }
        },
      });
    } catch (error) {
      throw this.#translate(error, `subscribe to ${target}`);
    }
    this.#subscriptions.add(subscription);
    return () => {
      if (!this.#subscriptions.delete(subscription)) return;
      if (!this.#nc.isClosed()) subscription.unsubscribe();
    };
  }

  /** A PING answered means the server has every SUB sent before it (nats.js sends them all again first after a reconnect). */
  async ready(): Promise<void> {
    for (;;) {
      this.#checkOpen();
      if (!this.#connected) await new Promise<void>((resolve) => this.#backWaiters.add(resolve));
      try {
        await this.#nc.flush();
        return;
      } catch (error) {
        // Dropped while waiting: wait for the next connection, unless it closed for good.
        if (this.#nc.isClosed()) throw this.#translate(error, "ready");
      }
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const subscriptions = [...this.#subscriptions];
    this.#subscriptions.clear();
    this.#rejectHeld(new BackplaneError("ERR_BACKPLANE_CLOSED", `NATS backplane of node ${this.#settings.nodeId} closed before the connection came back: the publish is lost`));
    for (const resolve of this.#backWaiters) resolve();
    this.#backWaiters.clear();
    if (this.#nc.isClosed()) return;
    if (!this.#settings.owned) {
      for (const subscription of subscriptions) subscription.unsubscribe();
      // Resolve once the server has the UNSUBs, so that nothing more arrives for this node on your connection.
      if (this.#connected) await this.#nc.flush().catch(nothing);
      return;
    }
    // What was published goes out first, when it can; while the server is unreachable, at once.
    if (this.#connected) await this.#nc.flush().catch(nothing);
    await this.#nc.close();
  }

  #checkOpen(): void {
    if (this.#closing !== null || this.#closedForGood) throw new BackplaneError("ERR_BACKPLANE_CLOSED", `NATS backplane of node ${this.#settings.nodeId} is closed`);
  }

  #checkSize(data: Uint8Array): void {
    if (data.length > this.#maxPayload) {
      throw new BackplaneError("ERR_BACKPLANE_TOO_LARGE", `NATS backplane: a message of ${data.length} bytes is over the NATS server's max_payload of ${this.#maxPayload} bytes (the server's max_payload setting)`);
    }
  }

  /** Publishes now; what nats.js throws at once (the connection closed, a subject or size it refuses) becomes a typed error. */
  #send(subject: string, data: Uint8Array): void {
    try {
      this.#nc.publish(subject, data);
    } catch (error) {
      throw this.#translate(error, `publish to ${subject}`);
    }
  }

  #hold(subject: string, data: Uint8Array): Promise<void> {
    if (this.#heldBytes + data.length > this.#settings.reconnectBufSize) {
      throw new BackplaneError("ERR_NATS_BUFFER_FULL", `NATS backplane of node ${this.#settings.nodeId}: the connection is down and ${this.#heldBytes} bytes of publishes wait for it; ${data.length} more would pass reconnectBufSize (${this.#settings.reconnectBufSize})`);
    }
    this.#heldBytes += data.length;
    return new Promise<void>((resolve, reject) => this.#held.push({ subject, data, resolve, reject }));
  }

  /** A promise for the PING after this publish: one PING in flight at a time, for every publish made before it was sent. */
  #flushed(): Promise<void> {
    if (this.#nextBatch === null) {
      let resolve = nothing;
      let reject: (error: unknown) => void = nothing;
      const done = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      this.#nextBatch = { done, resolve, reject };
      if (!this.#flushing) this.#flush();
      return done;
    }
    return this.#nextBatch.done;
  }

  #flush(): void {
    const batch = this.#nextBatch;
    if (batch === null) return;
    this.#nextBatch = null;
    this.#flushing = true;
    this.#nc.flush().then(batch.resolve, (error: unknown) => {
      // The connection dropped before the server answered: these were sent, or not (nats.js
      // empties its buffer on every reconnect attempt). Never sent twice: at most once.
      batch.reject(new BackplaneError("ERR_BACKPLANE_DISCONNECTED", `NATS backplane of node ${this.#settings.nodeId}: the connection dropped before the server confirmed a publish; it may be lost`, { cause: error }));
    });
    void batch.done.catch(nothing).finally(this.#flushedOne);
  }

  readonly #flushedOne = (): void => {
    this.#flushing = false;
    if (this.#nextBatch !== null) this.#flush();
  };

  /** Follows the connection's status: down, publishes are held; back, they go out in order, before any later one. */
  async #watch(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (this.#closing !== null) return;
      if (status.type === Events.Disconnect && this.#connected) {
        this.#connected = false;
        this.#settings.logger.warn(`NATS backplane of node ${this.#settings.nodeId}: disconnected from ${String(status.data)}; reconnecting (publishes held, at most reconnectBufSize bytes and maxPending)`);
      } else if (status.type === Events.Reconnect && !this.#connected) {
        this.#connected = true;
        this.#maxPayload = this.#nc.info?.max_payload ?? this.#maxPayload;
        this.#settings.logger.warn(`NATS backplane of node ${this.#settings.nodeId}: reconnected to ${String(status.data)}; sending ${this.#held.length} held publishes`);
        this.#sendHeld();
        for (const resolve of this.#backWaiters) resolve();
        this.#backWaiters.clear();
      }
    }
  }

  #sendHeld(): void {
    for (let held = this.#held.shift(); held !== undefined; held = this.#held.shift()) {
      this.#heldBytes -= held.data.length;
      try {
        this.#checkSize(held.data); // The server that answered may take less than the last one.
        this.#send(held.subject, held.data);
        this.#flushed().then(held.resolve, held.reject);
      } catch (error) {
        held.reject(error);
      }
    }
  }

  #rejectHeld(error: BackplaneError): void {
    for (let held = this.#held.shift(); held !== undefined; held = this.#held.shift()) held.reject(error);
    this.#heldBytes = 0;
  }

  readonly #onClosed = (reason: void | Error): void => {
    this.#closedForGood = true;
    this.#rejectHeld(new BackplaneError("ERR_BACKPLANE_CLOSED", `NATS backplane of node ${this.#settings.nodeId}: the connection closed; the publish is lost`, { cause: reason }));
    for (const resolve of this.#backWaiters) resolve();
    this.#backWaiters.clear();
    if (this.#closing === null) this.#settings.logger.error(`NATS backplane of node ${this.#settings.nodeId}: the connection closed for good; the node publishes and receives nothing more`, reason);
  };

  #translate(error: unknown, what: string): BackplaneError {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "CONNECTION_CLOSED" || code === "CONNECTION_DRAINING") return new BackplaneError("ERR_BACKPLANE_CLOSED", `NATS backplane of node ${this.#settings.nodeId}: ${what}: the connection is closed`, { cause: error });
    if (code === "MAX_PAYLOAD_EXCEEDED") return new BackplaneError("ERR_BACKPLANE_TOO_LARGE", `NATS backplane: ${what}: over the NATS server's max_payload (the server's max_payload setting)`, { cause: error });
    return new BackplaneError("ERR_BACKPLANE_SUBJECT", `NATS backplane of node ${this.#settings.nodeId}: nats.js refused to ${what}`, { cause: error });
  }
}

function nothing(): void {}
