/**
 * "Who is here" in the chat: each page in the room is an entry of the presence of the topic
 * {@link CHAT_NAMES}.here (server code's subscription, with the page's nickname as its
 * principal), so every node lists every node's pages (docs/api.md "Presence"). A page is listed
 * under its join's nickname until it says a line under another one. The list a page gets is the
 * distinct nicknames, sorted, at most `maxListed`.
 */
import { chan, type Channel } from "../../src/index.js";
import type { Logger, Topic } from "../../src/server/index.js";
import { PresenceTally } from "../shared/presence-tally.js";
import { type ChatInbox, GUEST_NICK, type HereList } from "./chat-messages.js";

interface Listed {
  /** The page's presence entry: a channel the topic never puts on (it carries no values). */
  entry: Channel<never>;
  nick: string;
}

export class ChatHere {
  /** One per listener of this node's room: bounded as the room's listeners (maxListeners). */
  readonly #pages = new Map<ChatInbox, Listed>();
  readonly #tally: PresenceTally;

  constructor(
    private readonly topic: Topic<never>,
    private readonly maxListed: number,
    /** Called at most once per turn when the list may have changed, on any node. */
    onChange: () => void,
    logger: Logger,
  ) {
    const presence = topic.presence;
    if (presence === null) throw new TypeError("ChatHere: the topic needs its presence on");
    this.#tally = new PresenceTally(presence, onChange, logger);
  }

  /** `inbox` joined as `nick` (or the guest's name). */
  enter(inbox: ChatInbox, nick: string | undefined): void {
    if (this.#pages.has(inbox)) return;
    this.#pages.set(inbox, this.#track(nick ?? GUEST_NICK));
  }

  /** The pages of a session said a line as `nick`: they are listed so from now on. */
  rename(inboxes: Iterable<ChatInbox>, nick: string): void {
    for (const inbox of inboxes) {
      const listed = this.#pages.get(inbox);
      if (listed === undefined || listed.nick === nick) continue;
      // An entry's principal never changes: the old entry leaves and a new one joins, in one turn (one delta).
      this.topic.unsubscribe(listed.entry);
      this.#pages.set(inbox, this.#track(nick));
    }
  }

  leave(inbox: ChatInbox): void {
    const listed = this.#pages.get(inbox);
    if (listed === undefined) return;
    this.#pages.delete(inbox);
    this.topic.unsubscribe(listed.entry);
  }

  /** Who is here now, every node's pages. */
  list(): HereList {
    const nicks = new Set<string>();
    for (const entry of this.#tally.entries()) {
      const nick = (entry.principal as { nick?: unknown } | null)?.nick;
      if (typeof nick === "string") nicks.add(nick);
    }
    const sorted = [...nicks].sort((a, b) => a.localeCompare(b));
    return { nicks: sorted.slice(0, this.maxListed), more: Math.max(0, sorted.length - this.maxListed) };
  }

  close(): void {
    this.#tally.close();
  }

  #track(nick: string): Listed {
    const entry = chan<never>(1);
    this.topic.subscribe(entry, { principal: { nick } });
    return { entry, nick };
  }
}
