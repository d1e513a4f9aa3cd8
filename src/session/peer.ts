// One side of a session: what it sends and receives, independent of any transport. The server
// and the client each run one Peer per session and give it a Link to write packets to; the
// Peer never touches a socket or a timer (docs/protocol.md sections 4 and 5).
import type { Channel } from "../csp/channel.js";
import { WirechanRangeError } from "../csp/errors.js";
import type { Codec } from "../wire/codec.js";
import { controlFrame, type ControlFrame, type Frame, type Operation, parsePacket, sequencedFrame, type SequencedFrame } from "../wire/frames.js";
import { ProtocolError } from "../wire/protocol-error.js";
import type { ProxyHost, RemoteChannel } from "../wire/remote-channel.js";
import { decodeValue, encodeValue } from "../wire/values.js";
import { deliver } from "./delivery.js";
import { PacketPacker } from "./packets.js";
import { References } from "./references.js";
import { Inbox, Outbox, type ReplayLimits } from "./sequence.js";

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

/** A named server channel as the server resolves it. */
export interface NamedTarget {
  channel: Channel<unknown, unknown>;
  /** Wraps each value before it is put (the `{ value, session }` envelope). */
  wrap?: (value: unknown) => unknown;
}

export interface PeerOptions {
  side: "client" | "server";
  /** Prefix of the references this side exports: `c.` on the client, `s.<tag>.` on the server. */
  exportPrefix: string;
  /** Puts in flight to one target, sent by this side or received from the peer (credit). */
  window: number;
  /** Exported plus imported channels at once. */
  maxChannels: number;
  /** Largest packet, in characters, sent or accepted. */
  maxMessageSize: number;
  /** How long answers and acknowledgements may wait to ride with a put, in ms; 0 (the default) sends them at the end of the tick. */
  ackDelay?: number;
  replay: ReplayLimits;
  codec: Codec;
  /** Server only: the channel behind a name, or undefined for a name nobody registered. */
  resolveName?: (name: string) => NamedTarget | undefined;
  /**
   * The session cannot go on (the replay buffer overflowed while sending an answer): the owner
   * ends it. Errors found while receiving are thrown from {@link Peer.receive} instead.
   */
  onFatal: (error: ProtocolError) => void;
  /** The peer sent an `error` or a `bye` frame. */
  onPeerError?: (code: string, message: string, fatal: boolean) => void;
  onBye?: (reason: string) => void;
}

/** A value in its wire form, with the copies of our own channels it counted. */
interface EncodedValue {
  wire: unknown;
  refs: string[];
}

/** The delay servers and clients use (see {@link PeerOptions.ackDelay}): short next to a heartbeat, long next to a loopback round trip. */
export const ACK_DELAY_MS = 5;

/** Control frames kept for a link that is not there (a long-poll between two polls). */
const MAX_QUEUED_CONTROL = 64;

/**
 * A session's state on one side: sequence numbers and replay (exactly once, in order), the
 * tables of exported channels and imported proxies, credit, and the batching of frames into
 * packets. Everything it sends goes through the current {@link Link}; without one, frames wait
 * in the replay buffer and are sent when a link attaches.
 */
export class Peer implements ProxyHost {
  private readonly outbox: Outbox;
  private readonly inbox = new Inbox();
  private link: Link | null = null;
  /** Highest sequence number written to the current link. */
  private sentUpTo = 0;
  /** Highest sequence number of the peer's that we acknowledged on the current link. */
  private ackSent = 0;
  /**
   * The newest put we answered: the `"a"` frame, once written, acknowledges that put and every
   * frame before it, so no `ack` frame is needed for them.
   */
  private lastAnswerPut = 0;
  private control: string[] = [];
  private flushScheduled = false;
  /** A flush of answers and acknowledgements only, waiting `ackDelay` for something urgent to ride with. */
  private lazyTimer: ReturnType<typeof setTimeout> | null = null;
  private ended = false;
  /** A packet is being read: unblocking waits for its end. */
  private receiving = false;

  private readonly references: References;
  /** Puts sent and not yet answered, by sequence number. */
  private readonly inflight = new Map<number, RemoteChannel<never>>();
  /** Proxies waiting for room in the replay buffer, or for credit of their target. */
  private readonly blocked = new Set<RemoteChannel<never>>();
  /** Puts sent and not yet answered, per target: at most `window` each, whichever proxy sent them. */
  private readonly sentTo = new Map<string, number>();
  /** Puts received from the peer and not yet answered, per target: the peer's credit in use. */
  private readonly credit = new Map<string, number>();

  /** Answers and acknowledgements that may wait together for a ride. */
  private readonly lazyLimit: number;

  constructor(readonly options: PeerOptions) {
    this.outbox = new Outbox(options.replay);
    this.lazyLimit = Math.max(1, Math.floor(options.window / 4));
    this.references = new References({
      side: options.side,
      exportPrefix: options.exportPrefix,
      maxChannels: options.maxChannels,
      host: this,
      send: (operation) => this.sendOp(operation),
    });
  }

  /** Highest sequence number received in order: the `recv` of hello and welcome. */
  get received(): number {
    return this.inbox.received;
  }

  /** Unacknowledged frames in the replay buffer. */
  get unacknowledged(): number {
    return this.outbox.pending;
  }

  /** Exported plus imported channels. */
  get channelCount(): number {
    return this.references.count;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /**
   * Starts writing to `link`, after the peer said it received our frames up to `peerRecv`: the
   * frames after it are sent again. Throws a {@link ProtocolError} (`ERR_SESSION_LOST`) when
   * they cannot be (the peer claims frames never sent, or less than it acknowledged before).
   */
  attach(link: Link, peerRecv: number): void {
    if (peerRecv < this.outbox.lastAcked || peerRecv >= this.outbox.nextSeq) {
      throw new ProtocolError(
        "ERR_SESSION_LOST",
        `cannot resume: the peer received up to frame ${peerRecv}, but frames ${this.outbox.lastAcked + 1} to ${this.outbox.nextSeq - 1} are the ones kept`,
      );
    }
    this.acknowledged(peerRecv);
    this.link = link;
    this.sentUpTo = peerRecv;
    this.ackSent = 0;
    this.flush();
  }

  /** Stops writing to `link` (it closed); frames wait for the next one. */
  detach(link: Link): void {
    if (this.link === link) this.link = null;
  }

  /** Whether anything waits to be written (for a long-poll deciding to answer now or hold). */
  get hasOutput(): boolean {
    return this.control.length > 0 || this.ackDue || this.sentUpTo < this.outbox.nextSeq - 1;
  }

  /** An `ack` frame is owed on the current link (never on one that acknowledges by itself). */
  private get ackDue(): boolean {
    return this.inbox.received > this.ackSent && this.link?.acksItself !== true;
  }

  /** The peer acknowledged our frames up to `seq` (an `ack` frame, or a long-poll's recv header). */
  acknowledged(seq: number): void {
    this.outbox.ack(seq);
    this.unblock();
  }

  /** Lets proxies that waited for room or credit try again (after the packet being read). */
  private unblock(): void {
    if (this.blocked.size === 0 || this.receiving) return;
    const blocked = [...this.blocked];
    this.blocked.clear();
    for (const proxy of blocked) proxy.pump();
  }

  /** Reads one packet. Throws a {@link ProtocolError} for anything malformed or not allowed. */
  receive(text: string): void {
    this.receiveFrames(decodePacket(text, this.options));
  }

  receiveFrames(frames: readonly Frame[]): void {
    if (this.ended) return;
    // Credit and room freed by the frames of one packet are handed out once, after all of them.
    this.receiving = true;
    try {
      for (const frame of frames) {
        if (frame.kind === "seq") {
          if (this.inbox.accept(frame.seq)) this.apply(frame);
        } else this.onControl(frame);
        if (this.ended) return;
      }
    } finally {
      this.receiving = false;
    }
    this.unblock();
    if (this.ackDue) this.scheduleFlush(false);
  }

  /** Queues a control frame (ping, pong, error, bye) for the link. */
  sendControl(frame: ControlFrame): void {
    if (this.control.length >= MAX_QUEUED_CONTROL) this.control.shift();
    this.control.push(this.options.codec.encodeFrame(controlFrame(frame)));
    this.scheduleFlush(true);
  }

  /** Client: the proxy of the server channel `name`. */
  serverChan<T>(name: string): RemoteChannel<T> {
    return this.references.namedProxy(name) as RemoteChannel<T>;
  }

  /**
   * Ends the session here: every proxy closes (its puts resolve `false`), every exported
   * channel is forgotten (the channels themselves stay open), nothing more is sent.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.lazyTimer !== null) clearTimeout(this.lazyTimer);
    this.lazyTimer = null;
    this.references.end();
    for (const proxy of this.inflight.values()) proxy.shut(true);
    this.inflight.clear();
    this.blocked.clear();
    this.sentTo.clear();
    this.credit.clear();
  }

  /** Writes what waits now, rather than at the end of the tick (a `bye` before closing the link). */
  flushNow(): void {
    this.flush();
  }

  // ProxyHost: called by this session's proxies.

  encodeValue(value: unknown): EncodedValue {
    const refs: string[] = [];
    try {
      return { wire: encodeValue(value, (object) => this.references.refFor(object, refs)), refs };
    } catch (error) {
      // A cycle or a limit found after some channels were counted: they will never be sent.
      this.references.unsend(refs);
      throw error;
    }
  }

  discard(encoded: unknown): void {
    this.references.unsend((encoded as EncodedValue).refs);
  }

  sendPut(proxy: RemoteChannel<never>, target: string, encoded: unknown): number {
    if (this.ended) return 0;
    const { wire, refs } = encoded as EncodedValue;
    if ((this.sentTo.get(target) ?? 0) >= this.options.window) {
      this.blocked.add(proxy);
      return 0;
    }
    let text: string;
    try {
      text = this.options.codec.encodeFrame(sequencedFrame(this.outbox.nextSeq, { op: "p", target, value: wire }));
    } catch (error) {
      // A BigInt, or what else the codec cannot write: nothing was sent.
      this.references.unsend(refs);
      throw error;
    }
    if (text.length + 2 > this.options.maxMessageSize) {
      this.references.unsend(refs);
      throw new WirechanRangeError(
        "ERR_MESSAGE_TOO_LARGE",
        `a put of ${text.length} characters does not fit in one message (maxMessageSize ${this.options.maxMessageSize}); send smaller values, or raise maxMessageSize on both sides`,
      );
    }
    if (!this.outbox.hasRoom(text.length)) {
      this.blocked.add(proxy);
      return 0;
    }
    const { seq } = this.outbox.append(() => text);
    this.inflight.set(seq, proxy);
    this.sentTo.set(target, (this.sentTo.get(target) ?? 0) + 1);
    this.references.sent(refs);
    this.scheduleFlush(true);
    return seq;
  }

  released(proxy: RemoteChannel<never>): void {
    this.blocked.delete(proxy);
    this.references.released(proxy);
  }

  // Receiving.

  private onControl(frame: ControlFrame): void {
    switch (frame.kind) {
      case "ack":
        this.acknowledged(frame.seq);
        return;
      case "ping":
        this.sendControl({ kind: "pong", token: frame.token });
        return;
      case "pong":
        return;
      case "error":
        this.options.onPeerError?.(frame.code, frame.message, frame.fatal);
        return;
      case "bye":
        this.options.onBye?.(frame.reason);
        return;
      case "hello":
      case "welcome":
        throw new ProtocolError("ERR_BAD_FRAME", `${frame.kind} is only allowed as the first frame of a link`);
    }
  }

  private apply(frame: SequencedFrame): void {
    switch (frame.op) {
      case "p":
        this.onPut(frame.seq, frame.target, frame.value);
        return;
      case "a": {
        // Answering put n means the peer received every frame up to n.
        this.outbox.ack(frame.putSeq);
        const proxy = this.inflight.get(frame.putSeq);
        if (proxy === undefined) return;
        this.inflight.delete(frame.putSeq);
        const left = (this.sentTo.get(proxy.target) ?? 1) - 1;
        if (left === 0) this.sentTo.delete(proxy.target);
        else this.sentTo.set(proxy.target, left);
        proxy.settle(frame.putSeq, frame.ok);
        this.unblock();
        return;
      }
      case "c":
        this.references.remoteClosed(frame.ref);
        return;
      case "r":
        this.references.peerReleased(frame.ref, frame.count);
        return;
    }
  }

  private onPut(seq: number, target: string, wireValue: unknown): void {
    let destination: NamedTarget | undefined;
    if (target.startsWith("n:")) {
      if (this.options.side !== "server") throw new ProtocolError("ERR_BAD_FRAME", "a client has no named channels");
      destination = this.options.resolveName?.(target.slice(2));
    } else {
      const channel = this.references.exported(target);
      if (channel !== undefined) destination = { channel };
    }
    // Decoded even when it goes nowhere: the references in it were received, and are released.
    const value = decodeValue(wireValue, (ref) => this.references.readRef(ref));
    if (destination === undefined) {
      if (target.startsWith("n:")) {
        this.sendControl({ kind: "error", code: "ERR_UNKNOWN_CHANNEL", message: `no server channel is named ${JSON.stringify(target.slice(2, 66))}`, fatal: false });
      }
      this.sendOp({ op: "a", putSeq: seq, ok: false });
      return;
    }
    const used = this.credit.get(target) ?? 0;
    if (used >= this.options.window) {
      throw new ProtocolError("ERR_CREDIT", `more than ${this.options.window} puts in flight to one channel (the window)`);
    }
    this.credit.set(target, used + 1);
    const { wrap } = destination;
    deliver(destination.channel, wrap === undefined ? value : wrap(value), (ok) => this.delivered(seq, target, ok));
  }

  private delivered(seq: number, target: string, ok: boolean): void {
    if (this.ended) return;
    const used = (this.credit.get(target) ?? 1) - 1;
    if (used === 0) this.credit.delete(target);
    else this.credit.set(target, used);
    this.sendOp({ op: "a", putSeq: seq, ok });
  }

  // Sending.

  /**
   * Appends a sequenced frame that needs no credit (an answer, a close, a release). Answers
   * may wait a little for a packet to ride with (see {@link scheduleFlush}); closes and
   * releases go at once.
   */
  private sendOp(operation: Operation): void {
    try {
      this.outbox.append((seq) => this.options.codec.encodeFrame(sequencedFrame(seq, operation)));
      if (operation.op === "a" && operation.putSeq > this.lastAnswerPut) this.lastAnswerPut = operation.putSeq;
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.options.onFatal(error);
        return;
      }
      throw error;
    }
    this.scheduleFlush(operation.op !== "a");
  }

  /**
   * Puts, closes, releases and control frames are flushed at the end of the tick. Answers and
   * acknowledgements alone wait up to `ackDelay` ms (like TCP's delayed ACK): in a request
   * and response exchange they ride in the packet of the next put, halving the messages. Past
   * a quarter of the window of waiting frames they go at once, so a sender streaming puts gets
   * its credit back without waiting for the timer.
   */
  private scheduleFlush(urgent: boolean): void {
    if (this.flushScheduled || this.link === null) return;
    const lazyFrames = this.outbox.nextSeq - 1 - this.sentUpTo + (this.ackDue ? this.inbox.received - this.ackSent : 0);
    const ackDelay = this.options.ackDelay ?? 0;
    // A quarter of a window of answers goes at once: a sender whose credit ran out must not wait for the timer.
    if (urgent || lazyFrames >= this.lazyLimit || ackDelay === 0) {
      this.requestFlush();
      return;
    }
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = null;
      this.requestFlush();
    }, ackDelay);
  }

  /** One flush, when the link's `defer` says (only one is ever waiting). */
  private requestFlush(): void {
    if (this.flushScheduled || this.link === null) return;
    this.flushScheduled = true;
    (this.link.defer ?? queueMicrotask)(this.flushLater);
  }

  /** {@link flush} as a callback for the link's `defer`, made once. */
  private readonly flushLater = (): void => this.flush();

  /** Writes control frames, the acknowledgement and every sequenced frame not yet on this link, in packets under `maxMessageSize`. */
  private flush(): void {
    // A pending lazy timer is left to fire (and find nothing, or the next answers): clearing and
    // setting a timer on every exchange cost more than one spare wake-up per ackDelay.
    this.flushScheduled = false;
    const link = this.link;
    if (link === null || !this.hasOutput) return;
    const packer = new PacketPacker(link, this.options.codec, this.options.maxMessageSize);
    const last = this.outbox.nextSeq - 1;
    // On a link that is not one-shot every frame goes out now (the packer splits packets), the
    // newest answer with them, and it acknowledges for us. A one-shot link takes what fits: its
    // acknowledgement goes first, so that it surely does.
    if (!link.oneShot && this.lastAnswerPut > this.ackSent) this.ackSent = this.lastAnswerPut;
    if (this.ackDue) {
      packer.add(this.options.codec.encodeFrame(["ack", this.inbox.received]));
      this.ackSent = this.inbox.received;
    }
    const control = this.control;
    this.control = [];
    for (let i = 0; i < control.length; i++) {
      if (!packer.add(control[i] as string)) {
        this.control = control.slice(i);
        break;
      }
    }
    while (this.sentUpTo < last) {
      const text = this.outbox.frame(this.sentUpTo + 1);
      if (text === undefined || !packer.add(text)) break;
      this.sentUpTo++;
    }
    packer.finish();
    if (link.oneShot) this.link = null;
  }
}

/** Decodes and validates one packet; a codec's own error becomes `ERR_BAD_FRAME`. */
export function decodePacket(text: string, options: Pick<PeerOptions, "codec" | "maxMessageSize">): Frame[] {
  if (text.length > options.maxMessageSize) {
    throw new ProtocolError("ERR_MESSAGE_TOO_LARGE", `a message of ${text.length} characters is over maxMessageSize (${options.maxMessageSize})`);
  }
  let packet: unknown;
  try {
    packet = options.codec.decodePacket(text);
  } catch (error) {
    throw new ProtocolError("ERR_BAD_FRAME", `a message is not a ${options.codec.name} packet: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parsePacket(packet);
}
