// A TCP proxy for tests that breaks connections on purpose. It sits between a test client and a
// real server on 127.0.0.1 and cuts connections when told to, or at seeded random byte offsets, so
// a test can check that a reconnecting protocol neither loses nor repeats anything. It can also
// play an unreachable server (refusing connections) and a corporate proxy that blocks WebSocket.
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { asksForWebSocket, hardKill, HEADER_END, HOST, ignoreError, Mulberry32 } from "../../scripts/net/tcp-kit.js";

export interface FaultProxyOptions {
  /** Where to forward: the real server's port on 127.0.0.1. */
  targetPort: number;
  /** Seeded pseudo-random source so a failing run can be replayed; default Date.now(). */
  seed?: number;
}

/** Past this many open pairs new clients are dropped, so a runaway reconnect loop can't exhaust file descriptors. */
const MAX_PAIRS = 10_000;
/** Request headers longer than this are forwarded uninspected rather than held without bound. */
const MAX_HEADER_BYTES = 64 * 1024;
const FORBIDDEN = Buffer.from("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "latin1");
const EMPTY = Buffer.alloc(0);
/** How long a random cut waits for forwarded bytes to be written: a peer that stops reading can't hold a cut back forever. */
const FLUSH_GRACE_MS = 100;

/** One `cutRandomly` call: how many cuts are still to be decided and still to happen, and its promise. */
class RandomCutPlan {
  /** Pairs still to be picked for a cut; arming stops at 0 so the plan never cuts more than `count`. */
  toDoom: number;
  /** Picked cuts that still have to happen; the promise resolves at 0. */
  toCut: number;
  readonly done: Promise<void>;
  private settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(
    readonly count: number,
    readonly minBytes: number,
    readonly maxBytes: number,
  ) {
    this.toDoom = count;
    this.toCut = count;
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  resolve(): void {
    this.settle?.resolve();
  }

  reject(error: Error): void {
    this.settle?.reject(error);
  }
}

/** How a pair ended, which decides whether it counts as a cut. */
type PairEnd = "cut" | "error" | "closed" | "shutdown";

/**
 * One proxied connection: the client socket the proxy accepted and the upstream socket it opened
 * to the target. Forwards both ways with back-pressure, counts the bytes forwarded (the random
 * cut points are offsets into that count), and owns the first-request inspection.
 */
class Pair {
  /** Bytes forwarded so far, both directions together, since the pair opened. */
  private forwarded = 0;
  /** The `forwarded` count at which a random cut is due, if this pair is armed. */
  private cutAt: number | undefined;
  private armedBy: RandomCutPlan | undefined;
  /** Set once the pair was picked for a random cut; it then forwards nothing more. */
  doomedBy: RandomCutPlan | undefined;
  /** Writes not yet handed to the kernel: a random cut waits for them, so "forward the first part, then cut" holds. */
  private pendingWrites = 0;
  /** Until the client's first request headers are seen, its bytes are held here. */
  private inspecting = true;
  private held: Buffer = EMPTY;
  /** Answered 403: the rest of the client's bytes are dropped. */
  private blocked = false;
  private closedSides = 0;
  private ended = false;

  constructor(
    private readonly board: Switchboard,
    readonly client: Socket,
    readonly upstream: Socket,
  ) {
    client.on("error", this.onError);
    upstream.on("error", this.onError);
    client.on("data", this.onClientData);
    upstream.on("data", this.onUpstreamData);
    client.on("drain", this.onClientDrain);
    upstream.on("drain", this.onUpstreamDrain);
    client.on("end", this.onClientEnd);
    upstream.on("end", this.onUpstreamEnd);
    client.on("close", this.onSocketClose);
    upstream.on("close", this.onSocketClose);
  }

  /** Bytes this pair holds in memory: what waits in either socket's buffers plus held headers. */
  get bufferedBytes(): number {
    const { client, upstream } = this;
    return client.writableLength + upstream.writableLength + client.readableLength + upstream.readableLength + this.held.length;
  }

  /** Schedules a random cut once `threshold` bytes have been forwarded (at once if they already were). */
  armCut(threshold: number, plan: RandomCutPlan): void {
    if (this.ended || this.doomedBy !== undefined) return;
    this.cutAt = threshold;
    this.armedBy = plan;
    if (this.forwarded >= threshold) this.doom();
  }

  /** Cancels a scheduled random cut; a cut already under way still happens. */
  disarm(): void {
    this.cutAt = undefined;
    this.armedBy = undefined;
  }

  /**
   * Closes the pair and reports it to the board; false if it was already closed. Every end but a
   * graceful one resets both sockets, so both peers see the same failure.
   */
  end(how: PairEnd): boolean {
    if (this.ended) return false;
    this.ended = true;
    if (how !== "closed") {
      hardKill(this.client);
      hardKill(this.upstream);
    }
    this.board.pairEnded(this, how);
    return true;
  }

  private readonly onError = (): void => {
    this.end("error");
  };

  private readonly onClientData = (chunk: Buffer): void => {
    if (!this.forwarding) return;
    if (this.inspecting) this.inspect(chunk);
    else this.forward(chunk, this.upstream, this.client);
  };

  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (this.forwarding) this.forward(chunk, this.client, this.upstream);
  };

  /** The client drained what upstream sent: let upstream's bytes flow again. */
  private readonly onClientDrain = (): void => {
    if (this.forwarding) this.upstream.resume();
  };

  private readonly onUpstreamDrain = (): void => {
    if (this.forwarding) this.client.resume();
  };

  /** Half-closes are passed on, so request/response protocols that end their side still work. */
  private readonly onClientEnd = (): void => {
    if (!this.forwarding) return;
    if (this.inspecting) this.release(this.held);
    if (this.forwarding) this.upstream.end();
  };

  private readonly onUpstreamEnd = (): void => {
    if (this.forwarding) this.client.end();
  };

  /** Both sockets gone on their own (FIN both ways, or the 403 path): the pair is over without a cut. */
  private readonly onSocketClose = (): void => {
    this.closedSides += 1;
    if (this.closedSides === 2) this.end("closed");
  };

  private readonly onWritten = (): void => {
    this.pendingWrites -= 1;
    if (this.doomedBy !== undefined && this.pendingWrites === 0) this.scheduleCut();
  };

  /** One event-loop turn for the peers to read what was forwarded; see scheduleCut. */
  private readonly onPeersRead = (): void => {
    setImmediate(this.onCutDue);
  };

  private readonly onCutDue = (): void => {
    this.end("cut");
  };

  /** After 403 the socket is closed for good, whatever the client still sends. */
  private readonly onForbiddenSent = (): void => {
    this.client.destroy();
  };

  private get forwarding(): boolean {
    return !this.ended && !this.blocked && this.doomedBy === undefined;
  }

  /**
   * Holds the client's bytes until the end of its first request's headers, to catch a WebSocket
   * upgrade before any of it reaches the server. Decided chunk by chunk, so turning blocking off
   * releases a held request at the next chunk.
   */
  private inspect(chunk: Buffer): void {
    if (!this.board.blockWebSocket) {
      this.release(this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]));
      return;
    }
    const held = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const end = held.indexOf(HEADER_END);
    if (end === -1 && held.length <= MAX_HEADER_BYTES) {
      this.held = held;
    } else if (end !== -1 && end + HEADER_END.length <= MAX_HEADER_BYTES && asksForWebSocket(held.toString("latin1", 0, end))) {
      this.block();
    } else {
      this.release(held);
    }
  }

  /** Inspection is over: forward what was held and everything after it as is. */
  private release(data: Buffer): void {
    this.inspecting = false;
    this.held = EMPTY;
    if (data.length > 0) this.forward(data, this.upstream, this.client);
  }

  private block(): void {
    this.inspecting = false;
    this.held = EMPTY;
    this.blocked = true;
    this.upstream.destroy();
    this.client.end(FORBIDDEN, this.onForbiddenSent);
  }

  /**
   * Writes `chunk` on, cut short at a due random cut point. Pauses the source when the
   * destination's buffer is full (resumed on drain), so the proxy never buffers without bound.
   */
  private forward(chunk: Buffer, to: Socket, from: Socket): void {
    const room = this.cutAt === undefined ? chunk.length : Math.max(0, this.cutAt - this.forwarded);
    const part = room < chunk.length ? chunk.subarray(0, room) : chunk;
    this.forwarded += part.length;
    if (part.length > 0) {
      this.pendingWrites += 1;
      if (!to.write(part, this.onWritten)) from.pause();
    }
    if (this.cutAt !== undefined && this.forwarded >= this.cutAt) this.doom();
  }

  /**
   * Picks this pair for its random cut: nothing more is read or forwarded, and the reset waits
   * until every byte already forwarded (including the split chunk's first part) is written out.
   */
  private doom(): void {
    const plan = this.armedBy;
    if (plan === undefined) return;
    this.disarm();
    this.doomedBy = plan;
    this.client.pause();
    this.upstream.pause();
    this.board.pairDoomed(plan);
    if (this.pendingWrites === 0) this.scheduleCut();
    else setTimeout(this.onCutDue, FLUSH_GRACE_MS).unref();
  }

  /**
   * Resets the pair after the peers (when in this process, as in most tests) have had a poll
   * phase to read the last bytes. Reset at once, the RST lands right behind the data, and libuv
   * reports "data then hang-up" as a clean EOF: the peer would see 'end', not ECONNRESET, and
   * the cut would look like a graceful close. The first setImmediate runs before the next poll,
   * the second after it.
   */
  private scheduleCut(): void {
    setImmediate(this.onPeersRead);
  }
}

/** The proxy's state and rules, kept apart from FaultProxy so its public surface stays exactly the documented one. */
class Switchboard {
  readonly pairs = new Set<Pair>();
  accepted = 0;
  cuts = 0;
  refusing = false;
  blockWebSocket = false;
  closed = false;
  plan: RandomCutPlan | undefined;

  constructor(
    private readonly targetPort: number,
    private readonly random: Mulberry32,
  ) {}

  get bufferedBytes(): number {
    let total = 0;
    for (const pair of this.pairs) total += pair.bufferedBytes;
    return total;
  }

  readonly onConnection = (client: Socket): void => {
    client.on("error", ignoreError);
    if (this.closed || this.refusing) {
      hardKill(client);
      return;
    }
    if (this.pairs.size >= MAX_PAIRS) {
      client.destroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect({ host: HOST, port: this.targetPort, allowHalfOpen: true, noDelay: true });
    const pair = new Pair(this, client, upstream);
    this.pairs.add(pair);
    const plan = this.plan;
    if (plan !== undefined && plan.toDoom > 0) pair.armCut(this.random.between(plan.minBytes, plan.maxBytes), plan);
  };

  cutAll(): number {
    let cut = 0;
    for (const pair of [...this.pairs]) if (pair.end("cut")) cut += 1;
    return cut;
  }

  cutRandomly(plan: RandomCutPlan): void {
    this.plan = plan;
    for (const pair of [...this.pairs]) {
      if (plan.toDoom === 0 || this.plan !== plan) break;
      pair.armCut(this.random.between(plan.minBytes, plan.maxBytes), plan);
    }
  }

  stopCutting(reason: string): void {
    const plan = this.plan;
    if (plan === undefined) return;
    this.plan = undefined;
    for (const pair of this.pairs) pair.disarm();
    plan.reject(new Error(`FaultProxy: random cutting was ${reason} after ${plan.count - plan.toCut} of ${plan.count} cuts`));
  }

  /** A pair was picked for a cut; once the plan has picked `count`, no other pair may be cut by it. */
  pairDoomed(plan: RandomCutPlan): void {
    plan.toDoom -= 1;
    if (plan.toDoom === 0) for (const pair of this.pairs) pair.disarm();
  }

  pairEnded(pair: Pair, how: PairEnd): void {
    this.pairs.delete(pair);
    const plan = pair.doomedBy;
    if (plan !== undefined) {
      // Picked for a random cut: it counts as that cut however it finally went down, or the plan would wait forever.
      this.cuts += 1;
      plan.toCut -= 1;
      if (plan.toCut === 0) {
        if (this.plan === plan) this.plan = undefined;
        plan.resolve();
      }
    } else if (how === "cut") {
      this.cuts += 1;
    }
  }

  shutdown(): void {
    this.closed = true;
    this.stopCutting("stopped because the proxy closed");
    for (const pair of [...this.pairs]) pair.end("shutdown");
  }
}

/**
 * A fault-injecting TCP proxy on 127.0.0.1 for tests. Bytes pass through unchanged, with
 * back-pressure, until the test cuts connections (all at once or at random offsets), refuses new
 * ones, or blocks WebSocket upgrades.
 */
export class FaultProxy {
  readonly port: number;
  readonly url: string;
  readonly seed: number;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly board: Switchboard,
    seed: number,
    port: number,
  ) {
    this.seed = seed;
    this.port = port;
    this.url = `http://${HOST}:${port}`;
  }

  /** Listens on an OS-chosen port, so parallel test files never collide. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const { targetPort } = options;
    if (!Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65_535) throw new RangeError(`FaultProxy: targetPort must be a TCP port, got ${targetPort}`);
    const seed = options.seed ?? Date.now();
    if (!Number.isFinite(seed)) throw new RangeError(`FaultProxy: seed must be a finite number, got ${seed}`);
    const board = new Switchboard(targetPort, new Mulberry32(seed));
    const server = createServer({ allowHalfOpen: true, noDelay: true }, board.onConnection);
    server.listen(0, HOST);
    await once(server, "listening");
    // After listening, a server error is a failed accept (EMFILE and the like): for the client it is a lost connection, not a reason to crash.
    server.on("error", ignoreError);
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("FaultProxy: the server has no TCP address");
    return new FaultProxy(server, board, seed, address.port);
  }

  /** Pairs (client socket, upstream socket) currently open. */
  get openConnections(): number {
    return this.board.pairs.size;
  }

  /** Total connections accepted and forwarded so far; refused and over-limit ones are not counted. */
  get accepted(): number {
    return this.board.accepted;
  }

  /** Total pairs cut by the proxy so far, by cutAll or cutRandomly (not refusals, 403s or peer errors). */
  get cuts(): number {
    return this.board.cuts;
  }

  /**
   * Bytes the proxy itself holds: both sockets' write and read buffers of every pair, plus held
   * request headers. Lets a test check that a slow reader can't make the proxy buffer without bound.
   */
  get bufferedBytes(): number {
    return this.board.bufferedBytes;
  }

  /**
   * Destroys every open pair at once (both sides, with an RST rather than a FIN, like a network
   * failure). Returns how many pairs were cut. Bytes still in flight are lost, as they would be.
   */
  cutAll(): number {
    return this.board.cutAll();
  }

  /**
   * Starts cutting at random moments: every open pair (and every pair opened while this runs) is
   * cut once a random number of bytes, uniform in [minBytes, maxBytes] and counted both ways from
   * when the pair opened, has been forwarded, splitting a chunk if the cut falls inside it; a pair
   * already past its number is cut at once. Resolves after `count` such cuts; rejects if
   * `stopCutting` or `close` comes first, or if another cutRandomly is still running.
   *
   * The reset waits until the forwarded bytes are written to the kernel and two event-loop turns
   * have passed, so peers in this process read them and then see ECONNRESET. Bytes the kernel
   * could not deliver yet (a peer's receive window was full) are lost with the reset, as on a real
   * network: a peer may receive fewer bytes than were forwarded, never more.
   */
  cutRandomly(options: { count: number; minBytes: number; maxBytes: number }): Promise<void> {
    const { count, minBytes, maxBytes } = options;
    if (!Number.isSafeInteger(count) || count < 1) return Promise.reject(new RangeError(`FaultProxy.cutRandomly: count must be a positive integer, got ${count}`));
    if (!Number.isSafeInteger(minBytes) || minBytes < 0 || !Number.isSafeInteger(maxBytes) || maxBytes < minBytes) {
      return Promise.reject(new RangeError(`FaultProxy.cutRandomly: need integers 0 <= minBytes <= maxBytes, got ${minBytes} and ${maxBytes}`));
    }
    if (this.board.closed) return Promise.reject(new Error("FaultProxy.cutRandomly: the proxy is closed"));
    if (this.board.plan !== undefined) return Promise.reject(new Error("FaultProxy.cutRandomly: already cutting randomly; call stopCutting() first"));
    const plan = new RandomCutPlan(count, minBytes, maxBytes);
    this.board.cutRandomly(plan);
    return plan.done;
  }

  /** Stops random cutting; the pending cutRandomly promise rejects. A cut already under way still happens. */
  stopCutting(): void {
    this.board.stopCutting("stopped");
  }

  /**
   * While true, new connections are accepted and reset at once, as if the server were unreachable.
   * Open pairs are left alone: combine with cutAll to take the whole server away.
   */
  setRefusing(refusing: boolean): void {
    this.board.refusing = refusing;
  }

  /**
   * While true, a client connection whose first request asks for a WebSocket upgrade gets
   * "403 Forbidden" and is closed without reaching the server, as behind a corporate proxy that
   * blocks WebSocket; everything else passes. Only the first request of a connection is looked
   * at, and headers past 64 KiB are forwarded uninspected.
   */
  setBlockWebSocket(block: boolean): void {
    this.board.blockWebSocket = block;
  }

  /** Stops listening and destroys every pair; a pending cutRandomly rejects. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.board.shutdown();
    await closed;
  }
}
