// The sending half of a Peer: which sequenced frames are on the current link, the
// acknowledgement owed, control frames waiting, and when to flush them into packets. No socket:
// it writes to a Link, and puts flushes off with the link's `defer` or a timer.
import type { Codec } from "../wire/codec.js";
import { controlFrame, type ControlFrame } from "../wire/frames.js";
import { utf8Length } from "../wire/protocol.js";
import { endOfTick, endOfTurn } from "./end-of-turn.js";
import { PacketPacker } from "./packets.js";
import type { Inbox, Outbox } from "./sequence.js";

/** Where a Peer writes its packets: a WebSocket, an SSE stream, or one long-poll answer. */
export interface Link {
  send(packet: string): void;
  /** True for a long-poll: the link takes one packet and is gone. */
  readonly oneShot: boolean;
  /**
   * True when the transport itself tells the peer what arrived, so `ack` frames would only
   * repeat it: a long-poll's next request carries `X-Wirechan-Recv`, and the server answers
   * every upstream POST with the acknowledgement.
   */
  readonly acksItself?: boolean;
  /**
   * How a flush is put off; default {@link endOfTick} (a microtask: the end of the current
   * tick). A long-poll carries a single packet, so the server's defers it to the end of the
   * macrotask: what the microtasks of this turn produce (a loop taking a whole batch of puts,
   * and their answers) rides in it instead of waiting for the next poll. The client's HTTP upstream holds it
   * while a POST is in flight, so that what waits stays here (frames in the replay buffer, one
   * cumulative acknowledgement, at most 64 control frames) instead of piling up as packets.
   * A link may never call it (it closed): the next `attach` flushes.
   */
  readonly defer?: (flush: () => void) => void;
}

/**
 * The delay servers and clients use (see {@link WriterOptions.ackDelay}): an acknowledgement
 * that only frees the peer's replay buffer waits this long for a packet to ride with. Longer
 * than the gap between a periodic stream's puts (a dashboard's reading a second), so that on
 * such a stream it rides with the next put; short next to a heartbeat.
 */
export const ACK_DELAY_MS = 2000;

/** What a Writer should do about what waits, from most to least pressing. */
export type Urgency =
  /** A put, a close, a release, a control frame: at the end of the tick. */
  | "now"
  /**
   * An answer, or the acknowledgement of a put: at the end of the event loop's turn, so that
   * whatever the code the put woke produces in this turn (a reply) rides with it, and the
   * sender, perhaps waiting on `await put`, hears back within a round trip.
   */
  | "turn"
  /**
   * An acknowledgement of answers, closes or releases only, or the answer to a lazy put and
   * its acknowledgement (its sender said it can wait): it waits for a ride, or `ackDelay`.
   */
  | "idle";

/** Control frames kept for a link that is not there (a long-poll between two polls), or held back. */
export const MAX_QUEUED_CONTROL = 64;

/** What a Writer reads of its session's options (a Peer hands it its own, so no copy per session). */
export interface WriterOptions {
  readonly codec: Codec;
  /** Largest packet, in UTF-8 bytes. */
  readonly maxMessageSize: number;
  /**
   * How long an acknowledgement that only frees the peer's replay buffer may wait to ride with
   * another frame, in ms; 0 or absent sends everything at the end of the tick (no timers, for tests).
   */
  readonly ackDelay?: number;
  /**
   * Puts in flight to one target (credit). A quarter of it is how many frames may wait
   * together for a ride before they go at once: a sender whose credit ran out must not wait
   * for the timer.
   */
  readonly window: number;
}

/**
 * Writes a session's frames to its current link: every sequenced frame of the outbox not yet on
 * this link, the acknowledgement of what the inbox received, and control frames, packed into
 * packets under `maxMessageSize`. Puts, closes, releases and control frames are flushed at the
 * end of the tick. Answers, and the acknowledgement of puts, go at the end of the event loop's
 * turn: a reply made in that turn rides with them, so a request and its response take one
 * packet each way, and a sender awaiting each put is answered at round-trip speed, never paced
 * by a timer. An acknowledgement of anything else (answers, closes, releases) only frees the
 * peer's replay buffer: it waits up to `ackDelay` ms for a packet to ride with (like TCP's
 * delayed ACK), so a stream of puts and their answers costs two packets per put, not three.
 * So does the answer to a lazy put, whose sender said it does not wait on it: a fan-out's
 * stream of puts costs one packet per batch of answers.
 * Past a quarter of the window of waiting frames everything goes at once, so a sender
 * streaming puts gets its credit back without waiting.
 */
export class Writer {
  #link: Link | null = null;
  /** Highest sequence number written to the current link. */
  #sentUpTo = 0;
  /** Highest sequence number of the peer's that we acknowledged on the current link. */
  #ackSent = 0;
  /**
   * The newest put we answered: the `"a"` frame, once written, acknowledges that put and every
   * frame before it, so no `ack` frame is needed for them.
   */
  #lastAnswerPut = 0;
  /** Encoded control frames with their UTF-8 sizes (each is one array: one node); made with the first. */
  #control: Array<{ text: string; bytes: number }> | null = null;
  #flushScheduled = false;
  /** A flush at the end of the turn is waiting (for answers): what {@link endOfTurn} returned for it, else undefined. */
  #turn: unknown = undefined;
  /** A flush of acknowledgements only, waiting `ackDelay` for something else to ride with. */
  #idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** The writer ended: no timer may be set any more. */
  #ended = false;

  readonly #outbox: Outbox;
  readonly #inbox: Inbox;
  readonly #options: WriterOptions;

  constructor(outbox: Outbox, inbox: Inbox, options: WriterOptions) {
    this.#outbox = outbox;
    this.#inbox = inbox;
    this.#options = options;
  }

  /** Starts writing to `link`, whose peer received our frames up to `peerRecv`: the frames after it go again. */
  attach(link: Link, peerRecv: number): void {
    this.#link = link;
    this.#sentUpTo = peerRecv;
    this.#ackSent = 0;
    this.#flush();
  }

  /** Stops writing to `link` (it closed); frames wait for the next one. */
  detach(link: Link): void {
    if (this.#link === link) this.#link = null;
  }

  /** Whether anything waits to be written (for a long-poll deciding to answer now or hold). */
  get hasOutput(): boolean {
    return this.#control !== null || this.#ackDue || this.#sentUpTo < this.#outbox.nextSeq - 1;
  }

  /**
   * Frames arrived: their acknowledgement is owed; at the end of the turn when they held a
   * prompt put (`puts`: its sender's replay buffer holds it until then, answered or not), else
   * within `ackDelay` if nothing else goes sooner.
   */
  received(puts: boolean): void {
    if (this.#ackDue) this.schedule(puts ? "turn" : "idle");
  }

  /** An `ack` frame is owed on the current link (never on one that acknowledges by itself). */
  get #ackDue(): boolean {
    return this.#inbox.received > this.#ackSent && this.#link?.acksItself !== true;
  }

  /** Queues a control frame (ping, pong, error, bye); past {@link MAX_QUEUED_CONTROL} the oldest goes. */
  sendControl(frame: ControlFrame): void {
    const control = (this.#control ??= []);
    if (control.length >= MAX_QUEUED_CONTROL) control.shift();
    const text = this.#options.codec.encodeFrame(controlFrame(frame));
    control.push({ text, bytes: utf8Length(text) });
    this.schedule("now");
  }

  /** An `"a"` frame answering put `putSeq` was appended to the outbox. */
  answered(putSeq: number): void {
    if (putSeq > this.#lastAnswerPut) this.#lastAnswerPut = putSeq;
  }

  /**
   * Something waits to be written, as pressing as `urgency` says (see {@link Urgency}); when
   * a quarter of the window of frames wait, at the end of the tick whatever they are.
   */
  schedule(urgency: Urgency): void {
    if (this.#flushScheduled || this.#link === null) return;
    const waiting = this.#outbox.nextSeq - 1 - this.#sentUpTo + (this.#ackDue ? this.#inbox.received - this.#ackSent : 0);
    const ackDelay = this.#options.ackDelay ?? 0;
    if (urgency === "now" || waiting >= Math.max(1, this.#options.window >> 2) || ackDelay === 0) {
      this.#requestFlush();
    } else if (this.#ended) {
      // An ended session sets no timer: what is left goes at the end of the tick, or never.
      this.#requestFlush();
    } else if (urgency === "turn") {
      if (this.#turn !== undefined) return;
      this.#turn = endOfTurn.schedule(Writer.#endOfTurnCame, this);
    } else {
      if (this.#idleTimer !== null) return;
      this.#idleTimer = setTimeout(Writer.#idleDelayPassed, ackDelay, this);
      // An acknowledgement owed is no reason to keep a process alive.
      (this.#idleTimer as { unref?: () => void }).unref?.();
    }
  }

  /** The end of the turn came: what waits goes (unless a flush already took it). */
  static #endOfTurnCame(writer: Writer): void {
    writer.#turn = undefined;
    writer.#requestFlush();
  }

  /** `ackDelay` passed with no packet to ride with: the acknowledgement goes alone. */
  static #idleDelayPassed(writer: Writer): void {
    writer.#idleTimer = null;
    writer.#requestFlush();
  }

  /** The end of the tick came (see {@link endOfTick}). */
  static #tickEnded(writer: Writer): void {
    writer.#flush();
  }

  /** Writes what waits now, rather than at the end of the tick (a `bye` before closing the link). */
  flushNow(): void {
    this.#flush();
  }

  /** Nothing more will be written: the timer goes. */
  end(): void {
    this.#ended = true;
    if (this.#idleTimer !== null) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  /** One flush, when the link's `defer` says (only one is ever waiting). */
  #requestFlush(): void {
    if (this.#flushScheduled || this.#link === null) return;
    this.#flushScheduled = true;
    const { defer } = this.#link;
    if (defer === undefined) endOfTick(Writer.#tickEnded, this);
    else defer((this.#flushLater ??= (): void => this.#flush()));
  }

  /** {@link flush} as a callback for a link's own `defer`, made with the first (most links have none). */
  #flushLater: (() => void) | null = null;

  /** Writes control frames, the acknowledgement and every sequenced frame not yet on this link, in packets under `maxMessageSize`. */
  #flush(): void {
    // This flush takes everything there is, so a wake-up at the end of the turn would find
    // nothing: in a request and its reply (the answer waits for the turn, the reply flushes at
    // the end of the tick) that was one spare event-loop pass per packet. It is dropped where
    // the platform can drop it (Node), and what comes later in the turn schedules another. A
    // pending idle timer is left to fire (and find nothing, or what came since): clearing and
    // setting a 2 s timer costs more than a spare wake-up.
    this.#flushScheduled = false;
    if (this.#turn !== undefined && endOfTurn.cancel(this.#turn)) this.#turn = undefined;
    const link = this.#link;
    if (link === null || !this.hasOutput) return;
    const packer = PacketPacker.for(link, this.#options.codec, this.#options.maxMessageSize);
    const last = this.#outbox.nextSeq - 1;
    // On a link that is not one-shot every frame goes out now (the packer splits packets), the
    // newest answer with them, and it acknowledges for us. A one-shot link takes what fits: its
    // acknowledgement goes first, so that it surely does.
    if (!link.oneShot && this.#lastAnswerPut > this.#ackSent) this.#ackSent = this.#lastAnswerPut;
    if (this.#ackDue) {
      const ack = this.#options.codec.encodeFrame(["ack", this.#inbox.received]);
      packer.add(ack, ack.length, 1);
      this.#ackSent = this.#inbox.received;
    }
    const control = this.#control;
    this.#control = null;
    for (let i = 0; control !== null && i < control.length; i++) {
      const { text, bytes } = control[i] as { text: string; bytes: number };
      if (!packer.add(text, bytes, 1)) {
        this.#control = control.slice(i);
        break;
      }
    }
    while (this.#sentUpTo < last) {
      const frame = this.#outbox.frame(this.#sentUpTo + 1);
      if (frame === undefined || !packer.add(frame.text, frame.bytes, frame.nodes)) break;
      this.#sentUpTo++;
    }
    packer.finish();
    if (link.oneShot) this.#link = null;
  }
}
