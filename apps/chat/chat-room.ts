/**
 * The chat's state and what each input does to it: joins, lines, refusals. `handle` never
 * waits (the fan-out queues, per listener), so the loop feeding it takes the next request at
 * once whatever any page does.
 */
import { type DropReason, FanOut, putQuietly } from "../../src/server/fan-out.js";
import { SessionInboxes } from "../shared/session-inboxes.js";
import { ThrottledWarning } from "../shared/throttled-warning.js";
import { TokenBuckets } from "../shared/token-buckets.js";
import type { ChatInput } from "./chat-input.js";
import { ChatHistory } from "./chat-history.js";
import type { ChatEvent, ChatInbox } from "./chat-messages.js";
import type { ResolvedChatOptions } from "./chat-options.js";

/** What a dropped page is told: its inbox will hear nothing more, so it closes it and joins again. */
function chatFarewell(reason: DropReason): ChatEvent {
  return { dropped: { reason: reason === "behind" ? "this page fell too far behind; join again" : "this page could not be sent a line; join again" } };
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

  constructor(
    private readonly options: ResolvedChatOptions,
    private readonly now: () => number = Date.now,
  ) {
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
        return this.join(input.inbox, input.session);
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
  }

  private join(inbox: ChatInbox, session: string): void {
    if (this.listeners.has(inbox)) return this.ignore("joined twice with the same inbox");
    const oldest = this.joins.oldestOver(session);
    if (oldest !== undefined) this.listeners.remove(oldest);
    if (this.listeners.size >= this.options.maxListeners) return this.full(inbox);
    if (!this.listeners.add(inbox)) return;
    this.joins.add(session, inbox);
    const batches = this.history.batches(this.options.batchBytes);
    batches.forEach((history, i) => this.listeners.send(inbox, { history, done: i === batches.length - 1 }));
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
    const line = { ...input.say, ts: this.now() };
    // A page resending a line it is unsure of (its session was lost) must not show it twice.
    if (!this.history.add(line)) return;
    this.listeners.broadcast({ line });
  }

  private refuse(session: string, event: ChatEvent): void {
    for (const inbox of this.joins.of(session)) this.listeners.send(inbox, event);
  }

  private ignore(why: string): void {
    this.ignoring.note(why);
  }

  private readonly onDrop = (inbox: ChatInbox, reason: DropReason, error?: unknown): void => {
    this.joins.remove(inbox);
    if (reason === "failed") this.options.logger.warn("chat: dropped a listener whose put failed", error);
  };
}
