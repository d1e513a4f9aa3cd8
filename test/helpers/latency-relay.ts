// A TCP relay for tests that puts a network's latency back between a client and a server on
// 127.0.0.1. Loopback delivers in microseconds, which hides races a real network shows: a
// WebSocket that opens after its fallback already started, a POST that lands before the stream
// it refers to. Every chunk is held for a one-way delay in each direction (optionally a longer one
// for the handshake of chosen connections), in order and with bounded buffering, and pairs can be
// reset all at once or at seeded random moments for chaos tests.
import { connect, createServer, type Server, type Socket } from "node:net";
import { DELAY_LINE_LIMITS, DelayLine } from "./delay-line.js";
import { asksForWebSocket, checkPort, closeServer, HEADER_END, hardKill, HOST, ignoreError, listenOnLoopback, Mulberry32 } from "../../scripts/net/tcp-kit.js";

/** Which connections get the handshake latency. */
export type HandshakeScope = "websocket" | "every";

export interface LatencyRelayOptions {
  /** Where to forward: the real server's port on 127.0.0.1. */
  targetPort: number;
  /** One-way delay, in ms, of every chunk in both directions; default 0. Changeable with setLatency. */
  latencyMs?: number;
  /**
   * One-way delay, in ms, of a connection's handshake bytes, used instead of latencyMs for them:
   * the client's first request head (up to its empty line) and the server's first response head.
   * Bytes after a head get latencyMs (they can't overtake the head). Default: no handshake delay.
   * Meant for HTTP traffic: on a stream that isn't HTTP the first 64 KiB count as the head.
   */
  handshakeLatencyMs?: number;
  /**
   * "websocket" (default): only connections whose first request asks for a WebSocket upgrade
   * get the handshake delay, so a test can slow the upgrade while POSTs and SSE stay fast; the
   * relay then holds each connection's first request head until it is complete, to decide
   * (so a raw client that sends a few non-HTTP bytes and waits for an answer would wait forever).
   * Server bytes that come before the client's first request head is complete get latencyMs.
   * "every": every connection's first request and first response heads.
   */
  handshakeScope?: HandshakeScope;
  /**
   * Cuts every chunk, both ways, into pieces of at most this many bytes, each released a
   * millisecond after the one before, so that the receiver reads them apart: a character's
   * UTF-8 bytes, a frame's header or an HTTP line are split between reads, as a slow or
   * congested network splits them. Default: chunks go as they came. An integer from 1.
   */
  pieceBytes?: number;
}

export interface RandomCutOptions {
  /** The wait before each cut round is drawn uniformly from [min, max] ms. */
  everyMs: readonly [number, number];
  /** Each open pair is cut with this probability at each round; default: exactly one random open pair per round. */
  probability?: number;
  /** Seeds the draws (waits, picks) so the choices replay; default Date.now(). */
  seed?: number;
  /** Stops by itself after this many cuts; default: until stopCutting or close. */
  maxCuts?: number;
}

/** The relay's bounds, for tests that check them. */
export const LATENCY_RELAY_LIMITS = {
  /** Past this many open pairs new clients are dropped, so a runaway reconnect loop can't exhaust file descriptors. */
  maxPairs: 1_000,
  /** A direction's delay queue stops reading its source at this many bytes (or at maxQueuedChunks) until it drains. */
  queuedBytesPerDirection: DELAY_LINE_LIMITS.queuedBytes,
  /** The same for the number of chunks, so a trickle of tiny chunks can't grow the queue either. */
  maxQueuedChunks: DELAY_LINE_LIMITS.queuedChunks,
  /**
   * What one pair may hold in all (both queues, the held first request head, both sockets' read
   * and write buffers): the queues' limits plus a chunk or two per socket buffer.
   */
  bufferedBytesPerPair: 2 * 1024 * 1024,
} as const;

/** A first request head longer than this isn't waited for: it gets the ordinary latency. */
const MAX_HEADER_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** Finds where an HTTP head ends in a stream seen chunk by chunk, up to MAX_HEADER_BYTES. */
class HeadScanner {
  done = false;
  private seen = 0;
  /** The last bytes of the previous chunk, so an empty line split across chunks is found. */
  private tail: Buffer = EMPTY;

  /** How many leading bytes of `chunk` still belong to the head (all of them until its end is found). */
  feed(chunk: Buffer): number {
    if (this.done) return 0;
    const joined = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk]);
    const at = joined.indexOf(HEADER_END);
    if (at !== -1) {
      this.done = true;
      return at + HEADER_END.length - this.tail.length;
    }
    this.seen += chunk.length;
    if (this.seen > MAX_HEADER_BYTES) this.done = true;
    this.tail = Buffer.from(joined.subarray(Math.max(0, joined.length - (HEADER_END.length - 1))));
    return chunk.length;
  }
}

/** How a pair ended, which decides whether it counts as a cut. */
type PairEnd = "cut" | "error" | "closed" | "shutdown";

/** Whether this pair's handshake is delayed: decided at once, or (scope "websocket") once its first request head is in. */
type HandshakeDecision = "pending" | "yes" | "no";

/** One relayed connection: the accepted client socket, the upstream socket, and a delay line each way. */
class RelayPair {
  private readonly up: DelayLine;
  private readonly down: DelayLine;
  private decision: HandshakeDecision;
  /** The first request's bytes while the decision is pending. */
  private held: Buffer = EMPTY;
  private readonly requestHead = new HeadScanner();
  private readonly responseHead = new HeadScanner();
  private closedSides = 0;
  private ended = false;

  constructor(
    private readonly state: RelayState,
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly handshakeMs: number | undefined,
    scope: HandshakeScope,
  ) {
    this.up = new DelayLine(client, upstream);
    this.down = new DelayLine(upstream, client);
    this.decision = handshakeMs === undefined ? "no" : scope === "every" ? "yes" : "pending";
    client.on("error", this.onError);
    upstream.on("error", this.onError);
    client.on("data", this.onClientData);
    upstream.on("data", this.onUpstreamData);
    client.on("end", this.onClientEnd);
    upstream.on("end", this.onUpstreamEnd);
    client.on("close", this.onSocketClose);
    upstream.on("close", this.onSocketClose);
  }

  get bufferedBytes(): number {
    const { client, upstream } = this;
    const sockets = client.writableLength + upstream.writableLength + client.readableLength + upstream.readableLength;
    return this.up.queuedBytes + this.down.queuedBytes + this.held.length + sockets;
  }

  /** Closes the pair; every end but a graceful one resets both sockets. False if it was already over. */
  end(how: PairEnd): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.up.stop();
    this.down.stop();
    this.held = EMPTY;
    if (how !== "closed") {
      hardKill(this.client);
      hardKill(this.upstream);
    }
    this.state.pairEnded(this, how);
    return true;
  }

  private readonly onError = (): void => {
    this.end("error");
  };

  private readonly onClientData = (chunk: Buffer): void => {
    if (this.ended) return;
    if (this.decision === "pending") this.hold(chunk);
    else this.sendUp(chunk);
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (this.ended) return;
    // The server spoke first: whatever it sends isn't a response head to slow down, even if the request turns out to be an upgrade.
    if (this.decision === "pending") this.responseHead.done = true;
    const head = this.decision === "yes" ? this.responseHead.feed(chunk) : 0;
    this.split(chunk, head, this.down);
  };

  /** Half-closes are passed on, after the bytes before them. */
  private readonly onClientEnd = (): void => {
    if (this.ended) return;
    if (this.decision === "pending") this.decide("no");
    this.up.pushEnd(this.state.latencyMs);
  };

  private readonly onUpstreamEnd = (): void => {
    if (!this.ended) this.down.pushEnd(this.state.latencyMs);
  };

  /** Both sockets gone on their own (FIN both ways): the pair is over without a cut. */
  private readonly onSocketClose = (): void => {
    this.closedSides += 1;
    if (this.closedSides === 2) this.end("closed");
  };

  /** Keeps the first request's bytes until its head is complete, to see whether it asks for a WebSocket. */
  private hold(chunk: Buffer): void {
    this.held = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const end = this.held.indexOf(HEADER_END);
    if (end !== -1) this.decide(asksForWebSocket(this.held.toString("latin1", 0, end)) ? "yes" : "no");
    else if (this.held.length > MAX_HEADER_BYTES) this.decide("no");
  }

  /** The held bytes arrived just now as far as the delay goes: the head's last byte is what the relay waited for. */
  private decide(decision: HandshakeDecision): void {
    this.decision = decision;
    const held = this.held;
    this.held = EMPTY;
    this.sendUp(held);
  }

  private sendUp(chunk: Buffer): void {
    const head = this.decision === "yes" ? this.requestHead.feed(chunk) : 0;
    this.split(chunk, head, this.up);
  }

  /** Queues the first `head` bytes with the handshake delay and the rest with the ordinary latency. */
  private split(chunk: Buffer, head: number, line: DelayLine): void {
    const latency = this.state.latencyMs;
    if (head === 0) {
      this.queue(line, chunk, latency);
      return;
    }
    this.queue(line, head < chunk.length ? chunk.subarray(0, head) : chunk, this.handshakeMs ?? latency);
    if (head < chunk.length) this.queue(line, chunk.subarray(head), latency);
  }

  /** Queues `bytes` whole, or in pieces of `pieceBytes` a millisecond apart. */
  private queue(line: DelayLine, bytes: Buffer, delayMs: number): void {
    const piece = this.state.pieceBytes;
    if (piece === undefined) {
      line.push(bytes, delayMs);
      return;
    }
    for (let at = 0; at < bytes.length; at += piece) line.push(bytes.subarray(at, at + piece), delayMs, 1);
  }
}

/** Cuts open pairs at seeded random moments until stopped or maxCuts is reached. */
class RandomCutter {
  private timer: NodeJS.Timeout | undefined;
  private made = 0;

  constructor(
    private readonly state: RelayState,
    private readonly random: Mulberry32,
    private readonly options: RandomCutOptions,
  ) {}

  start(): void {
    const [min, max] = this.options.everyMs;
    this.timer = setTimeout(this.onRound, this.random.between(min, max));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onRound = (): void => {
    this.timer = undefined;
    const { maxCuts } = this.options;
    for (const pair of this.pick([...this.state.pairs])) {
      if (maxCuts !== undefined && this.made >= maxCuts) break;
      if (pair.end("cut")) this.made += 1;
    }
    if (maxCuts !== undefined && this.made >= maxCuts) this.state.stopCutting();
    else this.start();
  };

  /** This round's victims, in the pairs' accept order. */
  private pick(pairs: RelayPair[]): RelayPair[] {
    const { probability } = this.options;
    if (probability !== undefined) return pairs.filter(() => this.random.next() < probability);
    if (pairs.length === 0) return [];
    const one = pairs[this.random.between(0, pairs.length - 1)];
    return one === undefined ? [] : [one];
  }
}

/** The relay's state and rules, kept apart from LatencyRelay so its public surface stays the documented one. */
class RelayState {
  readonly pairs = new Set<RelayPair>();
  accepted = 0;
  cuts = 0;
  closed = false;
  cutter: RandomCutter | undefined;

  constructor(
    private readonly targetPort: number,
    public latencyMs: number,
    public handshakeMs: number | undefined,
    public scope: HandshakeScope,
    readonly pieceBytes: number | undefined,
  ) {}

  get bufferedBytes(): number {
    let total = 0;
    for (const pair of this.pairs) total += pair.bufferedBytes;
    return total;
  }

  readonly onConnection = (client: Socket): void => {
    client.on("error", ignoreError);
    if (this.closed || this.pairs.size >= LATENCY_RELAY_LIMITS.maxPairs) {
      client.destroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect({ host: HOST, port: this.targetPort, allowHalfOpen: true, noDelay: true });
    this.pairs.add(new RelayPair(this, client, upstream, this.handshakeMs, this.scope));
  };

  cutAll(): number {
    let cut = 0;
    for (const pair of [...this.pairs]) if (pair.end("cut")) cut += 1;
    return cut;
  }

  stopCutting(): void {
    this.cutter?.stop();
    this.cutter = undefined;
  }

  pairEnded(pair: RelayPair, how: PairEnd): void {
    this.pairs.delete(pair);
    if (how === "cut") this.cuts += 1;
  }

  shutdown(): void {
    this.closed = true;
    this.stopCutting();
    for (const pair of [...this.pairs]) pair.end("shutdown");
  }
}

function checkDelay(what: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`LatencyRelay: ${what} must be a finite number >= 0, got ${ms}`);
}

/**
 * A TCP relay on 127.0.0.1 that delays every chunk by a one-way latency in each direction, bytes
 * (and half-closes) delivered in order, with bounded buffering (see LATENCY_RELAY_LIMITS), and
 * can reset its pairs on demand or at seeded random moments.
 */
export class LatencyRelay {
  readonly port: number;
  readonly url: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly state: RelayState,
    port: number,
  ) {
    this.port = port;
    this.url = `http://${HOST}:${port}`;
  }

  /** Listens on an OS-chosen port, so parallel test files never collide. */
  static async start(options: LatencyRelayOptions): Promise<LatencyRelay> {
    const { targetPort, latencyMs = 0, handshakeLatencyMs, handshakeScope = "websocket", pieceBytes } = options;
    checkPort("LatencyRelay", targetPort);
    checkDelay("latencyMs", latencyMs);
    if (handshakeLatencyMs !== undefined) checkDelay("handshakeLatencyMs", handshakeLatencyMs);
    if (pieceBytes !== undefined && (!Number.isInteger(pieceBytes) || pieceBytes < 1)) {
      throw new RangeError(`LatencyRelay: pieceBytes must be an integer from 1, got ${pieceBytes}`);
    }
    const state = new RelayState(targetPort, latencyMs, handshakeLatencyMs, handshakeScope, pieceBytes);
    const server = createServer({ allowHalfOpen: true, noDelay: true }, state.onConnection);
    const port = await listenOnLoopback("LatencyRelay", server);
    return new LatencyRelay(server, state, port);
  }

  /** The current one-way latency, in ms. */
  get latencyMs(): number {
    return this.state.latencyMs;
  }

  /** Pairs (client socket, upstream socket) currently open. */
  get openConnections(): number {
    return this.state.pairs.size;
  }

  /** Connections accepted and relayed so far; over-limit ones are not counted. */
  get accepted(): number {
    return this.state.accepted;
  }

  /** Pairs reset by cutAll or cutRandomly so far (not peer errors or graceful closes). */
  get cuts(): number {
    return this.state.cuts;
  }

  /** Bytes the relay holds over all pairs: delay queues, held request heads, both sockets' buffers. */
  get bufferedBytes(): number {
    return this.state.bufferedBytes;
  }

  /**
   * Sets the one-way latency for chunks that arrive from now on, both directions. Queued chunks
   * keep their release time, and a later chunk never overtakes an earlier one: after lowering the
   * latency, new bytes wait behind the old.
   */
  setLatency(ms: number): void {
    checkDelay("latencyMs", ms);
    this.state.latencyMs = ms;
  }

  /** Sets (or, with undefined, removes) the handshake delay for connections accepted from now on. */
  setHandshakeLatency(ms: number | undefined, scope: HandshakeScope = this.state.scope): void {
    if (ms !== undefined) checkDelay("handshakeLatencyMs", ms);
    this.state.handshakeMs = ms;
    this.state.scope = scope;
  }

  /**
   * Resets every open pair at once (an RST both ways, like a network failure); queued bytes are
   * lost, as they would be. Returns how many pairs were cut. A peer that was sent bytes just
   * before may see a clean end instead of ECONNRESET (libuv reports "data, then reset" as EOF).
   */
  cutAll(): number {
    return this.state.cutAll();
  }

  /**
   * Starts cutting at random: after a wait drawn from `everyMs`, cuts one random open pair (or,
   * with `probability`, each open pair with that probability), and again, until stopCutting,
   * close, or `maxCuts` cuts. A round with no open pair cuts nothing. Returns the seed used, for
   * the failure message: it replays the draws, though what they hit depends on the timing.
   * Replaces a random cutting already under way.
   */
  cutRandomly(options: RandomCutOptions): number {
    const [min, max] = options.everyMs;
    if (!Number.isSafeInteger(min) || min < 0 || !Number.isSafeInteger(max) || max < min) throw new RangeError(`LatencyRelay.cutRandomly: need integers 0 <= everyMs[0] <= everyMs[1], got ${min} and ${max}`);
    const { probability, maxCuts } = options;
    if (probability !== undefined && !(probability > 0 && probability <= 1)) throw new RangeError(`LatencyRelay.cutRandomly: probability must be in (0, 1], got ${probability}`);
    if (maxCuts !== undefined && (!Number.isSafeInteger(maxCuts) || maxCuts < 1)) throw new RangeError(`LatencyRelay.cutRandomly: maxCuts must be a positive integer, got ${maxCuts}`);
    if (this.state.closed) throw new Error("LatencyRelay.cutRandomly: the relay is closed");
    const seed = options.seed ?? Date.now();
    this.state.stopCutting();
    const cutter = new RandomCutter(this.state, new Mulberry32(seed), options);
    this.state.cutter = cutter;
    cutter.start();
    return seed;
  }

  /** Stops random cutting; a no-op if none is under way. */
  stopCutting(): void {
    this.state.stopCutting();
  }

  /** Stops listening, stops cutting and resets every pair; resolves once all is closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = closeServer(this.server);
    this.state.shutdown();
    await closed;
  }
}
