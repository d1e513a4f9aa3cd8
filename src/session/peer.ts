// One side of a session: what it sends and receives, independent of any transport. The server
// and the client each run one Peer per session and give it a Link to write packets to; the
// Peer never touches a socket (docs/protocol.md sections 4 and 5). Writing to the link, and
// when, is the Writer's (writer.ts); the Peer reads frames and keeps the tables.
import type { Channel } from "../csp/channel.js";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { type Codec, LAZY_FLAG_BYTES } from "../wire/codec.js";
import { type ControlFrame, type Frame, type Operation, sequencedFrame, type SequencedFrame } from "../wire/frames.js";
import { InFlight } from "../wire/in-flight.js";
import { decodePacket, MAX_PACKET_NODES, REPLAY_ENTRY_OVERHEAD, utf8Length } from "../wire/protocol.js";
import { ProtocolError } from "../wire/protocol-error.js";
import type { PreEncodedValue } from "../wire/pre-encoded.js";
import type { RemoteChannel } from "../wire/remote-channel.js";
import { decodeValue, encodeValue } from "../wire/values.js";
import { deliver } from "./delivery.js";
import type { Logger } from "./logger.js";
import { type ReferenceHost, References } from "./references.js";
import { Inbox, Outbox, type ReplayLimits } from "./sequence.js";
import { type Link, Writer } from "./writer.js";

export { ACK_DELAY_MS, type Link } from "./writer.js";

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
  /** Largest packet, in UTF-8 bytes, sent or accepted. */
  maxMessageSize: number;
  /**
   * How long an acknowledgement that only frees the peer's replay buffer may wait to ride with
   * another frame, in ms (answers go at the end of the turn, see Writer); 0 (the default) sends
   * everything at the end of the tick. Servers and clients use ACK_DELAY_MS.
   */
  ackDelay?: number;
  /**
   * The peer reads a put's lazy flag (it said `lazyAnswers` in its hello or welcome): lazy puts
   * are sent with it. Otherwise, or absent, every put is sent prompt.
   */
  readonly lazyAnswers?: boolean;
  replay: ReplayLimits;
  codec: Codec;
  /**
   * Server only: the channel behind a name, a ProtocolError the put is refused with (told to the
   * peer, not fatal, and the put answered as refused), or undefined for a name nobody registered.
   */
  resolveName?: (name: string) => NamedTarget | ProtocolError | undefined;
  /**
   * The session cannot go on (the replay buffer overflowed while sending an answer): the owner
   * ends it. Errors found while receiving are thrown from {@link Peer.receive} instead.
   */
  onFatal: (error: ProtocolError) => void;
  /** The peer sent an `error` or a `bye` frame. */
  onPeerError?: (code: string, message: string, fatal: boolean) => void;
  onBye?: (reason: string) => void;
  /** Where a failure nobody else can be told of goes (a delivery callback that threw). Default: the console. */
  logger?: Logger;
}

/**
 * A put ready to send, made when the put is: its frame's text numbered 0 (renumbered when
 * sent), its UTF-8 size and arrays and objects, and the copies of our own channels it counted.
 */
interface EncodedPut {
  text: string;
  bytes: number;
  nodes: number;
  refs: string[];
  /** A value encoded once for many sessions: framed with `Codec.framePut` when sent, `text` unused. */
  shared: PreEncodedValue | null;
  /** Its sender asked for a lazy answer (see {@link Peer.sendPut} for when it gets one). */
  lazy: boolean;
}

/** A shared value carries no channel, so no copies to count. */
const NO_REFS: string[] = [];

/** The most a frame grows when numbered: a sequence number has at most 16 digits, 0 has one. */
const SEQ_DIGITS_SLACK = 15;

/**
 * Per-target counts of puts in flight (`#sentTo`, `#credit`) that stay at 0 instead of being
 * deleted. A request and its reply take a count from 0 to 1 and back every round trip, and a
 * Map entry deleted and added again makes the Map rebuild its table every few puts (0.4 us of
 * a client's round trip, measured). Four fit in the table a Map is made with: no memory added.
 */
const IDLE_COUNTS_KEPT = 4;

/**
 * A session's state on one side: sequence numbers and replay (exactly once, in order), the
 * tables of exported channels and imported proxies, and credit. Everything it sends goes
 * through its {@link Writer} to the current {@link Link}; without one, frames wait in the
 * replay buffer and are sent when a link attaches.
 */
export class Peer implements ReferenceHost {
  readonly #outbox: Outbox;
  readonly #inbox = new Inbox();
  readonly #writer: Writer;
  #ended = false;
  /** A packet is being read: unblocking waits for its end. */
  #receiving = false;

  readonly #references: References;
  // The four tables below are made on first use and let go when the session ends: an idle
  // session (most of a server's) never fills them, and four empty Maps were a tenth of its
  // memory (bench/memory/README.md). Plain nullable fields, not a wrapper object each.
  /** Puts sent and not yet answered, by sequence number (no Map while one at a time is). */
  #inflight: InFlight<RemoteChannel<never>> | null = null;
  /** Proxies waiting for room in the replay buffer, or for credit of their target. */
  #blocked: Set<RemoteChannel<never>> | null = null;
  /** Puts sent and not yet answered, per target: at most `window` each, whichever proxy sent them. */
  #sentTo: Map<string, number> | null = null;
  /** Puts received from the peer and not yet answered, per target: the peer's credit in use. */
  #credit: Map<string, number> | null = null;

  constructor(readonly options: PeerOptions) {
    this.#outbox = new Outbox(options.replay);
    this.#writer = new Writer(this.#outbox, this.#inbox, options);
    this.#references = new References({
      side: options.side,
      exportPrefix: options.exportPrefix,
      maxChannels: options.maxChannels,
      host: this,
    });
  }

  /** Highest sequence number received in order: the `recv` of hello and welcome. */
  get received(): number {
    return this.#inbox.received;
  }

  /** Unacknowledged frames in the replay buffer. */
  get unacknowledged(): number {
    return this.#outbox.pending;
  }

  /** What the replay buffer costs now, in bytes (UTF-8 plus the overhead of each frame). */
  get replayCost(): number {
    return this.#outbox.pendingBytes;
  }

  /** Exported plus imported channels. */
  get channelCount(): number {
    return this.#references.count;
  }

  get hasEnded(): boolean {
    return this.#ended;
  }

  /**
   * Starts writing to `link`, after the peer said it received our frames up to `peerRecv`: the
   * frames after it are sent again. Throws a {@link ProtocolError} (`ERR_SESSION_LOST`) when
   * they cannot be (the peer claims frames never sent, or less than it acknowledged before).
   */
  attach(link: Link, peerRecv: number): void {
    const from = this.resumePoint(peerRecv);
    if (from === null) {
      throw new ProtocolError("ERR_SESSION_LOST", `cannot resume: the peer says it received up to frame ${peerRecv}, but the last one sent is ${this.#outbox.nextSeq - 1}`);
    }
    this.acknowledged(from);
    this.#writer.attach(link, from);
  }

  /**
   * Where sending resumes for a peer that says it received up to `peerRecv` (see
   * {@link Outbox.resumePoint}): null when the peer claims frames never sent, and the session
   * cannot go on. A server asks before it answers a hello, so a refused resume is refused.
   */
  resumePoint(peerRecv: number): number | null {
    return this.#outbox.resumePoint(peerRecv);
  }

  /** Stops writing to `link` (it closed); frames wait for the next one. */
  detach(link: Link): void {
    this.#writer.detach(link);
  }

  /** Whether anything waits to be written (for a long-poll deciding to answer now or hold). */
  get hasOutput(): boolean {
    return this.#writer.hasOutput;
  }

  /** The peer acknowledged our frames up to `seq` (an `ack` frame, or a long-poll's recv header). */
  acknowledged(seq: number): void {
    this.#outbox.ack(seq);
    this.#unblock();
  }

  /** Lets proxies that waited for room or credit try again (after the packet being read). */
  #unblock(): void {
    if (this.#blocked === null || this.#blocked.size === 0 || this.#receiving) return;
    const blocked = [...this.#blocked];
    this.#blocked.clear();
    for (const proxy of blocked) proxy.pump();
  }

  /** Reads one packet. Throws a {@link ProtocolError} for anything malformed or not allowed. */
  receive(text: string): void {
    this.receiveFrames(decodePacket(text, this.options));
  }

  receiveFrames(frames: readonly Frame[]): void {
    if (this.#ended) return;
    // Credit and room freed by the frames of one packet are handed out once, after all of them.
    this.#receiving = true;
    // Whether a prompt put came: its acknowledgement goes at the end of the turn, a lazy one's may wait.
    let puts = false;
    try {
      for (const frame of frames) {
        if (frame.kind === "seq") {
          if (this.#inbox.accept(frame.seq)) this.#apply(frame);
          if (frame.op === "p" && frame.lazy !== true) puts = true;
        } else this.#onControl(frame);
        if (this.#ended) return;
      }
    } finally {
      this.#receiving = false;
    }
    this.#unblock();
    this.#writer.received(puts);
  }

  /** Queues a control frame (ping, pong, error, bye) for the link. */
  sendControl(frame: ControlFrame): void {
    this.#writer.sendControl(frame);
  }

  /** Client: the proxy of the server channel `name`. */
  serverChan<T>(name: string): RemoteChannel<T> {
    return this.#references.namedProxy(name) as RemoteChannel<T>;
  }

  /**
   * Ends the session here: every proxy closes (its puts resolve `false`), every exported
   * channel is forgotten (the channels themselves stay open), nothing more is sent.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#writer.end();
    this.#outbox.clear();
    this.#references.end();
    const inflight = this.#inflight;
    this.#inflight = null;
    this.#blocked = null;
    this.#sentTo = null;
    this.#credit = null;
    if (inflight !== null) for (const proxy of inflight.drain()) proxy.shut(true);
  }

  /** Writes what waits now, rather than at the end of the tick (a `bye` before closing the link). */
  flushNow(): void {
    this.#writer.flushNow();
  }

  // ProxyHost: called by this session's proxies.

  encodePut(target: string, value: unknown, lazy = false): EncodedPut {
    const refs: string[] = [];
    try {
      const counter = { nodes: 1 };
      const wire = encodeValue(value, (object) => this.#references.refFor(object, refs), counter);
      // A BigInt, or what else the codec cannot write, throws here: nothing is sent.
      const text = this.options.codec.encodeFrame([0, "p", target, wire]);
      const bytes = utf8Length(text);
      this.#checkSendable(bytes, counter.nodes, lazy);
      return { text, bytes, nodes: counter.nodes, refs, shared: null, lazy };
    } catch (error) {
      // Channels counted before the failure will never be sent.
      this.#references.unsend(refs);
      throw error;
    }
  }

  encodePreEncodedPut(target: string, value: PreEncodedValue, lazy = false): EncodedPut {
    const { codec } = this.options;
    if (!value.encodedBy(codec)) throw new WirechanTypeError("ERR_WIRE_VALUE", "a value encoded by another codec than this session's cannot be framed for it");
    // The value's size was counted once, when it was encoded; only this frame's own bytes are counted here.
    const bytes = utf8Length(codec.framePut(0, target, "")) + value.bytes;
    const nodes = value.nodes + 1;
    this.#checkSendable(bytes, nodes, lazy);
    return { text: "", bytes, nodes, refs: NO_REFS, shared: value, lazy };
  }

  /** Throws the `RangeError` for a put frame that could never be sent: too large for a packet or the replay buffer, or too complex. */
  #checkSendable(bytes: number, nodes: number, lazy: boolean): void {
    const { maxMessageSize, replay } = this.options;
    // The packet's brackets, the digits the sequence number may add, and the lazy flag.
    if (lazy) bytes += LAZY_FLAG_BYTES;
    const packetBytes = bytes + 2 + SEQ_DIGITS_SLACK;
    if (packetBytes > maxMessageSize) {
      throw new WirechanRangeError(
        "ERR_MESSAGE_TOO_LARGE",
        `a put of ${bytes} bytes (UTF-8, encoded) does not fit in one message (maxMessageSize ${maxMessageSize} bytes); send smaller values, or raise maxMessageSize on both sides`,
      );
    }
    if (bytes + REPLAY_ENTRY_OVERHEAD + SEQ_DIGITS_SLACK > replay.bytes) {
      throw new WirechanRangeError("ERR_MESSAGE_TOO_LARGE", `a put of ${bytes} bytes does not fit in the replay buffer (replayBytes ${replay.bytes}); raise replayBytes`);
    }
    if (nodes + 1 > MAX_PACKET_NODES) {
      throw new WirechanRangeError(
        "ERR_VALUE_TOO_COMPLEX",
        `a put of ${nodes - 1} arrays and objects is over the protocol's limit of ${MAX_PACKET_NODES - 2} per message; send such a value in parts`,
      );
    }
  }

  discard(encoded: unknown): void {
    this.#references.unsend((encoded as EncodedPut).refs);
  }

  sendPut(proxy: RemoteChannel<never>, target: string, encoded: unknown): number {
    if (this.#ended) return 0;
    const put = encoded as EncodedPut;
    const sentTo = (this.#sentTo ??= new Map());
    const sent = sentTo.get(target) ?? 0;
    if (sent >= this.options.window || !this.#outbox.hasRoom(put.bytes + SEQ_DIGITS_SLACK)) {
      (this.#blocked ??= new Set()).add(proxy);
      return 0;
    }
    const { codec } = this.options;
    const { shared } = put;
    const lazy = put.lazy && this.#mayBeLazy();
    const seq = this.#outbox.nextSeq;
    const text = shared === null ? codec.renumber(put.text, seq, lazy) : codec.framePut(seq, target, shared.text, lazy);
    const bytes = put.bytes - 1 + digits(seq) + (lazy ? LAZY_FLAG_BYTES : 0);
    this.#outbox.append(text, put.nodes, bytes);
    const refs = put.refs;
    (this.#inflight ??= new InFlight()).add(seq, proxy);
    sentTo.set(target, sent + 1);
    this.#references.sent(refs);
    this.#writer.schedule("now");
    return seq;
  }

  /**
   * Whether a put asked to be lazy goes with the flag: only to a peer that reads it, and only
   * while the replay buffer is under half full, and the budget it shares with other sessions
   * (a server's `replayBudget`) too. The peer holds lazy answers and their acknowledgement up to
   * its `ackDelay`, and would not know that this side is short of room: past half, puts go
   * prompt, and the answers they draw free the buffer within a round trip.
   */
  #mayBeLazy(): boolean {
    const { lazyAnswers, replay } = this.options;
    return (
      lazyAnswers === true &&
      this.#outbox.pending * 2 < replay.messages &&
      this.#outbox.pendingBytes * 2 < replay.bytes &&
      replay.budgetPressed?.() !== true
    );
  }

  /** The session's references send a close or release frame (ReferenceHost). */
  sendReferenceOp(operation: Operation): void {
    this.#sendOp(operation);
  }

  released(proxy: RemoteChannel<never>): void {
    this.#blocked?.delete(proxy);
    this.#references.released(proxy);
  }

  // Receiving.

  #onControl(frame: ControlFrame): void {
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

  #apply(frame: SequencedFrame): void {
    switch (frame.op) {
      case "p":
        this.#onPut(frame.seq, frame.target, frame.value, frame.lazy === true);
        return;
      case "a": {
        // Answering put n means the peer received every frame up to n.
        this.#outbox.ack(frame.putSeq);
        const proxy = this.#inflight?.take(frame.putSeq);
        if (proxy === undefined) return;
        const sentTo = this.#sentTo;
        const left = (sentTo?.get(proxy.target) ?? 1) - 1;
        if (left === 0 && (sentTo?.size ?? 0) > IDLE_COUNTS_KEPT) sentTo?.delete(proxy.target);
        else sentTo?.set(proxy.target, left);
        proxy.settle(frame.putSeq, frame.ok);
        this.#unblock();
        return;
      }
      case "c":
        this.#references.remoteClosed(frame.ref);
        return;
      case "r":
        this.#references.peerReleased(frame.ref, frame.count);
        return;
    }
  }

  #onPut(seq: number, target: string, wireValue: unknown, lazy: boolean): void {
    let destination: NamedTarget | ProtocolError | undefined;
    if (target.startsWith("n:")) {
      if (this.options.side !== "server") throw new ProtocolError("ERR_BAD_FRAME", "a client has no named channels");
      destination = this.options.resolveName?.(target.slice(2));
    } else {
      const channel = this.#references.exported(target);
      if (channel !== undefined) destination = { channel };
    }
    // Decoded even when it goes nowhere: the references in it were received, and are released.
    const value = decodeValue(wireValue, (ref) => this.#references.readRef(ref));
    if (destination === undefined || destination instanceof ProtocolError) {
      if (destination instanceof ProtocolError) {
        // Refused (ERR_FORBIDDEN): the value goes nowhere, as to an unknown name.
        this.sendControl({ kind: "error", code: destination.code, message: destination.message, fatal: false });
      } else if (target.startsWith("n:")) {
        this.sendControl({ kind: "error", code: "ERR_UNKNOWN_CHANNEL", message: `no server channel is named ${JSON.stringify(target.slice(2, 66))}`, fatal: false });
      }
      this.#sendOp({ op: "a", putSeq: seq, ok: false });
      return;
    }
    const credit = (this.#credit ??= new Map());
    const used = credit.get(target) ?? 0;
    if (used >= this.options.window) {
      throw new ProtocolError("ERR_CREDIT", `more than ${this.options.window} puts in flight to one channel (the window)`);
    }
    credit.set(target, used + 1);
    const { wrap } = destination;
    deliver(destination.channel, wrap === undefined ? value : wrap(value), (ok) => this.#delivered(seq, target, ok, lazy), this.options.logger);
  }

  #delivered(seq: number, target: string, ok: boolean, lazy: boolean): void {
    if (this.#ended) return;
    const credit = this.#credit;
    const used = (credit?.get(target) ?? 1) - 1;
    if (used === 0 && (credit?.size ?? 0) > IDLE_COUNTS_KEPT) credit?.delete(target);
    else credit?.set(target, used);
    this.#sendOp({ op: "a", putSeq: seq, ok }, lazy);
  }

  // Sending.

  /**
   * Appends a sequenced frame that needs no credit (an answer, a close, a release). Answers
   * go at the end of the turn, with whatever else it produces (see {@link Writer}), the answer
   * to a lazy put (`lazy`) when something else goes or after `ackDelay`; closes and releases
   * at the end of the tick.
   */
  #sendOp(operation: Operation, lazy = false): void {
    try {
      this.#outbox.append(this.options.codec.encodeFrame(sequencedFrame(this.#outbox.nextSeq, operation)), 1);
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.options.onFatal(error);
        return;
      }
      throw error;
    }
    if (operation.op === "a") this.#writer.answered(operation.putSeq);
    this.#writer.schedule(operation.op !== "a" ? "now" : lazy ? "idle" : "turn");
  }
}

/** The digits of a sequence number in a frame's text. */
function digits(seq: number): number {
  return seq < 10 ? 1 : String(seq).length;
}
