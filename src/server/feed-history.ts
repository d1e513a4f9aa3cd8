import { randomBytes } from "node:crypto";
import { WirechanRangeError } from "../csp/errors.js";
import { RingQueue } from "../csp/ring-queue.js";
import { encodeSseEvent } from "./sse-codec.js";

/** One event of the feed, encoded and framed once, the same bytes for every client. */
export interface FeedEvent {
  readonly bytes: Uint8Array;
  /** Its place in the feed's sequence; 0 for a frame outside it (an `initial` value, a reset). */
  readonly seq: number;
}

/**
 * The SSE event type of the event a reconnecting client gets when what it missed cannot be
 * replayed: its `Last-Event-ID` is older than the history, or not an id of this feed.
 */
export const FEED_RESET_EVENT = "wirechan-reset";

/** The data of a {@link FEED_RESET_EVENT} event (JSON). */
export interface FeedReset {
  /**
   * `expired`: the id is this feed's, but the events after it are no longer all kept.
   * `unknown`: not an id of this feed: from before a restart, another handler, or garbage.
   */
  readonly reason: "expired" | "unknown";
  /** The id of the first event that follows: the oldest one kept, or the next one to come. */
  readonly resumesFrom: string;
}

/** What a client is sent before the live feed: a reset event if it missed more than is kept, then the kept events it has not seen. */
export interface Resumption {
  readonly reset: FeedEvent | null;
  readonly frames: readonly FeedEvent[];
}

/** Nothing to send before the live feed: a client without `Last-Event-ID`, or one that missed nothing. */
const NOTHING_MISSED: Resumption = { reset: null, frames: [] };

/**
 * The event ids of one `serveChannel` and the last events it sent, so a reconnecting
 * `EventSource` (which sends the last id it saw as `Last-Event-ID`) gets what it missed.
 *
 * An id is `<epoch>-<seq>`: the epoch is random per handler, so an id from before a restart
 * (whose sequence starts at 1 again) or from another handler is recognised as unknown instead
 * of being read as a place in this feed, which would skip events silently. Both bounds hold:
 * at most `maxEvents` events and `maxBytes` bytes of frames are kept, the oldest going first.
 */
export class FeedHistory {
  /** Eight hex digits: a restart reusing the epoch of the one before is a chance in four billion. */
  readonly epoch = randomBytes(4).toString("hex");
  private seq = 0;
  private readonly kept = new RingQueue<FeedEvent>();
  private keptBytes = 0;

  /** Throws a `RangeError` (`ERR_BUFFER_SIZE`) for a bound that is not a non-negative integer. */
  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {
    checkHistoryBound("history", maxEvents);
    checkHistoryBound("historyBytes", maxBytes);
  }

  /** Whether it keeps events at all (else it only numbers them). */
  get keeps(): boolean {
    return this.maxEvents > 0 && this.maxBytes > 0;
  }

  /** The place of the last event framed (or skipped); 0 before the first. */
  get lastSeq(): number {
    return this.seq;
  }

  /** The next place in the sequence, taken by an event about to be framed, or skipped for one nobody gets. */
  next(): number {
    return ++this.seq;
  }

  idOf(seq: number): string {
    return `${this.epoch}-${seq}`;
  }

  /** Keeps a frame of the feed (taken in sequence order), dropping the oldest past a bound. */
  record(frame: FeedEvent): void {
    if (!this.keeps) return;
    this.kept.push(frame);
    this.keptBytes += frame.bytes.byteLength;
    while (this.kept.length > this.maxEvents || this.keptBytes > this.maxBytes) {
      const oldest = this.kept.shift() as FeedEvent;
      this.keptBytes -= oldest.bytes.byteLength;
    }
  }

  /**
   * What a client that sent `lastEventId` gets before the live feed: the kept events after
   * that id; or, when events it missed are gone or the id is not this feed's, a reset event
   * and every kept event. A missing or empty id is a new client: nothing. Call it in the same
   * turn as the client starts getting the live feed, so that no event falls in between.
   */
  resume(lastEventId: string | undefined): Resumption {
    if (lastEventId === undefined || lastEventId === "") return NOTHING_MISSED;
    const seq = this.seqOf(lastEventId);
    const firstKept = this.firstKept;
    if (seq !== null && seq >= firstKept - 1) return seq === this.seq ? NOTHING_MISSED : { reset: null, frames: this.after(seq) };
    return { reset: this.resetFrame(seq === null ? "unknown" : "expired", firstKept), frames: this.after(firstKept - 1) };
  }

  /** The sequence of the oldest event kept, or of the next one when none is. */
  private get firstKept(): number {
    return this.kept.peek()?.seq ?? this.seq + 1;
  }

  /** The place `id` names in this feed (0: before the first event), or null if it names none. */
  private seqOf(id: string): number | null {
    const dash = id.lastIndexOf("-");
    if (dash < 0 || id.slice(0, dash) !== this.epoch) return null;
    const digits = id.slice(dash + 1);
    if (!/^\d{1,15}$/.test(digits)) return null;
    const seq = Number(digits);
    // Past the last event: no client of this feed can have seen it.
    return seq <= this.seq ? seq : null;
  }

  /** The kept frames after `seq`, oldest first (found by bisection: a history may be long and clients reconnect in storms). */
  private after(seq: number): FeedEvent[] {
    const kept = this.kept;
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((kept.at(mid) as FeedEvent).seq > seq) high = mid;
      else low = mid + 1;
    }
    const frames: FeedEvent[] = [];
    for (let i = low; i < kept.length; i++) frames.push(kept.at(i) as FeedEvent);
    return frames;
  }

  /**
   * Its id is the one just before what follows, so a client that reconnects after reading it
   * resumes from there rather than being reset again for the same gap.
   */
  private resetFrame(reason: FeedReset["reason"], resumesFrom: number): FeedEvent {
    const data: FeedReset = { reason, resumesFrom: this.idOf(resumesFrom) };
    const text = encodeSseEvent({ id: this.idOf(resumesFrom - 1), event: FEED_RESET_EVENT, data: JSON.stringify(data) });
    return { bytes: Buffer.from(text, "utf8"), seq: 0 };
  }
}

/** Throws a `RangeError` (`ERR_BUFFER_SIZE`) unless `value` is 0 or a positive integer. */
export function checkHistoryBound(name: "history" | "historyBytes", value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new WirechanRangeError("ERR_BUFFER_SIZE", `serveChannel's ${name} needs 0 (keep none) or a positive integer, got ${String(value)}`);
  }
}
