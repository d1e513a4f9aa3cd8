// One side of a session: what it sends and receives, independent of any transport. The server
// and the client each run one Peer per session and give it a Link to write packets to; the
// Peer never touches a socket or a timer (docs/protocol.md sections 4 and 5).
import { Channel, chan } from "../csp/channel.js";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import type { Codec } from "../wire/codec.js";
import { controlFrame, type ControlFrame, type Frame, type Operation, parsePacket, sequencedFrame, type SequencedFrame } from "../wire/frames.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { type ProxyHost, RemoteChannel } from "../wire/remote-channel.js";
import { decodeValue, encodeValue } from "../wire/values.js";
import { deliver } from "./delivery.js";
import { Inbox, Outbox, type ReplayLimits } from "./sequence.js";

/** Where a Peer writes its packets: a WebSocket, an SSE stream, or one long-poll answer. */
export interface Link {
  send(packet: string): void;
  /** True for a long-poll: the link takes one packet and is gone. */
  readonly oneShot: boolean;
  /**
   * True when the transport itself tells the peer what arrived (a long-poll's next request
   * carries `X-Wirechan-Recv`), so `ack` frames would only repeat it.
   */
  readonly acksItself?: boolean;
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
  /** Puts in flight per proxy, and per channel from the peer. */
  window: number;
  /** Exported plus imported channels at once. */
  maxChannels: number;
  /** Largest packet, in characters, sent or accepted. */
  maxMessageSize: number;
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

interface Export {
  ref: string;
  channel: Channel<unknown, unknown>;
  /** Copies sent and not yet released by the peer. */
  sent: number;
  unwatch: () => void;
}

interface Import {
  proxy: WeakRef<RemoteChannel<never>>;
  /** Copies received, reported back when the proxy is released. */
  received: number;
}

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
  private control: string[] = [];
  private flushScheduled = false;
  private ended = false;

  private readonly exportsByRef = new Map<string, Export>();
  private readonly exportsByChannel = new Map<Channel<unknown, unknown>, Export>();
  private nextExport = 1;
  private readonly imports = new Map<string, Import>();
  private readonly named = new Map<string, RemoteChannel<never>>();
  /** Puts sent and not yet answered, by sequence number. */
  private readonly inflight = new Map<number, RemoteChannel<never>>();
  /** Proxies waiting for room in the replay buffer. */
  private readonly blocked = new Set<RemoteChannel<never>>();
  /** Puts received from the peer and not yet answered, per target: the peer's credit in use. */
  private readonly credit = new Map<string, number>();
  private readonly finalizer = new FinalizationRegistry<string>((ref) => this.importCollected(ref));

  constructor(readonly options: PeerOptions) {
    this.outbox = new Outbox(options.replay);
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
    return this.exportsByRef.size + this.imports.size + this.named.size;
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
    return this.control.length > 0 || this.inbox.received > this.ackSent || this.sentUpTo < this.outbox.nextSeq - 1;
  }

  /** The peer acknowledged our frames up to `seq` (an `ack` frame, or a long-poll's recv header). */
  acknowledged(seq: number): void {
    this.outbox.ack(seq);
    if (this.blocked.size > 0) {
      const blocked = [...this.blocked];
      this.blocked.clear();
      for (const proxy of blocked) proxy.pump();
    }
  }

  /** Reads one packet. Throws a {@link ProtocolError} for anything malformed or not allowed. */
  receive(text: string): void {
    this.receiveFrames(decodePacket(text, this.options));
  }

  receiveFrames(frames: readonly Frame[]): void {
    if (this.ended) return;
    for (const frame of frames) {
      if (frame.kind === "seq") {
        if (this.inbox.accept(frame.seq)) this.apply(frame);
      } else this.onControl(frame);
      if (this.ended) return;
    }
    if (this.inbox.received > this.ackSent) this.scheduleFlush();
  }

  /** Queues a control frame (ping, pong, error, bye) for the link. */
  sendControl(frame: ControlFrame): void {
    if (this.control.length >= MAX_QUEUED_CONTROL) this.control.shift();
    this.control.push(this.options.codec.encodeFrame(controlFrame(frame)));
    this.scheduleFlush();
  }

  /** Client: the proxy of the server channel `name`. */
  serverChan<T>(name: string): RemoteChannel<T> {
    let proxy = this.named.get(name);
    if (proxy === undefined || proxy.closed) {
      if (this.ended) {
        const closed = new RemoteChannel<never>(this, `n:${name}`, this.options.window);
        closed.shut(true);
        return closed as RemoteChannel<T>;
      }
      this.checkChannelRoom(() => new WirechanRangeError("ERR_TOO_MANY_CHANNELS", this.tooManyChannels()));
      proxy = new RemoteChannel<never>(this, `n:${name}`, this.options.window);
      this.named.set(name, proxy);
    }
    return proxy as RemoteChannel<T>;
  }

  /**
   * Ends the session here: every proxy closes (its puts resolve `false`), every exported
   * channel is forgotten (the channels themselves stay open), nothing more is sent.
   */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const entry of this.imports.values()) entry.proxy.deref()?.shut(true);
    for (const proxy of this.named.values()) proxy.shut(true);
    for (const proxy of this.inflight.values()) proxy.shut(true);
    for (const entry of this.exportsByRef.values()) entry.unwatch();
    this.imports.clear();
    this.named.clear();
    this.inflight.clear();
    this.blocked.clear();
    this.exportsByRef.clear();
    this.exportsByChannel.clear();
    this.credit.clear();
  }

  /** Writes what waits now, rather than at the end of the tick (a `bye` before closing the link). */
  flushNow(): void {
    this.flush();
  }

  // ProxyHost: called by this session's proxies.

  encodeValue(value: unknown): unknown {
    return encodeValue(value, (object) => this.refFor(object));
  }

  sendPut(proxy: RemoteChannel<never>, target: string, wireValue: unknown): number {
    if (this.ended) return 0;
    const text = this.options.codec.encodeFrame(sequencedFrame(this.outbox.nextSeq, { op: "p", target, value: wireValue }));
    if (text.length + 2 > this.options.maxMessageSize) {
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
    this.scheduleFlush();
    return seq;
  }

  released(proxy: RemoteChannel<never>): void {
    this.blocked.delete(proxy);
    const target = proxy.target;
    if (target.startsWith("n:")) {
      if (this.named.get(target.slice(2)) === proxy) this.named.delete(target.slice(2));
      return;
    }
    const entry = this.imports.get(target);
    if (entry === undefined || entry.proxy.deref() !== proxy) return;
    this.finalizer.unregister(proxy);
    this.release(target, entry);
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
        const proxy = this.inflight.get(frame.putSeq);
        this.inflight.delete(frame.putSeq);
        proxy?.settle(frame.putSeq, frame.ok);
        return;
      }
      case "c":
        this.onRemoteClose(frame.ref);
        return;
      case "r":
        this.onRelease(frame.ref, frame.count);
        return;
    }
  }

  private onPut(seq: number, target: string, wireValue: unknown): void {
    let destination: NamedTarget | undefined;
    if (target.startsWith("n:")) {
      if (this.options.side !== "server") throw new ProtocolError("ERR_BAD_FRAME", "a client has no named channels");
      destination = this.options.resolveName?.(target.slice(2));
    } else {
      this.checkOwnRef(target);
      const entry = this.exportsByRef.get(target);
      if (entry !== undefined) destination = { channel: entry.channel };
    }
    // Decoded even when it goes nowhere: the references in it were received, and are released.
    const value = decodeValue(wireValue, (ref) => this.readRef(ref));
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

  private onRemoteClose(ref: string): void {
    const entry = this.imports.get(ref);
    if (entry === undefined) return;
    const proxy = entry.proxy.deref();
    if (proxy !== undefined) {
      proxy.shut(false);
      this.finalizer.unregister(proxy);
    }
    this.release(ref, entry);
  }

  private onRelease(ref: string, count: number): void {
    this.checkOwnRef(ref);
    const entry = this.exportsByRef.get(ref);
    if (entry === undefined) return;
    entry.sent -= count;
    if (entry.sent > 0) return;
    entry.unwatch();
    this.exportsByRef.delete(ref);
    this.exportsByChannel.delete(entry.channel);
  }

  // References.

  /** The reference id of a channel or proxy met while encoding; undefined for other objects. */
  private refFor(object: object): string | undefined {
    if (object instanceof Channel) return this.exportChannel(object as Channel<unknown, unknown>);
    if (object instanceof RemoteChannel) {
      const entry = this.imports.get(object.target);
      if (entry !== undefined && entry.proxy.deref() === object) return object.target;
      throw new WirechanTypeError(
        "ERR_WIRE_VALUE",
        "only a proxy that arrived in this session can be sent back in it (a named server channel, or a proxy from another session, cannot)",
      );
    }
    return undefined;
  }

  private exportChannel(channel: Channel<unknown, unknown>): string {
    if (this.ended) throw new WirechanTypeError("ERR_WIRE_VALUE", "the session has ended");
    let entry = this.exportsByChannel.get(channel);
    if (entry === undefined) {
      this.checkChannelRoom(() => new WirechanRangeError("ERR_TOO_MANY_CHANNELS", this.tooManyChannels()));
      const ref = `${this.options.exportPrefix}${this.nextExport++}`;
      const created: Export = { ref, channel, sent: 0, unwatch: noop };
      created.unwatch = channel.watchClose(() => this.exportClosed(created));
      entry = created;
      this.exportsByRef.set(ref, entry);
      this.exportsByChannel.set(channel, entry);
    }
    entry.sent++;
    return entry.ref;
  }

  private exportClosed(entry: Export): void {
    if (this.ended || this.exportsByRef.get(entry.ref) !== entry) return;
    this.sendOp({ op: "c", ref: entry.ref });
  }

  /** What a reference read from the wire stands for here. */
  private readRef(ref: string): unknown {
    if (ref.startsWith(this.options.exportPrefix)) {
      // One of ours coming back: the channel itself, or a closed one if it is no longer exported.
      return this.exportsByRef.get(ref)?.channel ?? closedChannel();
    }
    this.checkPeerRef(ref);
    const known = this.imports.get(ref);
    const alive = known?.proxy.deref();
    if (known !== undefined && alive !== undefined) {
      known.received++;
      return alive;
    }
    // New, or collected while this copy was on its way (its release has not gone out yet).
    if (known === undefined) this.checkChannelRoom(() => new ProtocolError("ERR_TOO_MANY_CHANNELS", this.tooManyChannels()));
    const proxy = new RemoteChannel<never>(this, ref, this.options.window);
    this.finalizer.register(proxy, ref, proxy);
    this.imports.set(ref, { proxy: new WeakRef(proxy), received: (known?.received ?? 0) + 1 });
    return proxy;
  }

  private importCollected(ref: string): void {
    const entry = this.imports.get(ref);
    if (entry !== undefined && entry.proxy.deref() === undefined) this.release(ref, entry);
  }

  private release(ref: string, entry: Import): void {
    this.imports.delete(ref);
    if (!this.ended) this.sendOp({ op: "r", ref, count: entry.received });
  }

  /** A target or released reference must be one this side exported, in this session. */
  private checkOwnRef(ref: string): void {
    if (ref.startsWith(this.options.exportPrefix)) return;
    if (this.options.side === "server" && ref.startsWith("s.")) {
      throw new ProtocolError("ERR_FOREIGN_REFERENCE", "a reference of another session: references are valid only in the session that sent them");
    }
    throw new ProtocolError("ERR_BAD_FRAME", `${JSON.stringify(ref.slice(0, 64))} is not a reference this side exported`);
  }

  /** A reference read inside a value that is not ours must be the peer's kind. */
  private checkPeerRef(ref: string): void {
    if (this.options.side === "server") {
      if (ref.startsWith("c.")) return;
      if (ref.startsWith("s.")) throw new ProtocolError("ERR_FOREIGN_REFERENCE", "a reference of another session: references are valid only in the session that sent them");
    } else if (ref.startsWith("s.")) return;
    throw new ProtocolError("ERR_BAD_FRAME", `${JSON.stringify(ref.slice(0, 64))} is not a channel reference`);
  }

  private checkChannelRoom(error: () => Error): void {
    if (this.channelCount >= this.options.maxChannels) throw error();
  }

  private tooManyChannels(): string {
    return `a session may hold at most ${this.options.maxChannels} channels, exported and imported (maxChannelsPerSession); close proxies you no longer need`;
  }

  // Sending.

  /** Appends a sequenced frame that cannot wait (an answer, a close, a release). */
  private sendOp(operation: Operation): void {
    try {
      this.outbox.append((seq) => this.options.codec.encodeFrame(sequencedFrame(seq, operation)));
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.options.onFatal(error);
        return;
      }
      throw error;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.link === null) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Writes control frames, the acknowledgement and every sequenced frame not yet on this link, in packets under `maxMessageSize`. */
  private flush(): void {
    this.flushScheduled = false;
    const link = this.link;
    if (link === null || !this.hasOutput) return;
    const { codec, maxMessageSize } = this.options;
    const frames: string[] = [];
    let size = 2;
    const emit = (): void => {
      link.send(codec.joinPacket(frames));
      frames.length = 0;
      size = 2;
    };
    const add = (text: string): boolean => {
      if (frames.length > 0 && size + text.length + 1 > maxMessageSize) {
        if (link.oneShot) return false;
        emit();
      }
      frames.push(text);
      size += text.length + 1;
      return true;
    };
    if (this.inbox.received > this.ackSent) {
      if (link.acksItself !== true) add(codec.encodeFrame(["ack", this.inbox.received]));
      this.ackSent = this.inbox.received;
    }
    const control = this.control;
    this.control = [];
    for (let i = 0; i < control.length; i++) {
      if (!add(control[i] as string)) {
        this.control = control.slice(i);
        break;
      }
    }
    const last = this.outbox.nextSeq - 1;
    while (this.sentUpTo < last) {
      const text = this.outbox.frame(this.sentUpTo + 1);
      if (text === undefined || !add(text)) break;
      this.sentUpTo++;
    }
    if (frames.length > 0) emit();
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

function closedChannel(): Channel<unknown, unknown> {
  const channel = chan<unknown>();
  channel.close();
  return channel;
}

function noop(): void {}
