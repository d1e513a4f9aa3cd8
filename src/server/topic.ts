// A topic on one server (docs/api.md "Topics"): a channel-like fan-out. A put reaches every
// subscriber, local channels of server code and clients' channels alike, encoded once for all
// of them (src/wire/pre-encoded.ts); each subscriber has its own bounded queue (fan-out.ts), so
// a put never waits for the slowest, and every subscriber sees the topic's one order. With a
// backplane (docs/api.md "More than one server"), a put is published once and every node, this
// one included, delivers it from the backplane to its own subscribers (topic-relay.ts).
import type { Backplane, BackplaneMessage, Unsubscribe } from "../backplane/backplane.js";
import type { Channel } from "../csp/channel.js";
import { WirechanRangeError } from "../csp/errors.js";
import type { Codec } from "../wire/codec.js";
import { type PreEncodedValue, preEncode } from "../wire/pre-encoded.js";
import { MAX_PACKET_NODES } from "../wire/protocol.js";
import { isRemoteChannel, type RemoteChannel } from "../wire/remote-channel.js";
import type { TopicDropCode, TopicDropped } from "../wire/topic-messages.js";
import { type DropReason, FanOut, type Listener, type ListenerPutOptions } from "./fan-out.js";
import { decodeTopicValue, readTopicBody, topicBody, topicSubject } from "./topic-relay.js";
import { answerPresence } from "./presence-answer.js";
import { resolvePresenceOptions } from "./presence-options.js";
import { TopicPresence } from "./presence.js";
import { resolveTopicOptions, type TopicOptions } from "./topic-options.js";
import type { Logger } from "../session/logger.js";
import type { Authorizer } from "./protocol/authorization.js";
import type { SessionInfo } from "./protocol/sessions.js";
import type { Envelope } from "./types.js";

/** What a topic needs of its server. */
export interface TopicHost {
  readonly codec: Codec;
  /** Largest packet the server sends, in UTF-8 bytes: a larger value is refused at `put`. */
  readonly maxMessageSize: number;
  /** Puts in flight to one target per session: `maxInFlight` above it would only wait. */
  readonly window: number;
  /** Where a request that could not be handled is reported (a bug: the topic goes on). */
  readonly logger: Logger;
  /** Where puts go to reach every node (this one included), or null: this node alone. */
  readonly backplane: Backplane | null;
  /** Whether a session may subscribe (the server's `authorize`, op `"subscribe"`). Default: every session may. */
  readonly allowed?: Authorizer;
}

/** One value on its way to the subscribers: as put (for local channels) and encoded once (for clients). */
interface TopicItem {
  readonly value: unknown;
  readonly encoded: PreEncodedValue;
  /** The `{ dropped }` a client gets last: a local channel is closed instead. */
  readonly farewell: boolean;
}

/**
 * A value that came from the backplane: its text is framed for sessions as it is, and server
 * code's local channels get it parsed, once per node, and only if one of them takes it.
 */
class RelayedItem implements TopicItem {
  readonly farewell = false;
  #value: { decoded: unknown } | null = null;

  constructor(
    readonly encoded: PreEncodedValue,
    private readonly codec: Codec,
  ) {}

  get value(): unknown {
    this.#value ??= { decoded: decodeTopicValue(this.encoded, this.codec) };
    return this.#value.decoded;
  }
}

/** The bytes a put frame adds around its value: `[seq,"p","target",…]` with a 16-digit seq and a reference id. */
const FRAME_SLACK = 64;

/** A local channel of server code: gets the very value put (no copy), and is closed when dropped. */
class LocalSubscriber implements Listener<TopicItem> {
  /** Unsubscribed: server code keeps its channel open. */
  #detached = false;
  /** Its presence entry, when it subscribed with a principal and the topic keeps presence. */
  presenceKey: string | undefined;

  constructor(readonly channel: Channel<unknown>) {}

  put(item: TopicItem, options?: ListenerPutOptions): Promise<boolean> {
    return item.farewell ? TAKEN : this.channel.put(item.value, options);
  }

  /** Leaves the channel open when the fan-out lets this subscriber go. */
  detach(): void {
    this.#detached = true;
  }

  close(): void {
    if (!this.#detached) this.channel.close();
  }
}

/** A client's channel: gets the value framed for its session from the text encoded once; released when dropped. */
class RemoteSubscriber implements Listener<TopicItem> {
  /** Its presence entry, when the topic keeps presence. */
  presenceKey: string | undefined;

  constructor(
    readonly proxy: RemoteChannel<unknown>,
    readonly session: string,
  ) {}

  put(item: TopicItem, options?: ListenerPutOptions): Promise<boolean> {
    return this.proxy.putEncoded(item.encoded, options);
  }

  close(): void {
    this.proxy.close();
  }
}

const TAKEN = Promise.resolve(true);

/** What a queued value weighs (`queueBytes`): its encoded text, counted once when it was put. */
function itemBytes(item: TopicItem): number {
  return item.encoded.bytes;
}

/**
 * A fan-out on one server, made by `server.topic<T>(name, options)`. Server code puts with
 * {@link Topic.put} and subscribes local channels with {@link Topic.subscribe}; a client
 * subscribes one of its channels by putting `{ subscribe: inbox }` on the topic's name
 * (`session.serverChan(name)`), and stops with `{ unsubscribe: inbox }`.
 */
export class Topic<T> {
  readonly #fan: FanOut<TopicItem>;
  readonly #options: Required<TopicOptions>;
  readonly #host: TopicHost;
  /** Each subscriber's listener, by its channel (a local channel or a client's proxy). */
  readonly #subscribers = new Map<object, LocalSubscriber | RemoteSubscriber>();
  /** Each session's subscribers: at most `maxSubscriptionsPerSession`, removed when the session ends. */
  readonly #bySession = new Map<string, Set<RemoteSubscriber>>();
  /** The `{ dropped }` of each code, encoded at most once per topic. */
  readonly #farewells = new Map<TopicDropCode, TopicItem>();
  #closed = false;
  /** This topic's subscription on the backplane, while it has one. */
  #relay: Unsubscribe | null = null;
  /** Left the backplane (its server closed): puts resolve false, as once closed. */
  #left = false;
  /**
   * Who is subscribed, on every node (docs/api.md "Presence"), or null when the topic option
   * `presence` is off (the default).
   */
  readonly presence: TopicPresence | null;

  /**
   * @internal Made by `server.topic`, which subscribes to the backplane first (so that a
   * refusal leaves the name free) and hands over the subscription, `relay`, whose messages it
   * passes to {@link Topic.relayed}, and with presence its presence subscription,
   * `presenceRelay`, whose messages go to `presence.relayed`. Throws a `TypeError` or
   * `RangeError` (`ERR_TOPIC_OPTION`, `ERR_PRESENCE_OPTION`) for an option that is not one its
   * docs allow.
   */
  constructor(
    readonly name: string,
    requests: Channel<Envelope<unknown>>,
    host: TopicHost,
    options: TopicOptions = {},
    relay: Unsubscribe | null = null,
    presenceRelay: Unsubscribe | null = null,
  ) {
    this.#host = host;
    this.#options = resolveTopicOptions(options, host.window, host.backplane !== null);
    const presence = resolvePresenceOptions(this.#options.presence);
    this.presence = presence === null ? null : new TopicPresence(name, host, presence, presenceRelay);
    const { queueLength, queueBytes, whenFull, maxInFlight } = this.#options;
    this.#fan = new FanOut<TopicItem>(
      // The topic counts its subscribers itself, to refuse past maxSubscribers with its own word.
      { queueLength, queueBytes, whenFull, maxInFlight, maxListeners: Number.MAX_SAFE_INTEGER },
      { onDrop: this.#onDrop, farewell: this.#farewellFor, sizeOf: itemBytes },
    );
    this.#relay = relay;
    void this.#serveRequests(requests);
  }

  /** Subscribers now, local and remote. */
  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** True once {@link Topic.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Puts `value` to every subscriber now, in the topic's one order, and resolves `true` at once
   * (`false` once the topic is closed): it never waits for a subscriber, except with `whenFull:
   * "backpressure"`, where it resolves once every subscriber's queue has room (at most 1,024
   * puts may wait: the next throws a `TooManyPendingError`). The value is encoded
   * for the wire once, whatever the number of clients; local subscribers get the value itself.
   * Throws synchronously, as a proxy's put does: a `TypeError` (`ERR_WIRE_VALUE`) for what JSON
   * cannot represent and for a channel inside the value (a reference is valid in one session
   * only), a `RangeError` (`ERR_MESSAGE_TOO_LARGE`, `ERR_VALUE_TOO_COMPLEX`) for a value too
   * large or too complex for one message. With a backplane, the value is published once and
   * delivered from it on every node, this one included (so a local subscriber gets a copy,
   * parsed once per node); `put` also throws the backplane's `BackplaneError`
   * (`ERR_BACKPLANE_FULL` when the engine is slow or down, `ERR_MEMORY_BUS_FULL`), and once
   * the server closed it resolves `false`.
   */
  put(value: T): Promise<boolean> {
    if (this.#closed || this.#left) return Promise.resolve(false);
    const encoded = preEncode(value, this.#host.codec);
    this.#checkSendable(encoded);
    const { backplane } = this.#host;
    if (backplane !== null) {
      // Delivered here too from the backplane, not now: so every node delivers in the
      // backplane's order, the same for a put made here and one made elsewhere.
      backplane.publish(topicSubject(this.name), topicBody(encoded, this.#host.codec));
      return TAKEN;
    }
    const item: TopicItem = { value, encoded, farewell: false };
    // "backpressure": the put waits until every subscriber's queue has room.
    if (this.#options.whenFull === "backpressure") return this.#fan.broadcastWhenRoom(item);
    this.#fan.broadcast(item);
    return TAKEN;
  }

  /**
   * Subscribes a local channel: it gets every value put from now on, until
   * {@link Topic.unsubscribe} or the topic's close; if it falls behind (policy `"disconnect"`),
   * or its put fails or resolves `false`, it is dropped and closed. True if subscribed (or
   * already), false once the topic is closed. With `{ principal }` and the topic's presence on,
   * the subscription is a presence entry (session null) with that principal. Throws a
   * `RangeError` (`ERR_TOO_MANY_SUBSCRIBERS`) at `maxSubscribers`.
   */
  subscribe(channel: Channel<T>, options: { principal?: unknown } = {}): boolean {
    if (this.#subscribers.has(channel)) return true;
    if (this.#closed) return false;
    if (this.#subscribers.size >= this.#options.maxSubscribers) {
      throw new WirechanRangeError("ERR_TOO_MANY_SUBSCRIBERS", `topic ${JSON.stringify(this.name)} has ${this.#options.maxSubscribers} subscribers (maxSubscribers)`);
    }
    const subscriber = new LocalSubscriber(channel as Channel<unknown>);
    this.#subscribers.set(channel, subscriber);
    this.#fan.add(subscriber);
    if (options.principal !== undefined) subscriber.presenceKey = this.presence?.track(null, options.principal);
    return true;
  }

  /** Ends a local channel's subscription, without closing it. True if it was subscribed. */
  unsubscribe(channel: Channel<T>): boolean {
    const subscriber = this.#subscribers.get(channel);
    if (!(subscriber instanceof LocalSubscriber)) return false;
    // Forgotten before the fan-out drops it, which would close the channel.
    subscriber.detach();
    this.#fan.remove(subscriber);
    return true;
  }

  /**
   * Closes the topic: later puts resolve `false`, local subscribers' channels are closed, each
   * client's inbox gets `{ dropped }` (`ERR_TOPIC_CLOSED`) and its proxy is released. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopRelay();
    // First: one goodbye tells the other nodes, rather than a leave per subscriber.
    this.presence?.close();
    this.#fan.close(this.#farewell("ERR_TOPIC_CLOSED"));
  }

  /**
   * @internal Its server closed: the topic stops hearing the backplane and its puts resolve
   * `false`; the other nodes go on. Its subscribers stay (the server ends their sessions).
   */
  leaveBackplane(): void {
    this.#left = true;
    this.#stopRelay();
    this.presence?.leave();
  }

  #stopRelay(): void {
    this.#relay?.();
    this.#relay = null;
  }

  /** @internal A put from the backplane (made on any node, this one included): to this node's subscribers. */
  relayed(message: BackplaneMessage): void {
    if (this.#closed || this.#left) return;
    const encoded = readTopicBody(message.body, this.#host.codec);
    if (encoded === null) {
      this.#host.logger.warn(`topic ${JSON.stringify(this.name)}: a value from node ${message.from} was not written by this codec (${this.#host.codec.name}); dropped`);
      return;
    }
    this.#fan.broadcast(new RelayedItem(encoded, this.#host.codec));
  }

  /** @internal The session `id` ended: its subscriptions go with it (its proxies are closed already). */
  sessionEnded(id: string): void {
    const subscribers = this.#bySession.get(id);
    if (subscribers === undefined) return;
    for (const subscriber of [...subscribers]) this.#fan.remove(subscriber);
  }

  /** Refuses a value no session could be sent: the same checks a put makes, against the server's own limit. */
  #checkSendable(encoded: PreEncodedValue): void {
    const { maxMessageSize } = this.#host;
    if (encoded.bytes + FRAME_SLACK > maxMessageSize) {
      throw new WirechanRangeError("ERR_MESSAGE_TOO_LARGE", `a value of ${encoded.bytes} bytes (UTF-8, encoded) put to topic ${JSON.stringify(this.name)} does not fit in one message (maxMessageSize ${maxMessageSize} bytes)`);
    }
    if (encoded.nodes + 2 > MAX_PACKET_NODES) {
      throw new WirechanRangeError("ERR_VALUE_TOO_COMPLEX", `a value of ${encoded.nodes} arrays and objects is over the protocol's limit of ${MAX_PACKET_NODES - 2} per message`);
    }
  }

  /** Reads the clients' requests on the topic's name until the channel closes. */
  async #serveRequests(requests: Channel<Envelope<unknown>>): Promise<void> {
    for (let request = await requests.take(); request !== undefined; request = await requests.take()) {
      try {
        this.#onRequest(request);
      } catch (error) {
        // One request must not end the loop that serves every client's.
        this.#host.logger.error(`topic ${JSON.stringify(this.name)}: a request could not be handled:`, error);
      }
    }
  }

  /**
   * `{ subscribe: inbox }` or `{ unsubscribe: inbox }` from a client. Anything else is ignored:
   * there is nobody to answer. Only a client's own channel (a proxy) can subscribe: a server
   * channel sent back by a client would make the topic put into server code's channel.
   */
  #onRequest({ value, session }: Envelope<unknown>): void {
    if (typeof value !== "object" || value === null) return;
    const request = value as { subscribe?: unknown; unsubscribe?: unknown; presence?: unknown };
    if (isRemoteChannel(request.subscribe)) this.#subscribeRemote(request.subscribe, session);
    else if (isRemoteChannel(request.unsubscribe)) this.#unsubscribeRemote(request.unsubscribe);
    else if (isRemoteChannel(request.presence)) this.#answerPresence(request.presence, session);
  }

  #subscribeRemote(proxy: RemoteChannel<unknown>, info: SessionInfo): void {
    if (this.#subscribers.has(proxy)) return;
    const session = info.id;
    const refusal = this.#refusalFor(info);
    if (refusal !== null) {
      // Told, then released: nothing else of the topic will come to this inbox.
      sendQuietly(new RemoteSubscriber(proxy, session), this.#farewell(refusal));
      proxy.close();
      return;
    }
    const subscriber = new RemoteSubscriber(proxy, session);
    this.#subscribers.set(proxy, subscriber);
    const ofSession = this.#bySession.get(session) ?? new Set<RemoteSubscriber>();
    ofSession.add(subscriber);
    this.#bySession.set(session, ofSession);
    this.#fan.add(subscriber);
    subscriber.presenceKey = this.presence?.track(info, undefined);
  }

  /** `{ presence: inbox }`: who is here, once, to whoever may subscribe (asked as a subscribe is). */
  #answerPresence(proxy: RemoteChannel<unknown>, info: SessionInfo): void {
    if (this.#host.allowed !== undefined && !this.#host.allowed(info, this.name, "subscribe")) {
      sendQuietly(new RemoteSubscriber(proxy, info.id), this.#farewell("ERR_FORBIDDEN"));
      proxy.close();
      return;
    }
    answerPresence(proxy, this.name, this.presence, this.#host.logger);
  }

  /** Why a subscription from `info`'s session is refused now, or null. */
  #refusalFor(info: SessionInfo): TopicDropCode | null {
    const session = info.id;
    if (this.#closed) return "ERR_TOPIC_CLOSED";
    // Asked before the limits, so that a refused principal never learns how full the topic is.
    if (this.#host.allowed !== undefined && !this.#host.allowed(info, this.name, "subscribe")) return "ERR_FORBIDDEN";
    if (this.#subscribers.size >= this.#options.maxSubscribers) return "ERR_TOO_MANY_SUBSCRIBERS";
    if ((this.#bySession.get(session)?.size ?? 0) >= this.#options.maxSubscriptionsPerSession) return "ERR_TOO_MANY_SUBSCRIPTIONS";
    return null;
  }

  #unsubscribeRemote(proxy: RemoteChannel<unknown>): void {
    const subscriber = this.#subscribers.get(proxy);
    // The fan-out releases the proxy; a proxy never subscribed is released here.
    if (subscriber instanceof RemoteSubscriber) this.#fan.remove(subscriber);
    else proxy.close();
  }

  /** The fan-out let a subscriber go (behind, failed, closed, removed): forget it. */
  readonly #onDrop = (listener: Listener<TopicItem>, _reason: DropReason): void => {
    this.#forget(listener as LocalSubscriber | RemoteSubscriber);
  };

  #forget(subscriber: LocalSubscriber | RemoteSubscriber): void {
    if (subscriber.presenceKey !== undefined) this.presence?.untrack(subscriber.presenceKey);
    if (subscriber instanceof LocalSubscriber) {
      if (this.#subscribers.get(subscriber.channel) === subscriber) this.#subscribers.delete(subscriber.channel);
      return;
    }
    this.#subscribers.delete(subscriber.proxy);
    const ofSession = this.#bySession.get(subscriber.session);
    ofSession?.delete(subscriber);
    if (ofSession?.size === 0) this.#bySession.delete(subscriber.session);
  }

  /** The last word of a subscriber the fan-out drops as behind or failed. */
  readonly #farewellFor = (reason: DropReason): TopicItem | undefined =>
    reason === "behind" ? this.#farewell("ERR_SUBSCRIBER_BEHIND") : reason === "failed" ? this.#farewell("ERR_SUBSCRIBER_FAILED") : undefined;

  #farewell(code: TopicDropCode): TopicItem {
    const known = this.#farewells.get(code);
    if (known !== undefined) return known;
    const value: TopicDropped = { dropped: { topic: this.name, code, reason: DROP_REASONS[code] } };
    const item: TopicItem = { value, encoded: preEncode(value, this.#host.codec), farewell: true };
    this.#farewells.set(code, item);
    return item;
  }
}

/** What each drop code says, in words, to the client. */
const DROP_REASONS: Record<TopicDropCode, string> = {
  ERR_SUBSCRIBER_BEHIND: "this inbox fell behind the topic (its queue was full: queueLength values or queueBytes bytes) and was dropped; subscribe again",
  ERR_SUBSCRIBER_FAILED: "a value of the topic could not be sent to this inbox (too large for this session's messages); it was dropped",
  ERR_TOO_MANY_SUBSCRIBERS: "the topic has as many subscribers as it takes (maxSubscribers)",
  ERR_TOO_MANY_SUBSCRIPTIONS: "this session has as many subscriptions to the topic as it may (maxSubscriptionsPerSession)",
  ERR_TOPIC_CLOSED: "the topic was closed",
  ERR_FORBIDDEN: "the server does not allow this session to subscribe to the topic (authorize)",
};

/** A put nobody waits for (a farewell): one too large or to a session gone leaves without the word. */
function sendQuietly(subscriber: RemoteSubscriber, item: TopicItem): void {
  try {
    subscriber.put(item).catch(ignore);
  } catch {
    // The session is gone, or its proxy full of waiting puts: it leaves without the word.
  }
}

function ignore(): void {
  // Nobody waits for a farewell's answer.
}
