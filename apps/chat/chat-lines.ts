/**
 * How the chat's lines reach every room (docs/apps.md "Running more than one server"): a topic,
 * `server.topic`, which crosses nodes when the server has a backplane and stays in the process
 * when it has none, so the chat has one way of working, not two. A line accepted by one node's
 * room is put once on the topic (encoded once for the whole cluster); every node's room,
 * this one's included, gets it from the topic's local subscriber, in the order the engine
 * delivered it to that node, and keeps and shows it (a line whose id it has is dropped there, so a
 * line put twice by two nodes shows once). With a backplane, the accepting node also appends the
 * line to the engine's log, bounded by `historyLines`, which a node that starts later reads.
 *
 * Why a topic and not the backplane's publish/subscribe by hand: the topic already frames,
 * bounds (`ERR_BACKPLANE_FULL`) and delivers in one order per node, and without a backplane it
 * is the same object: no second path to test.
 */
import { chan, type Channel } from "../../src/index.js";
import type { Logger, Topic, WirechanServer } from "../../src/server/index.js";
import { EngineLog, parseJson } from "../shared/engine-log.js";
import { ThrottledWarning } from "../shared/throttled-warning.js";
import { type ChatLine, readChatLine } from "./chat-messages.js";

/** The chat's topics and log: private to the apps (private-topics.ts). */
export const CHAT_NAMES = {
  lines: "apps.chat.lines",
  here: "apps.chat.here",
  history: "apps.chat.history",
} as const;

/** Where a room's accepted lines go: to every room, this one's included. */
export interface LineBus {
  /** Sends `line` to every room; returns why it could not (a page is told), or null. Never throws. */
  publish(line: ChatLine): string | null;
}

export interface TopicLinesOptions {
  /** Lines the engine's log keeps. */
  historyLines: number;
  /** Lines waiting for this node's room: past it the oldest are dropped (a flood), never the room's subscription. */
  queueLength: number;
  logger: Logger;
}

/** The chat's {@link LineBus} over the topic {@link CHAT_NAMES}.lines, and the engine's log. */
export class TopicLines implements LineBus {
  readonly #topic: Topic<ChatLine>;
  readonly #incoming: Channel<ChatLine>;
  readonly #log: EngineLog<ChatLine> | null;
  readonly #foreign: ThrottledWarning;

  constructor(server: WirechanServer, options: TopicLinesOptions) {
    // drop-oldest: the room's own loop is the only subscriber (clients may not subscribe), and it
    // must stay subscribed whatever the flood: missing old lines beats missing every later one.
    this.#topic = server.topic<ChatLine>(CHAT_NAMES.lines, { whenFull: "drop-oldest", queueLength: options.queueLength });
    this.#incoming = chan<ChatLine>(options.queueLength);
    // Subscribed now, before the log is read: a line said meanwhile waits here, and the history
    // (which drops ids it has) takes it after the log's.
    this.#topic.subscribe(this.#incoming);
    const { backplane } = server.options;
    this.#log = backplane === null ? null : new EngineLog(backplane, CHAT_NAMES.history, options.historyLines, readLoggedLine, options.logger);
    this.#foreign = new ThrottledWarning(options.logger, `chat: a value on ${CHAT_NAMES.lines} that is not a line was dropped`);
  }

  publish(line: ChatLine): string | null {
    try {
      void this.#topic.put(line);
    } catch (error) {
      // The engine is slow or down (ERR_BACKPLANE_FULL), or the line is too large for a message.
      return `the chat could not send this line now (${error instanceof Error ? error.message : String(error)}); try again`;
    }
    this.#log?.append(JSON.stringify(line));
    return null;
  }

  /** The engine's log, oldest first ([] without a backplane: one process keeps its history in memory). */
  async history(): Promise<ChatLine[]> {
    return (await this.#log?.read()) ?? [];
  }

  /** Hands every line of the topic to `onLine`, in the order this node got them, until {@link close}. */
  async follow(onLine: (line: ChatLine) => void): Promise<void> {
    for await (const value of this.#incoming) {
      const line = readChatLine(value);
      if (line === null) this.#foreign.note(typeof value);
      else onLine(line);
    }
  }

  close(): void {
    this.#topic.close();
  }
}

function readLoggedLine(text: string): ChatLine | null {
  return readChatLine(parseJson(text));
}
