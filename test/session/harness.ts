// Two Peers (a client and a server side of one session) connected by in-memory links that
// deliver packets asynchronously (one setImmediate per packet), in order, and can be cut with
// any prefix of the packets in flight still arriving. No sockets, no timers: everything is
// driven by event-loop turns, so a test is deterministic and bounded by the turns it waits.
import assert from "node:assert/strict";
import { chan, type Channel } from "../../src/csp/channel.js";
import { ACK_DELAY_MS, type Link, type NamedTarget, Peer, type PeerOptions } from "../../src/session/peer.js";
import type { ReplayLimits } from "../../src/session/sequence.js";
import type { RemoteChannel } from "../../src/wire/remote-channel.js";
import { jsonCodec } from "../../src/wire/codec.js";
import { type Frame, parsePacket } from "../../src/wire/frames.js";
import type { ProtocolError } from "../../src/wire/protocol-error.js";

/** Lets every queued microtask and one macrotask turn run. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits (at most `maxTurns` event-loop turns) until `done()` holds; fails the test otherwise. */
export async function until(done: () => boolean, what: string, maxTurns = 2_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (done()) return;
    await turn();
  }
  assert.fail(`gave up waiting (${maxTurns} turns) for: ${what}`);
}

/** The frames of a packet text, for tests that look at what crossed the wire. */
export function framesOf(packet: string): Frame[] {
  return parsePacket(JSON.parse(packet) as unknown);
}

/** One direction of one connection. */
export class Pipe {
  private readonly queue: string[] = [];
  private alive = true;
  /** Every packet this pipe was given, delivered or not. */
  readonly sent: string[] = [];
  readonly link: Link;

  constructor(
    private readonly to: Peer,
    /** What `to.receive` threw. */
    private readonly errors: unknown[],
    /** Called with each packet before it is delivered; false drops it (and cuts the pipe). */
    private readonly tap?: (packet: string) => boolean,
  ) {
    this.link = { oneShot: false, send: (packet) => this.send(packet) };
  }

  get inFlight(): number {
    return this.queue.length;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  private send(packet: string): void {
    assert.equal(typeof packet, "string", "a packet is text");
    if (!this.alive) return;
    this.sent.push(packet);
    this.queue.push(packet);
    setImmediate(() => this.deliverOne());
  }

  private deliverOne(): void {
    const packet = this.queue.shift();
    if (packet === undefined) return;
    if (this.tap !== undefined && !this.tap(packet)) {
      this.cut(0);
      return;
    }
    try {
      this.to.receive(packet);
    } catch (error) {
      this.errors.push(error);
    }
  }

  /** The connection breaks: the first `keep` packets in flight still arrive, the rest are lost. */
  cut(keep: number): void {
    this.alive = false;
    this.queue.length = Math.min(this.queue.length, Math.max(0, keep));
  }
}

export interface SideRecord {
  peer: Peer;
  /** onFatal calls. */
  fatal: ProtocolError[];
  /** onPeerError calls. */
  peerErrors: Array<{ code: string; message: string; fatal: boolean }>;
  byes: string[];
  /** What this side's `receive` threw. */
  receiveErrors: unknown[];
}

export interface PairOptions {
  window?: number;
  maxChannels?: number;
  maxMessageSize?: number;
  replay?: ReplayLimits;
  clientReplay?: ReplayLimits;
  /** PeerOptions.ackDelay of both sides; default 0 (answers go at the end of the tick, no timers). */
  ackDelay?: number;
  /** PeerOptions.lazyAnswers of both sides (each read the lazy flag); default false. */
  lazyAnswers?: boolean;
  /** Named server channels; default: "chat", an unbuffered channel. */
  named?: Map<string, NamedTarget>;
  /** The refusal of a put to a name (the server's `authorize`), asked before `named`. */
  refuse?: (name: string) => ProtocolError | undefined;
}

export const SERVER_PREFIX = "s.T1.";

export function peerOptions(side: "client" | "server", record: Omit<SideRecord, "peer">, options: PairOptions, named: Map<string, NamedTarget>): PeerOptions {
  return {
    side,
    exportPrefix: side === "client" ? "c." : SERVER_PREFIX,
    window: options.window ?? 4,
    maxChannels: options.maxChannels ?? 16,
    maxMessageSize: options.maxMessageSize ?? 1 << 20,
    ackDelay: options.ackDelay ?? 0,
    lazyAnswers: options.lazyAnswers ?? false,
    replay: (side === "client" ? options.clientReplay : undefined) ?? options.replay ?? { messages: 64, bytes: 1 << 16 },
    codec: jsonCodec,
    ...(side === "server" ? { resolveName: (name: string) => options.refuse?.(name) ?? named.get(name) } : {}),
    onFatal: (error) => record.fatal.push(error),
    onPeerError: (code, message, fatal) => record.peerErrors.push({ code, message, fatal }),
    onBye: (reason) => record.byes.push(reason),
  };
}

function side(kind: "client" | "server", options: PairOptions, named: Map<string, NamedTarget>): SideRecord {
  const record = { fatal: [], peerErrors: [], byes: [], receiveErrors: [] } as Omit<SideRecord, "peer">;
  return Object.assign(record, { peer: new Peer(peerOptions(kind, record, options, named)) });
}

/** A client and a server Peer of one session, and the connections between them. */
export class Pair {
  readonly client: SideRecord;
  readonly server: SideRecord;
  readonly chat: Channel<unknown>;
  readonly named: Map<string, NamedTarget>;
  /** client → server and server → client pipes of the current connection, if any. */
  up: Pipe | null = null;
  down: Pipe | null = null;
  /** Every pipe ever made, oldest first. */
  readonly pipes: Array<{ up: Pipe; down: Pipe }> = [];
  /** Drops packets: called per packet with its direction; false drops it and cuts that connection. */
  tap?: (direction: "up" | "down", packet: string) => boolean;

  constructor(options: PairOptions = {}) {
    this.chat = chan<unknown>();
    this.named = options.named ?? new Map<string, NamedTarget>([["chat", { channel: this.chat as Channel<unknown, unknown> }]]);
    this.client = side("client", options, this.named);
    this.server = side("server", options, this.named);
  }

  /** Attaches a new connection: each side resends what the other has not received. */
  connect(): void {
    assert.equal(this.up, null, "connect: already connected");
    const up = new Pipe(this.server.peer, this.server.receiveErrors, (p) => this.tap?.("up", p) ?? true);
    const down = new Pipe(this.client.peer, this.client.receiveErrors, (p) => this.tap?.("down", p) ?? true);
    this.up = up;
    this.down = down;
    this.pipes.push({ up, down });
    // hello carries the client's recv, welcome the server's.
    this.server.peer.attach(down.link, this.client.peer.received);
    this.client.peer.attach(up.link, this.server.peer.received);
  }

  /** Cuts the connection; `keepUp`/`keepDown` packets in flight still arrive. */
  disconnect(keepUp = 0, keepDown = 0): void {
    const { up, down } = this;
    if (up === null || down === null) return;
    this.client.peer.detach(up.link);
    this.server.peer.detach(down.link);
    up.cut(keepUp);
    down.cut(keepDown);
    this.up = null;
    this.down = null;
  }

  /** A pipe of the current connection was cut by the tap: detach both sides (the link closed). */
  reapDeadConnection(): boolean {
    if (this.up !== null && this.down !== null && (!this.up.isAlive || !this.down.isAlive)) {
      this.disconnect(this.up.inFlight, this.down.inFlight);
      return true;
    }
    return false;
  }

  /** Nothing in flight on any pipe. */
  get idle(): boolean {
    return this.pipes.every(({ up, down }) => up.inFlight === 0 && down.inFlight === 0);
  }

  /** Waits until nothing is in flight for a few turns in a row (so answers to answers are through too). */
  async quiesce(maxTurns = 2_000): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < maxTurns; i++) {
      await turn();
      quiet = this.idle ? quiet + 1 : 0;
      if (quiet >= 3) return;
    }
    assert.fail(`the pair did not become idle within ${maxTurns} turns`);
  }

  /** Every frame that went client → server (or server → client) on any connection. */
  framesSent(direction: "up" | "down"): Frame[] {
    return this.pipes.flatMap((p) => p[direction].sent.flatMap(framesOf));
  }

  /** The distinct put frames sent in a direction (a resent frame counts once). */
  putsSent(direction: "up" | "down"): number {
    const seqs = new Set<number>();
    for (const frame of this.framesSent(direction)) if (frame.kind === "seq" && frame.op === "p") seqs.add(frame.seq);
    return seqs.size;
  }

  /** No errors anywhere. */
  assertClean(what = "pair"): void {
    for (const [name, record] of [
      ["client", this.client],
      ["server", this.server],
    ] as const) {
      assert.deepStrictEqual(record.receiveErrors.map(String), [], `${what}: ${name} receive threw nothing`);
      assert.deepStrictEqual(record.fatal.map(String), [], `${what}: ${name} had no fatal error`);
      assert.deepStrictEqual(record.peerErrors, [], `${what}: ${name} got no error frame`);
    }
  }
}

/** Takes `n` values from `ch`, in order. */
export async function takeN(ch: Channel<unknown>, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(await ch.take());
  return out;
}

/** A Peer alone with a link that records what it sends, for hand-crafted packets. */
export function lonePeer(kind: "client" | "server", options: PairOptions = {}): SideRecord & { sent: string[]; chat: Channel<unknown>; frames: () => Frame[] } {
  const chat = chan<unknown>();
  const named = options.named ?? new Map<string, NamedTarget>([["chat", { channel: chat as Channel<unknown, unknown> }]]);
  const record = side(kind, options, named);
  const sent: string[] = [];
  record.peer.attach({ oneShot: false, send: (packet) => sent.push(packet) }, 0);
  return Object.assign(record, { sent, chat, frames: () => sent.flatMap(framesOf) });
}

/**
 * A pair at the real acknowledgement delay whose server echoes `{ reply, n }` by putting `n`
 * into `reply`, after `rounds` round trips made one at a time by the client. `beforeRounds`
 * runs once the pair is set up, just before the first (to start counting something).
 */
export async function echoExchanges(rounds: number, beforeRounds?: () => void): Promise<Pair> {
  const pair = new Pair({ ackDelay: ACK_DELAY_MS, window: 128 });
  pair.connect();
  void (async () => {
    for await (const request of pair.chat) {
      const { reply, n } = request as { reply: RemoteChannel<number>; n: number };
      await reply.put(n);
    }
  })();
  const proxy = pair.client.peer.serverChan<{ reply: Channel<number>; n: number }>("chat");
  const reply = chan<number>(1);
  beforeRounds?.();
  for (let n = 0; n < rounds; n++) {
    void proxy.put({ reply, n });
    assert.equal(await reply.take(), n);
  }
  return pair;
}
