/**
 * The chat's state on one node and what each input does to it: joins, lines, refusals. `handle`
 * never waits (the fan-out queues, per listener), so the loop feeding it takes the next request
 * at once whatever any page does. A line it accepts goes out on its {@link LineBus} and comes
 * back through {@link ChatRoom.receive} (on every node, with the topic of chat-lines.ts), where it
 * is kept and shown: a room shows what the bus delivered, in that order.
 */
import { type DropReason, FanOut, putQuietly } from "../../src/server/fan-out.js";
import { SessionInboxes } from "../shared/session-inboxes.js";
import { ThrottledWarning } from "../shared/throttled-warning.js";
import { TokenBuckets } from "../shared/token-buckets.js";
import type { ChatInput } from "./chat-input.js";
import type { Topic } from "../../src/server/index.js";
import { ChatHere } from "./chat-here.js";
import { ChatHistory } from "./chat-history.js";
import type { LineBus } from "./chat-lines.js";
import type { ChatEvent, ChatInbox, ChatLine } from "./chat-messages.js";
import type { ResolvedChatOptions } from "./chat-options.js";

/** What a dropped page is told: its inbox will hear nothing more, so it closes it and joins again. */
function chatFarewell(reason: DropReason): ChatEvent {
  return { dropped: { reason: reason === "behind" ? "this page fell too far behind; join again" : "this page could not be sent a line; join again" } };
}

/** What a room is wired to besides its pages; each has a default for a room on its own (tests). */
export interface RoomWiring {
  /** Where accepted lines go. Default: straight back to this room, at once. */
  lines?: LineBus;
  /** The topic whose presence says who is here, across nodes (chat-here.ts); default none (no `here` events). */
  hereTopic?: Topic<never> | null;
}

/** One chat room: its history and its listeners. */
export class ChatRoom {
  readonly history: ChatHistory;
  private readonly listeners: FanOut<ChatEvent>;
  /** The inboxes each session joined with: where its refusals go, at most maxJoinsPerSession each. */
  private readonly joins: SessionInboxes<ChatInbox>;
  private readonly ignoring: ThrottledWarning;
  /** Each session's allowance of lines (lineBurst, then linesPerSecond). */
  private readonly allowance: TokenBuckets;
  /** Each client address's, over all its sessions (addressLineBurst, addressLinesPerSecond). */
  private readonly addressAllowance: TokenBuckets;

  private readonly lines: LineBus;
  private readonly here: ChatHere | null;

  constructor(
    private readonly options: ResolvedChatOptions,
    private readonly now: () => number = Date.now,
    wiring: RoomWiring = {},
  ) {
    this.lines = wiring.lines ?? { publish: this.receiveAtOnce };
    const hereTopic = wiring.hereTopic ?? null;
    this.here = hereTopic === null ? null : new ChatHere(hereTopic, options.maxHereListed, this.hereChanged, options.logger);
    this.history = new ChatHistory(options.historyLines, options.historyBytes);
    this.joins = new SessionInboxes(options.maxJoinsPerSession);
    this.ignoring = new ThrottledWarning(options.logger, "chat: ignored a request");
    this.allowance = new TokenBuckets(options.linesPerSecond, options.lineBurst, options.maxListeners, now);
    this.addressAllowance = new TokenBuckets(options.addressLinesPerSecond, options.addressLineBurst, options.maxListeners, now);
    this.listeners = new FanOut<ChatEvent>({ queueLength: options.queueLength, maxListeners: options.maxListeners }, { onDrop: this.onDrop, farewell: chatFarewell });
  }

  /** Listeners now. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Requests ignored so far (not chat requests at all). */
  get ignored(): number {
    return this.ignoring.noted;
  }

  handle(input: ChatInput): void {
    switch (input.kind) {
      case "join":
        return this.join(input.inbox, input.session, input.nick);
      case "say":
        return this.say(input);
      case "refused":
        return this.refuse(input.session, { refused: { id: input.id, reason: input.reason } });
      case "ignored":
        return this.ignore(input.why);
    }
  }

  /** Closes every listener's inbox; later joins get theirs closed at once. */
  close(): void {
    this.listeners.close();
    this.here?.close();
  }

  /**
   * A line from the bus (said on this node or another): kept and shown to every listener here,
   * unless its id is in the history already (a page resending a line it was unsure of, through
   * another node, must not make it show twice).
   */
  receive(line: ChatLine): void {
    if (this.history.add(line)) this.listeners.broadcast({ line });
  }

  /** Lines of the engine's log, oldest first, before any join: the history a node starts with. */
  load(lines: readonly ChatLine[]): void {
    for (const line of lines) this.history.add(line);
  }

  /** Who is here changed (on any node): every listener here gets the list. */
  private readonly hereChanged = (): void => {
    if (this.here !== null) this.listeners.broadcast({ here: this.here.list() });
  };

  private readonly receiveAtOnce = (line: ChatLine): null => {
    this.receive(line);
    return null;
  };

  private join(inbox: ChatInbox, session: string, nick: string | undefined): void {
    if (this.listeners.has(inbox)) return this.ignore("joined twice with the same inbox");
    const oldest = this.joins.oldestOver(session);
    if (oldest !== undefined) this.listeners.remove(oldest);
    if (this.listeners.size >= this.options.maxListeners) return this.full(inbox);
    if (!this.listeners.add(inbox)) return;
    this.joins.add(session, inbox);
    const batches = this.history.batches(this.options.batchBytes);
    batches.forEach((history, i) => this.listeners.send(inbox, { history, done: i === batches.length - 1 }));
    // Its entry joins the room's presence: every node's pages, this one included, get the new list.
    this.here?.enter(inbox, nick);
  }

  /**
   * The room is full: the newcomer is told why, once, and its inbox released. Not `dropped`,
   * which asks the page to join again at once: it would come straight back.
   */
  private full(inbox: ChatInbox): void {
    const reason = `the chat is full (${this.options.maxListeners} listeners, maxListeners): try again later`;
    putQuietly(inbox, { refused: { id: "", reason } });
    inbox.close();
  }

  private say(input: Extract<ChatInput, { kind: "say" }>): void {
    if (!this.allowance.take(input.session)) {
      const reason = `too many lines: at most ${this.options.lineBurst} at once, then ${this.options.linesPerSecond} a second (lineBurst, linesPerSecond)`;
      return this.refuse(input.session, { refused: { id: input.say.id, reason } });
    }
    if (!this.addressAllowance.take(input.address)) {
      const reason = `too many lines from this address: at most ${this.options.addressLineBurst} at once, then ${this.options.addressLinesPerSecond} a second (addressLineBurst, addressLinesPerSecond)`;
      return this.refuse(input.session, { refused: { id: input.say.id, reason } });
    }
    // A page resending a line it is unsure of (its session was lost) must not show it twice.
    if (this.history.has(input.say.id)) return;
    this.here?.rename(this.joins.of(input.session), input.say.nick);
    const refusal = this.lines.publish({ ...input.say, ts: this.now() });
    if (refusal !== null) this.refuse(input.session, { refused: { id: input.say.id, reason: refusal } });
  }

  private refuse(session: string, event: ChatEvent): void {
    for (const inbox of this.joins.of(session)) this.listeners.send(inbox, event);
  }

  private ignore(why: string): void {
    this.ignoring.note(why);
  }

  private readonly onDrop = (inbox: ChatInbox, reason: DropReason, error?: unknown): void => {
    this.joins.remove(inbox);
    this.here?.leave(inbox);
    if (reason === "failed") this.options.logger.warn("chat: dropped a listener whose put failed", error);
  };
}
