import { getDefaultHighWaterMark } from "node:stream";
import {
  type Buffer,
  chan,
  type Channel,
  DroppingBuffer,
  FixedBuffer,
  type Mult,
  SlidingBuffer,
  WirechanRangeError,
} from "../csp/index.js";
import { RingQueue } from "../csp/ring-queue.js";
import { spawn } from "../csp/spawn.js";
import type { Connection } from "./connection.js";
import type { FeedEvent, Resumption } from "./feed-history.js";

export type { FeedEvent } from "./feed-history.js";

/** An SSE connection of ours: it can wait for drain and write a ready frame. */
export interface FrameSink {
  drained(): Promise<void>;
  sendFrame(frame: Uint8Array): boolean;
}

export type FeedConnection = Connection & FrameSink;

/** How a {@link FeedFanout} turns the mult's values into events. */
export interface FrameSource {
  /** The value as the feed's next event, or undefined for one that cannot be encoded. */
  frame(value: unknown): FeedEvent | undefined;
  /** A value that came while no client was connected: it still counts, for the clients that come back. */
  missed(value: unknown): void;
}

/** What the fan-out does with a client that falls behind. */
export interface FanoutOptions {
  readonly policy: TapPolicy;
  /**
   * How long, in ms, a client whose fixed queue is full may hold the feed back before its
   * frames go straight to its connection instead (Infinity: for as long as it stays).
   */
  readonly slowClientTimeout: number;
}

/**
 * What a client's queue does with a value while its connection waits for drain, read from the
 * `tapBuffer` option: the policy of the channel buffer a per-client tap would have had.
 */
export interface TapPolicy {
  /**
   * `fixed`: queue it; with `size` values waiting the next one waits too, and the feed takes
   * nothing more until there is room (a tap of `chan(size)` whose buffer is full parks the
   * mult's put). `sliding`: drop the oldest to make room. `dropping`: drop the new value.
   */
  readonly kind: "fixed" | "sliding" | "dropping";
  /**
   * How many events wait, as a channel buffer counts values (compared with the queue's
   * length, a count of events, never of bytes). 0 only for `fixed`: an unbuffered tap. A count,
   * not a byte budget, is what `tapBuffer` names (a channel buffer's size), so the bytes a
   * client's queue holds are this many events of whatever size their values encode to.
   */
  readonly size: number;
}

/**
 * The policy of a `tapBuffer` option: a number is a fixed buffer (0 unbuffered, as `chan(0)`);
 * a buffer made by `buffer`, `slidingBuffer` or `droppingBuffer` is read for its kind and
 * size only (every client gets a queue of its own). Null for any other `Buffer`, which only a
 * real channel per client can honour. Throws a `RangeError` (`ERR_BUFFER_SIZE`) for a number
 * that is neither 0 nor a positive integer.
 */
export function tapPolicyOf(tapBuffer: number | Buffer<unknown>): TapPolicy | null {
  if (typeof tapBuffer === "number") {
    if (!Number.isInteger(tapBuffer) || tapBuffer < 0) {
      throw new WirechanRangeError(
        "ERR_BUFFER_SIZE",
        `serveChannel's tapBuffer needs 0 (unbuffered), a positive integer or a Buffer, got ${String(tapBuffer)}`,
      );
    }
    return { kind: "fixed", size: tapBuffer };
  }
  if (tapBuffer instanceof FixedBuffer) return { kind: "fixed", size: tapBuffer.size };
  if (tapBuffer instanceof SlidingBuffer) return { kind: "sliding", size: tapBuffer.size };
  if (tapBuffer instanceof DroppingBuffer) return { kind: "dropping", size: tapBuffer.size };
  return null;
}

/**
 * Node's default high-water mark of a socket: past it a response's write returns false and the
 * response waits for 'drain'. Reading `bufferedAmount` against it after each write tells a
 * congested client apart without a promise per client per value; `drained()` is asked only
 * then, and decides. A socket configured with another mark is still bounded by this one.
 */
const CONGESTED_BYTES = getDefaultHighWaterMark(false);

/**
 * Serves one tap of a `mult` to many SSE clients. Each value is framed once and, in one
 * synchronous pass, written to every client that keeps up; a client whose connection waits
 * for drain gets it in a queue of its own instead, bounded by the {@link TapPolicy}, written
 * out when its connection drains. So each client behaves as if it had a tap of its own, at
 * the cost of one loop over the clients per value rather than a channel and a promise each.
 *
 * A fixed-policy client whose queue is full holds the feed back, but only for
 * `slowClientTimeout`: one reader that stopped (a frozen tab, a dead peer whose TCP window is
 * shut) would otherwise stall the producer and every other client for as long as its socket
 * lives, since a client that never drains never reaches the server's `maxBufferedBytes`
 * either. Past the timeout its frames are written straight to its connection, so nothing is
 * lost if it reads again, and the server's `maxBufferedBytes` drops it (4008 "slow consumer")
 * if it does not: back-pressure for a client that is slow for a moment, and a bounded cost,
 * never a stall for everyone, for one that is gone.
 */
export class FeedFanout {
  private readonly clients = new Set<FanoutClient>();
  private readonly tap: Channel<unknown>;
  private ended = false;

  constructor(
    source: Mult<unknown>,
    private readonly frames: FrameSource,
    private readonly options: FanoutOptions,
  ) {
    // A buffer of 1: the mult can hand over the next value while this one is fanned out.
    this.tap = source.tap(chan<unknown>(1));
    spawn(this.run(), "serveChannel fan-out");
  }

  /**
   * Adds a client: `initial` first (written whatever the policy), then what it missed
   * (`resumption`, from the history in this same turn, so no event falls between it and the
   * live feed), then every later value.
   */
  add(conn: FeedConnection, initial: ReadonlyArray<FeedEvent | undefined>, resumption: Resumption): void {
    for (const frame of initial) if (frame !== undefined && !conn.sendFrame(frame.bytes)) return;
    if (!conn.isOpen) return;
    const client = new FanoutClient(conn, this.options, this.clients);
    this.clients.add(client);
    conn.onClose(client.leave);
    client.checkCongestion();
    client.resume(resumption);
    if (this.ended) client.end();
  }

  private async run(): Promise<void> {
    for (;;) {
      const value = await this.tap.take();
      if (value === undefined) break;
      if (this.clients.size === 0) {
        this.frames.missed(value);
        continue;
      }
      const frame = this.frames.frame(value);
      if (frame === undefined) continue;
      const behind = this.fanOut(frame);
      // Back-pressure: the next value waits until every fixed-buffer client has room for it.
      if (behind !== null) for (const client of behind) await client.room();
    }
    this.ended = true;
    for (const client of this.clients) client.end();
  }

  /** Offers the frame to every client; the ones now too far behind to take another, or null. */
  private fanOut(frame: FeedEvent): FanoutClient[] | null {
    let behind: FanoutClient[] | null = null;
    for (const client of this.clients) if (!client.offer(frame)) (behind ??= []).push(client);
    return behind;
  }
}

/**
 * One client of a {@link FeedFanout}: frames go straight to its connection while it keeps up,
 * and to its own queue while the connection waits for drain; the queue is written out, one
 * frame after another while the connection takes them, on each 'drain'. What a reconnecting
 * client missed waits in a backlog written before the queue.
 */
class FanoutClient {
  private readonly queue = new RingQueue<FeedEvent>(2);
  /**
   * Replayed events (and a reset event), ahead of the live ones. Not bound by the tap policy,
   * which is about live values, but by the history they come from.
   */
  private readonly backlog = new RingQueue<FeedEvent>(2);
  private readonly policy: TapPolicy;
  /** Past the high-water mark: nothing more is written until the connection drains. */
  private congested = false;
  /**
   * Its fixed queue stayed full past `slowClientTimeout`: frames are written without waiting
   * for drain, bounded by the server's `maxBufferedBytes`, until the connection drains.
   */
  private unheld = false;
  /** Runs while a fixed queue is over its size, to let the feed go on without this client. */
  private fullTimer: NodeJS.Timeout | undefined;
  /** The feed ended: the response ends once the queue is written. */
  private ending = false;
  private gone = false;
  private roomWaiter: (() => void) | null = null;

  constructor(
    private readonly conn: FeedConnection,
    private readonly options: FanoutOptions,
    private readonly clients: Set<FanoutClient>,
  ) {
    this.policy = options.policy;
  }

  /** Writes or queues a frame. False when a fixed-buffer queue holds more than its size: call {@link room} before the next. */
  offer(frame: FeedEvent): boolean {
    if (this.unheld || (!this.congested && this.queue.length === 0 && this.backlog.length === 0)) {
      this.write(frame);
      return true;
    }
    const { queue, policy } = this;
    switch (policy.kind) {
      case "fixed":
        queue.push(frame);
        if (queue.length <= policy.size) return true;
        this.startFullTimer();
        return false;
      case "sliding":
        if (queue.length >= policy.size) queue.shift();
        queue.push(frame);
        return true;
      case "dropping":
        if (queue.length < policy.size) queue.push(frame);
        return true;
    }
  }

  /** Resolves once the queue is back within its size, the client was let go, or it left. */
  room(): Promise<void> {
    if (this.gone || this.queue.length <= this.policy.size) return Promise.resolve();
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  /** Starts writing what a reconnecting client missed, ahead of everything live. */
  resume({ reset, frames }: Resumption): void {
    if (reset !== null) this.backlog.push(reset);
    for (const frame of frames) this.backlog.push(frame);
    this.flush();
  }

  /** The feed is over: end the response once what is queued is written. */
  end(): void {
    this.ending = true;
    this.flush();
  }

  /** After a write: if the connection now asks for drain, wait for it before writing more. */
  checkCongestion(): void {
    if (this.congested || this.conn.bufferedAmount < CONGESTED_BYTES) return;
    this.congested = true;
    void this.conn.drained().then(this.onDrained);
  }

  /** The connection closed (the client went, or it was closed): drop the queue, nothing else. */
  readonly leave = (): void => {
    if (this.gone) return;
    this.gone = true;
    this.queue.clear();
    this.backlog.clear();
    this.clients.delete(this);
    this.signalRoom();
  };

  private write(frame: FeedEvent): void {
    // False once the connection is closed, or dropped as a slow consumer.
    if (this.conn.sendFrame(frame.bytes)) this.checkCongestion();
    else this.leave();
  }

  private readonly onDrained = (): void => {
    this.congested = false;
    // It reads again: from now on it is held to the policy like any other client.
    this.unheld = false;
    this.flush();
  };

  /** Writes the backlog, then the queue, while the connection takes them (or at once, let go). */
  private flush(): void {
    while ((this.unheld || !this.congested) && !this.gone) {
      const frame = this.backlog.shift() ?? this.queue.shift();
      if (frame === undefined) break;
      this.write(frame);
    }
    if (this.queue.length <= this.policy.size) this.signalRoom();
    if (this.ending && !this.gone && this.backlog.length === 0 && this.queue.length === 0) this.conn.close();
  }

  private startFullTimer(): void {
    const timeout = this.options.slowClientTimeout;
    if (this.fullTimer === undefined && timeout !== Infinity) this.fullTimer = setTimeout(this.stopHolding, timeout);
  }

  /** The queue stayed full for `slowClientTimeout`: stop holding the feed for this client. */
  private readonly stopHolding = (): void => {
    this.fullTimer = undefined;
    this.unheld = true;
    this.flush();
  };

  /** There is room again (or the client was let go, or left): the fan-out may go on. */
  private signalRoom(): void {
    clearTimeout(this.fullTimer);
    this.fullTimer = undefined;
    const resolve = this.roomWaiter;
    this.roomWaiter = null;
    resolve?.();
  }
}
