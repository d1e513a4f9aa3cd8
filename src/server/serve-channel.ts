import { type Buffer, chan, type Channel, isChannel, type Mult, mult, xf } from "../csp/index.js";
import { spawn } from "../csp/spawn.js";
import type { Connection } from "./connection.js";
import { type FeedConnection, FeedFanout, type Frame, type FrameSink, tapPolicyOf } from "./feed-fanout.js";
import { encodeSseEvent } from "./sse-codec.js";
import { withChannel, type ServerRequest } from "./request.js";
import type { Handler } from "./server.js";

/** Options of {@link serveChannel}; defaults in {@link serveChannelDefaults}. */
export interface ServeChannelOptions {
  /**
   * For a `mult`: the buffer each client's tap behaves as having. Default `256` (a fixed
   * buffer, as the JUXT seed): a client that falls 256 values behind holds the feed back, so
   * back-pressure reaches the producer and nothing is dropped (`0`: it holds the feed back at
   * once). Pass `slidingBuffer(n)` to let a slow client miss old values instead, or
   * `droppingBuffer(n)` to let it miss new ones; either way it never holds the others back.
   * Such a buffer object is only read for its kind and size: every client gets a queue of
   * its own. A `Buffer` of any other class becomes the buffer of a real tap per client, the
   * same object for each, so it suits one client at a time. A number that is neither 0 nor a
   * positive integer: `RangeError` (`ERR_BUFFER_SIZE`), thrown by `serveChannel`.
   */
  tapBuffer?: number | Buffer<unknown>;
  /** The SSE event type of each value. Default none (the browser's `message` event). CR or LF in it: `TypeError` (`ERR_SSE_FIELD`). */
  event?: string;
  /** Turns a value into the event's data. Default `JSON.stringify`. */
  encode?: (value: unknown) => string;
  /** Values sent to each client first, before the feed (the seed's "It works!"). Default none. */
  initial?: (req: ServerRequest) => Iterable<unknown>;
}

/** The defaults of {@link ServeChannelOptions}. */
export const serveChannelDefaults: Required<Pick<ServeChannelOptions, "tapBuffer" | "encode">> = {
  tapBuffer: 256,
  encode: (value: unknown): string => JSON.stringify(value),
};

type ResolvedOptions = ServeChannelOptions & typeof serveChannelDefaults;

function isFrameSink(conn: Connection): conn is FeedConnection {
  const sink = conn as Partial<FrameSink>;
  return typeof sink.drained === "function" && typeof sink.sendFrame === "function";
}

/**
 * Encodes and frames values, numbering the feed's events: one sequence per `serveChannel`, so
 * every client sees increasing ids and a value sent to many clients is one set of bytes.
 */
class Framer {
  private seq = 0;

  constructor(private readonly options: ResolvedOptions) {}

  /** The next feed event, or undefined for a value the encoder cannot encode (reported; no id used). */
  readonly frame = (value: unknown): Frame | undefined => {
    const data = encodeOrReport(this.options.encode, value);
    return data === undefined ? undefined : this.build(data, String(++this.seq));
  };

  /** An `initial` value: sent to one client ahead of the feed, with no id of its own. */
  readonly initial = (value: unknown): Frame | undefined => {
    const data = encodeOrReport(this.options.encode, value);
    return data === undefined ? undefined : this.build(data, undefined);
  };

  private build(data: string, id: string | undefined): Frame {
    const event = encodeSseEvent({
      data,
      ...(id === undefined ? {} : { id }),
      ...(this.options.event === undefined ? {} : { event: this.options.event }),
    });
    return { bytes: Buffer.from(event, "utf8") };
  }
}

/**
 * A handler that serves a channel as an HTML5 server-sent-event feed (seed 001): each value
 * JSON-encoded as one event with an increasing `id`, a client's next value written only once
 * its previous write has drained, so a slow reader slows its producer instead of growing a
 * queue. The response ends when the channel closes, after what was queued for it is written.
 *
 * A plain channel is shared: each value goes to one client. With a `mult` each client behaves
 * as if it had its own tap (see {@link ServeChannelOptions.tapBuffer}), dropped when the
 * client leaves. The handler takes one tap of its own on the mult (when the first client
 * comes) and fans each value out to every client in one synchronous pass, encoded and framed
 * once: written at once to each client that keeps up, queued (bounded by the tap buffer's
 * size and policy) for one whose connection waits for drain. A fixed-buffer client that falls
 * that far behind makes the fan-out wait before taking the next value, which holds the mult,
 * and so the producer, back. Ids come from one sequence per handler, so a client that joins
 * later starts at a higher id; `initial` values carry no id. A request that does not accept
 * `text/event-stream` gets 406.
 *
 * Throws a `TypeError` (`ERR_SSE_FIELD`) for CR or LF in `event`, and for a `mult`, a
 * `RangeError` (`ERR_BUFFER_SIZE`) for a bad `tapBuffer` number.
 */
export function serveChannel(source: Channel<unknown, unknown> | Mult<unknown>, options: ServeChannelOptions = {}): Handler {
  const resolved = resolveOptions(options);
  if (resolved.event !== undefined) encodeSseEvent({ data: "", event: resolved.event }); // a bad event name throws here, not per value
  const framer = new Framer(resolved);
  const join = isChannel(source) ? sharedChannelJoiner(source, framer) : multJoiner(source, resolved, framer);
  return function serveChannelHandler(req) {
    if (req.transport !== "sse") {
      return { status: 406, body: "this is a server-sent-event feed: request it with Accept: text/event-stream" };
    }
    const initial = [...(resolved.initial?.(req) ?? [])].map(framer.initial);
    withChannel(req, (conn) => {
      if (!isFrameSink(conn)) throw new TypeError("serveChannel needs an SSE connection of this server");
      join(conn, initial);
    });
    return undefined;
  };
}

/** The defaults under the options; an option given as `undefined` keeps its default. */
function resolveOptions(options: ServeChannelOptions): ResolvedOptions {
  return {
    ...options,
    tapBuffer: options.tapBuffer ?? serveChannelDefaults.tapBuffer,
    encode: options.encode ?? serveChannelDefaults.encode,
  };
}

/** Starts a client's feed on its connection, after its `initial` frames. */
type Joiner = (conn: FeedConnection, initial: ReadonlyArray<Frame | undefined>) => void;

function sharedChannelJoiner(ch: Channel<unknown, unknown>, framer: Framer): Joiner {
  const source: FeedSource = { ch, tapOf: null, toFrame: framer.frame };
  return (conn, initial) => spawn(feed(conn, initial, source), "serveChannel");
}

function multJoiner(m: Mult<unknown>, options: ResolvedOptions, framer: Framer): Joiner {
  const policy = tapPolicyOf(options.tapBuffer);
  if (policy === null) return customTapJoiner(m, options, framer);
  let fanout: FeedFanout | null = null;
  return (conn, initial) => {
    // Made for the first client: a handler nobody requests takes nothing from the mult.
    fanout ??= new FeedFanout(m, framer.frame, policy);
    fanout.add(conn, initial);
  };
}

/**
 * A `tapBuffer` of a kind the fan-out cannot mimic: a real tap per client, with a loop and a
 * promise per client per value, fed from one tap of this handler's own that frames each value
 * once.
 */
function customTapJoiner(m: Mult<unknown>, options: ResolvedOptions, framer: Framer): Joiner {
  let frames: Mult<Frame> | null = null;
  return (conn, initial) => {
    frames ??= mult(m.tap(chan<Frame, unknown>(1, xf.keep(framer.frame))));
    spawn(feed(conn, initial, tapFrames(frames, options)), "serveChannel");
  };
}

/** Where one client's events come from: a channel, the mult it is tapped from, and how a value becomes a frame. */
interface FeedSource {
  readonly ch: Channel<unknown, unknown>;
  readonly tapOf: Mult<Frame> | null;
  readonly toFrame: (value: unknown) => Frame | undefined;
}

function tapFrames(frames: Mult<Frame>, options: ResolvedOptions): FeedSource {
  const tap = frames.tap(chan<Frame>(options.tapBuffer as number | Buffer<Frame>));
  return { ch: tap, tapOf: frames, toFrame: (value) => value as Frame };
}

async function feed(conn: FeedConnection, initial: ReadonlyArray<Frame | undefined>, source: FeedSource): Promise<void> {
  const { ch, tapOf, toFrame } = source;
  // A take still pending when the client leaves would swallow a value meant for another
  // client of a shared channel: abort it.
  const leaving = new AbortController();
  conn.onClose(() => {
    leaving.abort();
    if (tapOf !== null) {
      tapOf.untap(ch as Channel<unknown, Frame>);
      ch.close();
    }
  });
  for (const frame of initial) if (frame !== undefined && !conn.sendFrame(frame.bytes)) return;
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
    if (frame !== undefined && !conn.sendFrame(frame.bytes)) return;
    await conn.drained();
  }
}

/** A value the encoder cannot turn into text (a BigInt, a cycle …) is reported and skipped, not fatal. */
function encodeOrReport(encode: (value: unknown) => string, value: unknown): string | undefined {
  try {
    const data = encode(value);
    if (typeof data === "string") return data;
    console.error("wirechan: serveChannel skipped a value its encoder turned into", typeof data);
  } catch (error) {
    console.error("wirechan: serveChannel skipped a value its encoder could not encode:", error);
  }
  return undefined;
}
