/**
 * The chat's messages, as docs/apps.md sets them down ("Chat: the messages"): what a page puts
 * on the named server channel "chat", and what it gets on the inbox it joined with.
 */
import type { Listener } from "../../src/server/fan-out.js";

/** A line as a page says it: `id` unique per line, chosen by the page. */
export interface Say {
  id: string;
  nick: string;
  text: string;
}

/** A line of the room: what the server kept of a `Say`, with the time it took it. */
export interface ChatLine {
  id: string;
  nick: string;
  text: string;
  /** Set by the server: ms since the epoch. */
  ts: number;
}

/** What a page's inbox gets. */
export type ChatEvent =
  /** On join, in batches under the batch limit; `done` on the last (also when it is empty). */
  | { history: ChatLine[]; done: boolean }
  /** Each new line, after the history. */
  | { line: ChatLine }
  /**
   * Who is here: the nicknames of the pages in the room, on every node (each once, sorted, at
   * most `maxHereListed`; `more` counts those left out). Sent whenever it changes.
   */
  | { here: HereList }
  /** A line of this session that the server refused, with a reason a page can show. */
  | { refused: { id: string; reason: string } }
  /**
   * The last event of an inbox the server dropped (it fell too far behind): close it and join
   * again. The server cannot close a page's channel itself, only stop using it.
   */
  | { dropped: { reason: string } };

/** Who is here (the `here` event). */
export interface HereList {
  nicks: string[];
  more: number;
}

/** A page's inbox: its own channel (a proxy of it, on the server) or a local one. */
export type ChatInbox = Listener<ChatEvent>;

/**
 * What a page puts on "chat". `nick` with a join is how "who is here" lists the page until it
 * says a line under another nickname (then that one); without it, or past the nickname's
 * limits, the page is listed as {@link GUEST_NICK}.
 */
export type ChatRequest = { join: ChatInbox; nick?: string } | { say: Say };

/** How "who is here" lists a page that joined without a nickname it could use. */
export const GUEST_NICK = "guest";

/** A line as it crossed between nodes or was kept in the engine's log, checked: null for anything else. */
export function readChatLine(value: unknown): ChatLine | null {
  if (typeof value !== "object" || value === null) return null;
  const { id, nick, text, ts } = value as Partial<Record<keyof ChatLine, unknown>>;
  if (typeof id !== "string" || typeof nick !== "string" || typeof text !== "string" || typeof ts !== "number") return null;
  return { id, nick, text, ts };
}
