// The sending half of a Peer: which sequenced frames are on the current link, the
// acknowledgement owed, control frames waiting, and when to flush them into packets. No socket:
// it writes to a Link, and puts flushes off with the link's `defer` or a timer.
import type { Codec } from "../wire/codec.js";
import { controlFrame, type ControlFrame } from "../wire/frames.js";
import { utf8Length } from "../wire/protocol.js";
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
   * How a flush is put off; default `queueMicrotask` (the end of the current tick). A long-poll
   * carries a single packet, so the server's defers it to the end of the macrotask: what the
   * microtasks of this turn produce (a loop taking a whole batch of puts, and their answers)
   * rides in it instead of waiting for the next poll. The client's HTTP upstream holds it
   * while a POST is in flight, so that what waits stays here (frames in the replay buffer, one
   * cumulative acknowledgement, at most 64 control frames) instead of piling up as packets.
   * A link may never call it (it closed): the next `attach` flushes.
   */
  readonly defer?: (flush: () => void) => void;
}

/** The delay servers and clients use (see {@link WriterOptions.ackDelay}): short next to a heartbeat, long next to a loopback round trip. */
export const ACK_DELAY_MS = 5;

/** Control frames kept for a link that is not there (a long-poll between two polls), or held back. */
export const MAX_QUEUED_CONTROL = 64;

export interface WriterOptions {
  codec: Codec;
  /** Largest packet, in UTF-8 bytes. */
  maxMessageSize: number;
  /** How long answers and acknowledgements may wait to ride with a put, in ms; 0 sends them at the end of the tick. */
  ackDelay: number;
  /** Answers and acknowledgements that may wait together for a ride (a quarter of the window). */
  lazyLimit: number;
}

/**
 * Writes a session's frames to its current link: every sequenced frame of the outbox not yet on
 * this link, the acknowledgement of what the inbox received, and control frames, packed into
 * packets under `maxMessageSize`. Puts, closes, releases and control frames are flushed at the
 * end of the tick; answers and acknowledgements alone wait up to `ackDelay` ms (like TCP's
 * delayed ACK), so in a request and response exchange they ride in the packet of the next put.
 * Past `lazyLimit` waiting frames they go at once, so a sender streaming puts gets its credit
 * back without waiting for the timer.
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
  /** Encoded control frames with their UTF-8 sizes (each is one array: one node). */
  #control: Array<{ text: string; bytes: number }> = [];
  #flushScheduled = false;
  /** A flush of answers and acknowledgements only, waiting `ackDelay` for something urgent to ride with. */
  #lazyTimer: ReturnType<typeof setTimeout> | null = null;

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
    return this.#control.length > 0 || this.#ackDue || this.#sentUpTo < this.#outbox.nextSeq - 1;
  }

  /** Frames arrived: their acknowledgement is owed, within `ackDelay` if nothing else goes sooner. */
  received(): void {
    if (this.#ackDue) this.schedule(false);
  }

  /** An `ack` frame is owed on the current link (never on one that acknowledges by itself). */
  get #ackDue(): boolean {
    return this.#inbox.received > this.#ackSent && this.#link?.acksItself !== true;
  }

  /** Queues a control frame (ping, pong, error, bye); past {@link MAX_QUEUED_CONTROL} the oldest goes. */
  sendControl(frame: ControlFrame): void {
    if (this.#control.length >= MAX_QUEUED_CONTROL) this.#control.shift();
    const text = this.#options.codec.encodeFrame(controlFrame(frame));
    this.#control.push({ text, bytes: utf8Length(text) });
    this.schedule(true);
  }

  /** An `"a"` frame answering put `putSeq` was appended to the outbox. */
  answered(putSeq: number): void {
    if (putSeq > this.#lastAnswerPut) this.#lastAnswerPut = putSeq;
  }

  /**
   * Something waits to be written: at the end of the tick when `urgent` (a put, a close, a
   * release, a control frame) or when enough answers wait, else within `ackDelay`.
   */
  schedule(urgent: boolean): void {
    if (this.#flushScheduled || this.#link === null) return;
    const lazyFrames = this.#outbox.nextSeq - 1 - this.#sentUpTo + (this.#ackDue ? this.#inbox.received - this.#ackSent : 0);
    if (urgent || lazyFrames >= this.#options.lazyLimit || this.#options.ackDelay === 0) {
      this.#requestFlush();
      return;
    }
    this.#lazyTimer ??= setTimeout(() => {
      this.#lazyTimer = null;
      this.#requestFlush();
    }, this.#options.ackDelay);
  }

  /** Writes what waits now, rather than at the end of the tick (a `bye` before closing the link). */
  flushNow(): void {
    this.#flush();
  }

  /** Nothing more will be written: the timer goes. */
  end(): void {
    if (this.#lazyTimer !== null) clearTimeout(this.#lazyTimer);
    this.#lazyTimer = null;
  }

  /** One flush, when the link's `defer` says (only one is ever waiting). */
  #requestFlush(): void {
    if (this.#flushScheduled || this.#link === null) return;
    this.#flushScheduled = true;
    (this.#link.defer ?? queueMicrotask)(this.#flushLater);
  }

  /** {@link flush} as a callback for the link's `defer`, made once. */
  readonly #flushLater = (): void => this.#flush();

  /** Writes control frames, the acknowledgement and every sequenced frame not yet on this link, in packets under `maxMessageSize`. */
  #flush(): void {
    // A pending lazy timer is left to fire (and find nothing, or the next answers): clearing and
    // setting a timer on every exchange cost more than one spare wake-up per ackDelay.
    this.#flushScheduled = false;
    const link = this.#link;
    if (link === null || !this.hasOutput) return;
    const packer = new PacketPacker(link, this.#options.codec, this.#options.maxMessageSize);
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
    this.#control = [];
    for (let i = 0; i < control.length; i++) {
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
