// The options of a server topic (`server.topic(name, options)`, docs/api.md "Topics"): the one
// defaults object, and the check that refuses a bad option before the topic's name is taken.
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { WHEN_FULL_POLICIES, type WhenFull } from "./fan-out.js";
import { type PresenceOptions, resolvePresenceOptions } from "./presence-options.js";

/** The options of `server.topic(name, options)`; defaults in {@link topicDefaults}. */
export interface TopicOptions {
  /**
   * Values waiting for one subscriber, past the `maxInFlight` already put to it. Default 256.
   */
  queueLength?: number;
  /**
   * Bytes waiting for one subscriber (each value's encoded text, in UTF-8), past those in
   * flight: its queue is full at this many too, whatever its length, and `whenFull` decides as
   * for `queueLength`. A value is queued while the queue is under it, so a stalled subscriber
   * holds at most this plus one value; a value is shared by every subscriber, and this bounds
   * what one that stalls keeps alive after the others took it. Default 4 MiB.
   */
  queueBytes?: number;
  /**
   * What becomes of a subscriber whose queue is full when a value comes. `"disconnect"` (the
   * default): it is dropped; a client's inbox gets `{ dropped }` (code `ERR_SUBSCRIBER_BEHIND`)
   * after what was already on its way, a local channel is closed. `"drop-oldest"`: the oldest
   * value of its queue makes room, and it stays (it misses values, never the newest).
   */
  whenFull?: WhenFull;
  /**
   * Puts to one subscriber made and not yet answered: a client's put is answered after a round
   * trip, so several go at once. Below the server's `window` (one put of credit is left for
   * the `{ dropped }` word). Default 64, or `window - 1` when the window is smaller.
   */
  maxInFlight?: number;
  /** Subscribers at once, local and remote. Default 10,000. */
  maxSubscribers?: number;
  /** Subscriptions one session holds on this topic at once. Default 4. */
  maxSubscriptionsPerSession?: number;
  /**
   * Keep the topic's presence (`topic.presence`: who is subscribed, on every node, with join
   * and leave events): `true` with the defaults of `presenceDefaults`, or its options. Default
   * `false`: none, and nothing of it crosses the backplane.
   */
  presence?: boolean | PresenceOptions;
}

/** Every default of {@link TopicOptions}. */
export const topicDefaults: Required<TopicOptions> = {
  queueLength: 256,
  queueBytes: 4 * 1024 * 1024,
  whenFull: "disconnect",
  maxInFlight: 64,
  maxSubscribers: 10_000,
  maxSubscriptionsPerSession: 4,
  presence: false,
};

/**
 * The options with their defaults, checked. `acrossNodes`: the server has a backplane, where
 * `whenFull: "backpressure"` cannot hold (a put would have to wait for every node's
 * subscribers), so it is refused.
 */
export function resolveTopicOptions(options: TopicOptions, window: number, acrossNodes = false): Required<TopicOptions> {
  const resolved = { ...topicDefaults, maxInFlight: Math.max(1, Math.min(topicDefaults.maxInFlight, window - 1)), ...options };
  for (const name of ["queueLength", "queueBytes", "maxInFlight", "maxSubscribers", "maxSubscriptionsPerSession"] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) throw new WirechanRangeError("ERR_TOPIC_OPTION", `topic option ${name} must be a positive integer, got ${String(value)}`);
  }
  // Below the window, not at it: a dropped subscriber's farewell needs credit left to be sent at once.
  if (options.maxInFlight !== undefined && resolved.maxInFlight >= window) throw new WirechanRangeError("ERR_TOPIC_OPTION", `topic option maxInFlight (${resolved.maxInFlight}) must be below the server's window (${window})`);
  if (!WHEN_FULL_POLICIES.includes(resolved.whenFull)) {
    throw new WirechanTypeError("ERR_TOPIC_OPTION", `topic option whenFull must be one of ${WHEN_FULL_POLICIES.map((p) => JSON.stringify(p)).join(", ")}, got ${JSON.stringify(resolved.whenFull)}`);
  }
  // Checked here too, so that a bad presence option leaves the topic's name free.
  resolvePresenceOptions(resolved.presence);
  if (acrossNodes && resolved.whenFull === "backpressure") {
    throw new WirechanTypeError("ERR_TOPIC_OPTION", `topic option whenFull "backpressure" is not available with a backplane: a put cannot wait for the subscribers of other nodes; use "disconnect" or "drop-oldest"`);
  }
  return resolved;
}
