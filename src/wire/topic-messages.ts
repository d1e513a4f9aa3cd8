// What a client and a server topic say to each other (docs/api.md "Topics"): the requests a client
// puts on the topic's name, and the last event a subscriber's inbox gets when the server drops
// it. Types only, shared by both ends so that neither writes them twice.

/**
 * What a client puts on a topic's name (`session.serverChan(name)`) to start or stop getting
 * its values in `inbox`, one of its own channels. The put resolves `true` once the topic has
 * the request; a subscription it refuses is told in the inbox ({@link TopicDropped}).
 */
export type TopicRequest<T> = { subscribe: TopicInbox<T> } | { unsubscribe: TopicInbox<T> } | { presence: PresenceInbox };

/** A channel of the client's that gets one {@link PresenceAnswer} (or a {@link TopicDropped} refusal), then is released. */
export type PresenceInbox = { put(value: PresenceAnswer | TopicDropped): Promise<boolean> };

/**
 * What a client's `{ presence: inbox }` gets (docs/api.md "Presence"): who is subscribed to the
 * topic now, on every node, or `presence: null` when the topic keeps no presence. `count` is
 * every entry; `entries` at most the topic's `maxListed` of them, `more` the rest. Session ids
 * are not listed: a client learns principals (what the server's `principalOf` shows), not
 * other clients' sessions.
 */
export interface PresenceAnswer {
  presence: { topic: string; count: number; entries: Array<{ node: string; key: string; principal: unknown }>; more: number } | null;
}

/** A subscriber's channel as its client sees it: the topic's values, then perhaps one {@link TopicDropped}. */
export type TopicInbox<T> = { put(value: T | TopicDropped): Promise<boolean> };

/**
 * Why the server stopped sending to a subscriber:
 * - `ERR_SUBSCRIBER_BEHIND`: its queue was full (`queueLength`, policy `"disconnect"`);
 * - `ERR_SUBSCRIBER_FAILED`: a value could not be sent to it (too large for its session's messages);
 * - `ERR_TOO_MANY_SUBSCRIBERS`: the topic has `maxSubscribers` (the subscription was refused);
 * - `ERR_TOO_MANY_SUBSCRIPTIONS`: its session has `maxSubscriptionsPerSession` on this topic (refused);
 * - `ERR_TOPIC_CLOSED`: the server closed the topic;
 * - `ERR_FORBIDDEN`: the server's `authorize` refused the subscription.
 */
export type TopicDropCode = "ERR_SUBSCRIBER_BEHIND" | "ERR_SUBSCRIBER_FAILED" | "ERR_TOO_MANY_SUBSCRIBERS" | "ERR_TOO_MANY_SUBSCRIPTIONS" | "ERR_TOPIC_CLOSED" | "ERR_FORBIDDEN";

/**
 * The last event a client's inbox gets from a topic that dropped or refused it; nothing follows.
 * Only its owner can close a channel (docs/protocol.md section 5), so the server says so instead
 * and releases its proxy: the client closes its inbox, and subscribes again if it wants.
 */
export interface TopicDropped {
  dropped: { topic: string; code: TopicDropCode; reason: string };
}

/** Whether a value an inbox took is the topic's last word ({@link TopicDropped}). */
export function isTopicDropped(value: unknown): value is TopicDropped {
  if (typeof value !== "object" || value === null || !("dropped" in value)) return false;
  const dropped = (value as { dropped: unknown }).dropped;
  return typeof dropped === "object" && dropped !== null && "code" in dropped && "topic" in dropped;
}
