/**
 * `wirechan/redis`: the Redis engine (docs/api.md "More than one server", "Redis"), over Redis
 * pub/sub with ioredis 5, an optional peer dependency: only an application that imports this
 * entry needs it. Pub/sub takes a connection of its own (a subscribed connection can do nothing
 * else), so a node holds two: a publisher and a subscriber. One Redis server orders every
 * message of a channel, so every node sees one order.
 *
 * While Redis is unreachable, ioredis holds commands in its offline queue and sends them when
 * it is back; the node's `maxPending` bounds how many publishes wait there (then
 * `ERR_BACKPLANE_FULL`), and the subscriber subscribes again by itself (autoResubscribe).
 * @module
 */
import { Redis, type RedisOptions } from "ioredis";
import { WirechanTypeError } from "../csp/errors.js";
import type { Logger } from "../session/logger.js";
import { type Backplane, type BackplaneEngine, BackplaneError, type Unsubscribe } from "./backplane.js";
import { createBackplane } from "./node.js";
import { type BackplaneOptions, resolveBackplaneOptions } from "./options.js";
import { checkSubject } from "./subjects.js";

export interface RedisBackplaneOptions extends BackplaneOptions {
  /**
   * The Redis server, as `redis://[user:password@]host:port[/db]` (`rediss://` for TLS). The
   * node opens two connections to it and closes them in `close()`. The library reads no
   * environment variable: the application passes `process.env.REDIS_URL` if it wants one.
   * Default `redis://127.0.0.1:6379`. Not with `publisher` and `subscriber`.
   */
  url?: string;
  /**
   * Your own ioredis clients instead of `url`, both or neither, two distinct clients: the node
   * publishes on `publisher` and subscribes on `subscriber` (which then serves this node only:
   * a subscribed connection can do nothing else). `close()` leaves them open, sending UNSUBSCRIBE
   * for this node's channels without waiting for the answer (the node hears nothing more at
   * once): you close them. For the outage policy below give them
   * `maxRetriesPerRequest: null` (else a publish that waits through `maxRetriesPerRequest`
   * reconnects is rejected, logged and lost); `autoResubscribe: false` is refused.
   */
  publisher?: Redis;
  subscriber?: Redis;
  /** Put before every subject: the Redis channel is `prefix + subject`, so that several clusters can share one Redis. Default `""`. */
  prefix?: string;
}

/** Every default of {@link RedisBackplaneOptions} (and of {@link BackplaneOptions}: `backplaneDefaults`). */
export const redisBackplaneDefaults = {
  url: "redis://127.0.0.1:6379",
  prefix: "",
} as const satisfies Pick<Required<RedisBackplaneOptions>, "url" | "prefix">;

/**
 * The ioredis options of the connections a node opens from `url`: commands wait while Redis is
 * unreachable (the offline queue, bounded by the node's `maxPending`) however many reconnects
 * it takes, instead of failing after 20 (ioredis's default `maxRetriesPerRequest`).
 */
const CLIENT_OPTIONS = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  autoResubscribe: true,
  // A publish in flight when the connection drops is sent again after the reconnect: without
  // this ioredis forgets it and its promise never settles (the node's pending count would leak).
  autoResendUnfulfilledCommands: true,
} as const satisfies RedisOptions;

/**
 * One node on Redis (one per server). Options and defaults: {@link RedisBackplaneOptions},
 * `redisBackplaneDefaults`, and the node's own (`maxPending`, `maxSubjects`, `nodeId`,
 * `logger`). Returns at once; the connections open in the background (publishes wait for them,
 * at most `maxPending`). Throws a `TypeError` or `RangeError` (`ERR_BACKPLANE_OPTION`) for a bad option.
 */
export function redisBackplane(options: RedisBackplaneOptions = {}): Backplane {
  const { url, publisher, subscriber, prefix = redisBackplaneDefaults.prefix, ...nodeOptions } = options;
  const resolved = resolveBackplaneOptions(nodeOptions);
  if (typeof prefix !== "string") throw optionError(`prefix must be a string, got ${typeof prefix}`);
  let engine: RedisEngine;
  if (publisher !== undefined || subscriber !== undefined) {
    if (url !== undefined) throw optionError("give url, or publisher and subscriber, not both");
    if (!(publisher instanceof Redis) || !(subscriber instanceof Redis)) throw optionError("publisher and subscriber must both be ioredis clients (new Redis(...))");
    if (publisher === subscriber) throw optionError("publisher and subscriber must be two clients: a subscribed connection cannot publish");
    if (subscriber.options.autoResubscribe === false) throw optionError("the subscriber has autoResubscribe: false; its subscriptions would not survive a reconnect");
    engine = new RedisEngine(publisher, subscriber, { prefix, owned: false, logger: resolved.logger, nodeId: resolved.nodeId });
  } else {
    const target = url ?? redisBackplaneDefaults.url;
    if (typeof target !== "string" || !/^rediss?:\/\//.test(target)) throw optionError(`url must be a redis:// or rediss:// URL, got ${JSON.stringify(target)}`);
    const client = (role: string, extra: RedisOptions = {}): Redis => new Redis(target, { ...CLIENT_OPTIONS, ...extra, connectionName: `wirechan-${resolved.nodeId}-${role}` });
    // No ready check (INFO) on the subscriber: ioredis 5 may send it after the SUBSCRIBEs this
    // node queued while connecting, and Redis refuses INFO in subscriber mode ("Connection in
    // subscriber mode", ioredis issue 2037, fixed in ioredis 6): seen here as a failed test.
    engine = new RedisEngine(client("pub"), client("sub", { enableReadyCheck: false }), { prefix, owned: true, logger: resolved.logger, nodeId: resolved.nodeId });
  }
  return createBackplane(engine, resolved);
}

function optionError(message: string): WirechanTypeError {
  return new WirechanTypeError("ERR_BACKPLANE_OPTION", `redisBackplane: ${message}`);
}

interface EngineSettings {
  readonly prefix: string;
  /** Whether the node opened the clients (and so closes them). */
  readonly owned: boolean;
  readonly logger: Logger;
  readonly nodeId: string;
}

/** What ioredis's `on` and `off` take (an EventEmitter's listener). */
type Listener = Parameters<Redis["off"]>[1];

/** One subscriber's handler; an object, so that one function subscribed twice is two entries. */
interface Handler {
  readonly onMessage: (text: string) => void;
}

/** One node's two connections. Bounded by its node: at most `maxSubjects` channels, `maxPending` publishes. */
class RedisEngine implements BackplaneEngine {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #settings: EngineSettings;
  /** Redis channel → this node's handlers on it; SUBSCRIBE with the first, UNSUBSCRIBE with the last. */
  readonly #channels = new Map<string, Set<Handler>>();
  /** The connections that went down and have not been back since, so that an outage is logged once, not at every retry. */
  readonly #down = new Set<Redis>();
  /** The listeners put on the clients, taken off in close(): your clients outlive the node. */
  readonly #listeners: Array<{ client: Redis; event: string; listener: Listener }> = [];
  #closing: Promise<void> | null = null;

  constructor(publisher: Redis, subscriber: Redis, settings: EngineSettings) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#settings = settings;
    this.#listen(subscriber, "message", this.#onMessage);
    for (const client of [publisher, subscriber]) {
      this.#listen(client, "close", this.#onClose(client));
      this.#listen(client, "ready", this.#onReady(client));
      // Without a listener ioredis prints every failed reconnect; the outage is logged once by #onClose.
      if (settings.owned) this.#listen(client, "error", ignoreError);
    }
  }

  #listen(client: Redis, event: string, listener: Listener): void {
    client.on(event, listener);
    this.#listeners.push({ client, event, listener });
  }

  publish(subject: string, text: string): Promise<void> {
    this.#checkOpen();
    checkSubject(subject, "Redis backplane");
    // Resolves with Redis's reply (how many connections got it): Redis took the message.
    return this.#publisher.publish(this.#settings.prefix + subject, text).then(nothing);
  }

  subscribe(subject: string, onMessage: (text: string) => void): Unsubscribe {
    this.#checkOpen();
    checkSubject(subject, "Redis backplane");
    const channel = this.#settings.prefix + subject;
    let handlers = this.#channels.get(channel);
    if (handlers === undefined) {
      handlers = new Set();
      this.#channels.set(channel, handlers);
      this.#subscriber.subscribe(channel).catch(this.#failed(`subscribe to ${JSON.stringify(channel)}`));
    }
    const handler: Handler = { onMessage };
    handlers.add(handler);
    const set = handlers;
    return () => {
      if (!set.delete(handler) || set.size > 0 || this.#channels.get(channel) !== set) return;
      this.#channels.delete(channel);
      if (this.#closing === null) this.#subscriber.unsubscribe(channel).catch(this.#failed(`unsubscribe from ${JSON.stringify(channel)}`));
    };
  }

  /**
   * A Redis list per log, `<prefix>log:<name>`: RPUSH then LTRIM to the newest `maxEntries`, in
   * one MULTI, so that no reader sees it over its bound. A list, not a stream: the entries are
   * read whole and in order, and a list is the smaller of the two.
   */
  async append(log: string, text: string, maxEntries: number): Promise<void> {
    this.#checkOpen();
    checkSubject(log, "Redis backplane");
    const key = `${this.#settings.prefix}log:${log}`;
    const replies = await this.#publisher.multi().rpush(key, text).ltrim(key, -maxEntries, -1).exec();
    const failed = replies?.find(([error]) => error !== null)?.[0];
    if (failed !== undefined && failed !== null) throw failed;
  }

  /** The newest `maxEntries` of the log's list, oldest first. */
  read(log: string, maxEntries: number): Promise<string[]> {
    this.#checkOpen();
    checkSubject(log, "Redis backplane");
    return this.#publisher.lrange(`${this.#settings.prefix}log:${log}`, -maxEntries, -1);
  }

  /** A PING on the subscriber answers after every SUBSCRIBE sent before it (ioredis sends the resubscriptions first after a reconnect). */
  async ready(): Promise<void> {
    this.#checkOpen();
    await this.#subscriber.ping();
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const { client, event, listener } of this.#listeners.splice(0)) {
      // The error listener stays on the node's own clients: a late error while quitting must not be unhandled.
      if (event !== "error") client.off(event, listener);
    }
    const channels = [...this.#channels.keys()];
    this.#channels.clear();
    if (!this.#settings.owned) {
      // Your clients stay open: only this node's channels go (the node's unsubscribes came first;
      // these are an engine used alone). Not awaited: while Redis is away it would wait for it.
      if (channels.length > 0) this.#subscriber.unsubscribe(...channels).catch(nothing);
      return;
    }
    await Promise.all([quit(this.#publisher), quit(this.#subscriber)]);
  }

  #checkOpen(): void {
    if (this.#closing !== null) throw new BackplaneError("ERR_BACKPLANE_CLOSED", `Redis backplane of node ${this.#settings.nodeId} is closed`);
  }

  readonly #onMessage = (channel: string, text: string): void => {
    const handlers = this.#channels.get(channel);
    if (handlers === undefined) return; // Another user's channel on a shared subscriber, or one just left.
    for (const handler of [...handlers]) {
      try {
        handler.onMessage(text);
      } catch (error) {
        // ioredis's parser calls this: one handler must not stop the others or the connection.
        this.#settings.logger.error(`Redis backplane of node ${this.#settings.nodeId}: a handler of ${JSON.stringify(channel)} threw`, error);
      }
    }
  };

  #onClose(client: Redis): () => void {
    return () => {
      if (this.#closing !== null || this.#down.has(client)) return;
      this.#down.add(client);
      this.#settings.logger.warn(`Redis backplane of node ${this.#settings.nodeId}: the ${this.#role(client)} connection is down; reconnecting (publishes wait, at most maxPending)`);
    };
  }

  #onReady(client: Redis): () => void {
    return () => {
      if (this.#closing !== null || !this.#down.delete(client)) return;
      this.#settings.logger.warn(`Redis backplane of node ${this.#settings.nodeId}: the ${this.#role(client)} connection is back`);
    };
  }

  #role(client: Redis): string {
    return client === this.#publisher ? "publisher" : "subscriber";
  }

  #failed(what: string): (error: unknown) => void {
    return (error) => {
      if (this.#closing === null) this.#settings.logger.error(`Redis backplane of node ${this.#settings.nodeId}: ${what} failed`, error);
    };
  }
}

/** QUIT when connected (Redis answers what was sent before it); while Redis is unreachable, at once (what waits is rejected: lost). */
async function quit(client: Redis): Promise<void> {
  if (client.status === "ready") {
    try {
      await client.quit();
      return;
    } catch {
      // The connection went while quitting: disconnect below.
    }
  }
  client.disconnect();
}

function nothing(): void {}

function ignoreError(): void {}
