// The answer to a client's `{ presence: inbox }` on a topic's name (docs/api.md "Presence"): one
// value, who is here now, then the server releases the inbox's proxy. One answer and no stream,
// so that a client asking costs one message: a page that wants a live list asks again, or
// server code puts the events it watches on a topic of its own.
import type { Logger } from "../session/logger.js";
import type { RemoteChannel } from "../wire/remote-channel.js";
import type { PresenceAnswer } from "../wire/topic-messages.js";
import type { TopicPresence } from "./presence.js";

/** Puts who is here on `proxy`, once, and releases it. A list too large for the session's messages goes as the count alone. */
export function answerPresence(proxy: RemoteChannel<unknown>, topic: string, presence: TopicPresence | null, logger: Logger): void {
  const answer: PresenceAnswer = { presence: null };
  if (presence !== null) {
    // Only what is listed is copied: a topic of 100,000 entries answers its count without a list of them all.
    const listed = presence.list(presence.maxListed).map(listing);
    answer.presence = { topic, count: presence.size, entries: listed, more: presence.size - listed.length };
  }
  if (!putAndRelease(proxy, answer)) {
    // Over the session's message size, or too complex: the count still tells "how many".
    const { presence: whole } = answer;
    if (whole === null || !putAndRelease(proxy, { presence: { ...whole, entries: [], more: whole.count } })) {
      logger.warn(`topic ${JSON.stringify(topic)}: a presence answer could not be sent to a client`);
      proxy.close();
    }
  }
}

/** What a client sees of an entry: never the session id (see {@link PresenceAnswer}). */
function listing(entry: { node: string; key: string; principal: unknown }): { node: string; key: string; principal: unknown } {
  return { node: entry.node, key: entry.key, principal: entry.principal };
}

/** Puts `value` and releases the proxy once the put settles; false if the put threw at once (nothing sent). */
function putAndRelease(proxy: RemoteChannel<unknown>, value: PresenceAnswer): boolean {
  let sent: Promise<boolean>;
  try {
    sent = proxy.put(value);
  } catch {
    return false;
  }
  const release = (): void => {
    proxy.close();
  };
  sent.then(release, release);
  return true;
}
