import { type Buffer, chan, type Channel, isChannel, type Mult, mult, WirechanRangeError, WirechanTypeError, xf } from "../csp/index.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import { spawn } from "../csp/spawn.js";
import { MAX_TIMEOUT_MS } from "../csp/timeout.js";
import type { Connection } from "./connection.js";
import { type FeedConnection, FeedFanout, type FrameSink, type FrameSource, tapPolicyOf } from "./feed-fanout.js";
import { checkHistoryBound, FeedHistory, type FeedEvent } from "./feed-history.js";
import { encodeSseEvent } from "./sse-codec.js";
import { withChannel, type ServerRequest } from "./request.js";
import type { Handler } from "./types.js";

/** Options of {@link serveChannel}; defaults in {@link serveChannelDefaults}. */
export interface ServeChannelOptions {
  /**
   * For a `mult`: the buffer each client's tap behaves as having. Default `256` (a fixed
   * buffer, as the JUXT seed): a client that falls 256 values behind holds the feed back (for
   * up to `slowClientTimeout`), so back-pressure reaches the producer and nothing is dropped
   * (`0`: it holds the feed back at once). Pass `slidingBuffer(n)` to let a slow client miss
   * old values instead, or `droppingBuffer(n)` to let it miss new ones; either way it never
   * holds the others back. Such a buffer object is only read for its kind and size: every
   * client gets a queue of its own. A `Buffer` of any other class becomes the buffer of a
   * real tap per client, the same object for each, so it suits one client at a time (and
   * holds the feed back for as long as that client is stuck: `slowClientTimeout` does not
   * apply). A number that is neither 0 nor a positive integer: `RangeError`
   * (`ERR_BUFFER_SIZE`), thrown by `serveChannel`.
   */
  tapBuffer?: number | Buffer<unknown>;
  /**
   * For a `mult` with a fixed `tapBuffer` (a number or `buffer(n)`): how long, in ms, a client
   * whose queue is full may hold the feed back. Default `5000`. Past it the feed goes on
   * without it: its events are written to its connection without waiting for drain, so it
   * loses nothing if it reads again, and once more than the server's `maxBufferedBytes` wait
   * there it is dropped (close status 4008 "slow consumer"), as a slow consumer is by Centrifugo
   * or socket.io. Why: a client that stopped reading never drains, so without this bound one
   * frozen tab would stall the producer and every other client for as long as its socket
   * lives. A client that drains in time is held to its buffer as before (back-pressure).
   * `Infinity`: hold the feed for as long as the client stays. Not `Infinity` nor from 0 to
   * 2^31 - 1: `RangeError` (`ERR_TIMEOUT_DELAY`), thrown by `serveChannel`.
   */
  slowClientTimeout?: number;
  /**
   * For a `mult`: how many recent events are kept so that a client reconnecting with
   * `Last-Event-ID` (as `EventSource` does) gets those it missed before the live feed, with
   * no gap and no repeat. Default `256`; `0` keeps none. Ids are `<epoch>-<n>`, the epoch
   * eight hex digits random per handler, so an id from before a restart (when `n` starts at 1
   * again) is known to be foreign instead of being taken for a place in this feed. A client
   * whose id is older than what is kept, or not an id of this handler (another process,
   * garbage: a client that sends an id believes it has seen events, so it is not taken for a
   * new one), first gets a `wirechan-reset` event (JSON data `{ reason: "expired" | "unknown",
   * resumesFrom }`, `resumesFrom` the id of the first event that follows), then every kept
   * event, then the live feed: it learns that it missed events instead of missing them
   * silently. Without `Last-Event-ID` a client starts with the live feed. A plain channel
   * gives each value to one client, so there is nothing of a client's own to replay: it keeps
   * no history and ignores `Last-Event-ID`. While no client is connected to a mult feed its
   * values are still framed and kept (with `0`, only counted, so a returning client is told).
   * Not 0 nor a positive integer: `RangeError` (`ERR_BUFFER_SIZE`).
   */
  history?: number;
  /** The bytes (of framed events) the history keeps at most, oldest dropped first. Default 1 MiB; `0` keeps none. */
  historyBytes?: number;
  /** The SSE event type of each value. Default none (the browser's `message` event). CR or LF in it: `TypeError` (`ERR_SSE_FIELD`). */
  event?: string;
  /** Turns a value into the event's data. Default `JSON.stringify`. */
  encode?: (value: unknown) => string;
  /** Values sent to each client first, before the feed (the seed's "It works!"). Default none. */
  initial?: (req: ServerRequest) => Iterable<unknown>;
  /** Where a value the encoder could not encode is reported (it is skipped). Default the console. */
  logger?: Logger;
}

/** The defaults of {@link ServeChannelOptions}. */
export const serveChannelDefaults: Required<Pick<ServeChannelOptions, "tapBuffer" | "slowClientTimeout" | "history" | "historyBytes" | "encode" | "logger">> = {
  tapBuffer: 256,
  slowClientTimeout: 5_000,
  history: 256,
  historyBytes: 1024 * 1024,
  encode: (value: unknown): string => JSON.stringify(value),
  logger: consoleLogger,
};

type ResolvedOptions = ServeChannelOptions & typeof serveChannelDefaults;

function isFrameSink(conn: Connection): conn is FeedConnection {
  const sink = conn as Partial<FrameSink>;
  return typeof sink.drained === "function" && typeof sink.sendFrame === "function";
}

/**
 * Encodes and frames values, numbering the feed's events: one sequence per `serveChannel`, so
 * every client sees increasing ids and a value sent to many clients is one set of bytes. Each
 * event is kept in the history as it is framed, in sequence order.
 */
class Framer implements FrameSource {
  constructor(
    private readonly options: ResolvedOptions,
    readonly history: FeedHistory,
  ) {}

  /** The next feed event, or undefined for a value the encoder cannot encode (reported; no id used). */
  readonly frame = (value: unknown): FeedEvent | undefined => {
    const data = encodeOrReport(this.options, value);
    if (data === undefined) return undefined;
    const frame = this.build(data, this.history.next());
    this.history.record(frame);
    return frame;
  };

  /**
   * A value nobody is connected for: framed only if the history keeps it for a client that
   * comes back; numbered either way, so that client is told it missed one.
   */
  readonly missed = (value: unknown): void => {
    if (this.history.keeps) this.frame(value);
    else this.history.next();
  };

  /** An `initial` value: sent to one client ahead of the feed, with no id of its own. */
  readonly initial = (value: unknown): FeedEvent | undefined => {
    const data = encodeOrReport(this.options, value);
    return data === undefined ? undefined : this.build(data, 0);
  };

  private build(data: string, seq: number): FeedEvent {
    const event = encodeSseEvent({
      data,
      ...(seq === 0 ? {} : { id: this.history.idOf(seq) }),
      ...(this.options.event === undefined ? {} : { event: this.options.event }),
    });
    return { bytes: Buffer.from(event, "utf8"), seq };
  }
}

/**
 * A handler that serves a channel as an HTML5 server-sent-event feed (seed 001): each value
 * JSON-encoded as one event with an increasing `id` (`<epoch>-<n>`), a client's next value
 * written only once its previous write has drained, so a slow reader slows its producer
 * instead of growing a queue. The response ends when the channel closes, after what was
 * queued for it is written.
 *
 * A plain channel is shared: each value goes to one client. With a `mult` each client behaves
 * as if it had its own tap (see {@link ServeChannelOptions.tapBuffer}), dropped when the
 * client leaves. The handler takes one tap of its own on the mult (when the first client
 * comes) and fans each value out to every client in one synchronous pass, encoded and framed
 * once: written at once to each client that keeps up, queued (bounded by the tap buffer's
 * size and policy) for one whose connection waits for drain. A fixed-buffer client that falls
 * that far behind makes the fan-out wait before taking the next value, which holds the mult,
 * and so the producer, back, for at most {@link ServeChannelOptions.slowClientTimeout}. Ids
 * come from one sequence per handler, so a client that joins later starts at a higher id;
 * `initial` values carry no id. A client of a mult that reconnects with `Last-Event-ID` gets
 * what it missed first (see {@link ServeChannelOptions.history}). A request that does not
 * accept `text/event-stream` gets 406.
 *
 * Throws a `TypeError` (`ERR_SSE_FIELD`) for CR or LF in `event`; a `RangeError`
 * (`ERR_BUFFER_SIZE`) for a bad `history` or `historyBytes`, or, for a `mult`, a bad
 * `tapBuffer` number; a `RangeError` (`ERR_TIMEOUT_DELAY`) for a bad `slowClientTimeout`.
 */
export function serveChannel(source: Channel<unknown, unknown> | Mult<unknown>, options: ServeChannelOptions = {}): Handler {
  const resolved = resolveOptions(options);
  if (resolved.event !== undefined) encodeSseEvent({ data: "", event: resolved.event }); // a bad event name throws here, not per value
  const shared = isChannel(source);
  // A shared channel gives each value to one client: nothing of a client's own to replay.
  const history = new FeedHistory(shared ? 0 : resolved.history, shared ? 0 : resolved.historyBytes);
  const framer = new Framer(resolved, history);
  const join = shared ? sharedChannelJoiner(source, framer) : multJoiner(source, resolved, framer);
  return function serveChannelHandler(req) {
    if (req.transport !== "sse") {
      return { status: 406, body: "this is a server-sent-event feed: request it with Accept: text/event-stream" };
    }
    const initial = [...(resolved.initial?.(req) ?? [])].map(framer.initial);
    const lastEventId = req.lastEventId;
    withChannel(req, function joinFeed(conn) {
      if (!isFrameSink(conn)) throw new WirechanTypeError("ERR_WITH_CHANNEL", "serveChannel needs an SSE connection of this server");
      join(conn, initial, lastEventId);
    });
    return undefined;
  };
}

/** The defaults under the options (an option given as `undefined` keeps its default); throws for a bad one. */
function resolveOptions(options: ServeChannelOptions): ResolvedOptions {
  const resolved = {
    ...options,
    tapBuffer: options.tapBuffer ?? serveChannelDefaults.tapBuffer,
    slowClientTimeout: options.slowClientTimeout ?? serveChannelDefaults.slowClientTimeout,
    history: options.history ?? serveChannelDefaults.history,
    historyBytes: options.historyBytes ?? serveChannelDefaults.historyBytes,
    encode: options.encode ?? serveChannelDefaults.encode,
    logger: options.logger ?? serveChannelDefaults.logger,
  };
  const timeout = resolved.slowClientTimeout;
  if (timeout !== Infinity && !(timeout >= 0 && timeout <= MAX_TIMEOUT_MS)) {
    throw new WirechanRangeError(
      "ERR_TIMEOUT_DELAY",
      `serveChannel's slowClientTimeout needs Infinity or 0 <= ms <= ${MAX_TIMEOUT_MS}, got ${String(timeout)}`,
    );
  }
  checkHistoryBound("history", resolved.history);
  checkHistoryBound("historyBytes", resolved.historyBytes);
  return resolved;
}

/**
 * Starts a client's feed on its connection, after its `initial` frames; `lastEventId` is the
 * request's `Last-Event-ID`, read in the same turn as the client joins the live feed.
 */
type Joiner = (conn: FeedConnection, initial: ReadonlyArray<FeedEvent | undefined>, lastEventId: string | undefined) => void;

function sharedChannelJoiner(ch: Channel<unknown, unknown>, framer: Framer): Joiner {
  const source: FeedSource = { ch, tapOf: null, toFrame: framer.frame, seen: 0 };
  return function joinSharedChannel(conn, initial) {
    spawn(feed(conn, initial, source), "serveChannel");
  };
}

function multJoiner(m: Mult<unknown>, options: ResolvedOptions, framer: Framer): Joiner {
  const policy = tapPolicyOf(options.tapBuffer);
  if (policy === null) return customTapJoiner(m, options, framer);
  const fanoutOptions = { policy, slowClientTimeout: options.slowClientTimeout };
  let fanout: FeedFanout | null = null;
  return function joinFanout(conn, initial, lastEventId) {
    // Made for the first client: a handler nobody requests takes nothing from the mult.
    fanout ??= new FeedFanout(m, framer, fanoutOptions);
    fanout.add(conn, initial, framer.history.resume(lastEventId));
  };
}

/**
 * A `tapBuffer` of a kind the fan-out cannot mimic: a real tap per client, with a loop and a
 * promise per client per value, fed from one tap of this handler's own that frames each value
 * once. Such a client is held to its buffer however long it stays stuck: the tap is the
 * user's own `Buffer`, whose full state only the mult's waiting put can honour.
 */
function customTapJoiner(m: Mult<unknown>, options: ResolvedOptions, framer: Framer): Joiner {
  let frames: Mult<FeedEvent> | null = null;
  return function joinCustomTap(conn, initial, lastEventId) {
    frames ??= mult(m.tap(chan<FeedEvent, unknown>(1, xf.keep(framer.frame))));
    const { reset, frames: missed } = framer.history.resume(lastEventId);
    // Frames already framed may still be on their way to the new tap: those are skipped live,
    // having been replayed or come before this client.
    const seen = framer.history.lastSeq;
    spawn(feed(conn, [...initial, reset ?? undefined, ...missed], tapFrames(frames, options, seen)), "serveChannel");
  };
}

/** Where one client's events come from: a channel, the mult it is tapped from, and how a value becomes a frame. */
interface FeedSource {
  readonly ch: Channel<unknown, unknown>;
  readonly tapOf: Mult<FeedEvent> | null;
  readonly toFrame: (value: unknown) => FeedEvent | undefined;
  /** Frames numbered up to this one are not sent from the channel (the client has them, or came after them). */
  readonly seen: number;
}

function tapFrames(frames: Mult<FeedEvent>, options: ResolvedOptions, seen: number): FeedSource {
  const tap = frames.tap(chan<FeedEvent>(options.tapBuffer as number | Buffer<FeedEvent>));
  return { ch: tap, tapOf: frames, toFrame: (value) => value as FeedEvent, seen };
}

/** `first` (initial and replayed frames) once each has drained, then the channel's values, each once the last one drained. */
async function feed(conn: FeedConnection, first: ReadonlyArray<FeedEvent | undefined>, source: FeedSource): Promise<void> {
  const { ch, tapOf, toFrame, seen } = source;
  // A take still pending when the client leaves would swallow a value meant for another
  // client of a shared channel: abort it.
  const leaving = new AbortController();
  conn.onClose(() => {
    leaving.abort();
    if (tapOf !== null) {
      tapOf.untap(ch as Channel<unknown, FeedEvent>);
      ch.close();
    }
  });
  for (const frame of first) {
    if (frame === undefined) continue;
    if (!conn.sendFrame(frame.bytes)) return;
    await conn.drained();
  }
  for (;;) {
    let value: unknown;
    try {
      value = await ch.take({ signal: leaving.signal });
    } catch {
      return; // the client left
    }
    if (value === undefined) {
      conn.close();
      return;
    }
    const frame = toFrame(value);
    if (frame !== undefined && frame.seq > seen && !conn.sendFrame(frame.bytes)) return;
    await conn.drained();
  }
}

/** A value the encoder cannot turn into text (a BigInt, a cycle …) is reported and skipped, not fatal. */
function encodeOrReport({ encode, logger }: Pick<ResolvedOptions, "encode" | "logger">, value: unknown): string | undefined {
  try {
    const data = encode(value);
    if (typeof data === "string") return data;
    logger.error(`serveChannel skipped a value its encoder turned into ${typeof data}`);
  } catch (error) {
    logger.error("serveChannel skipped a value its encoder could not encode:", error);
  }
  return undefined;
}
