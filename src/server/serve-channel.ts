import { type Buffer, chan, type Channel, isChannel, type Mult, mult, xf } from "../csp/index.js";
import { spawn } from "../csp/spawn.js";
import type { Connection } from "./connection.js";
import { encodeSseEvent } from "./sse-codec.js";
import { withChannel, type ServerRequest } from "./request.js";
import type { Handler } from "./server.js";

/** Options of {@link serveChannel}; defaults in {@link serveChannelDefaults}. */
export interface ServeChannelOptions {
  /**
   * For a `mult`: the buffer of each client's tap. Default `256` (a fixed buffer, as the JUXT
   * seed): a client that falls 256 values behind holds the mult back, so back-pressure
   * reaches the producer and nothing is dropped. Pass `slidingBuffer(n)` to let a slow client
   * miss old values instead, or `droppingBuffer(n)` to let it miss new ones.
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

/** One event of the feed, encoded and framed once, the same bytes for every client. */
interface Frame {
  readonly bytes: Uint8Array;
}

/** An SSE connection of ours: it can wait for drain and write a ready frame. */
interface FrameSink {
  drained(): Promise<void>;
  sendFrame(frame: Uint8Array): boolean;
}

function isFrameSink(conn: Connection): conn is Connection & FrameSink {
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
 * JSON-encoded as one event with an increasing `id`, the next value taken only once the
 * previous write has drained, so a slow reader slows its producer instead of growing a queue.
 * The response ends when the channel closes.
 *
 * A plain channel is shared: each value goes to one client. A `mult` gives each client its
 * own tap (see {@link ServeChannelOptions.tapBuffer}), removed when the client leaves; its
 * values are encoded and framed once, through one tap of this handler's own on the mult
 * (made when the first client comes), and the same bytes are written to every client. Ids
 * come from one sequence per handler, so a client that joins later starts at a higher id;
 * `initial` values carry no id. A request that does not accept `text/event-stream` gets 406.
 */
export function serveChannel(source: Channel<unknown, unknown> | Mult<unknown>, options: ServeChannelOptions = {}): Handler {
  const resolved: ResolvedOptions = { ...serveChannelDefaults, ...options };
  if (resolved.event !== undefined) encodeSseEvent({ data: "", event: resolved.event }); // a bad event name throws here, not per value
  const framer = new Framer(resolved);
  let frames: Mult<Frame> | null = null;
  function framedMult(m: Mult<unknown>): Mult<Frame> {
    // Encode once, fan the frames out: the same bytes for every client.
    frames ??= mult(m.tap(chan<Frame, unknown>(1, xf.keep(framer.frame))));
    return frames;
  }
  return function serveChannelHandler(req) {
    if (req.transport !== "sse") {
      return { status: 406, body: "this is a server-sent-event feed: request it with Accept: text/event-stream" };
    }
    const initial = [...(resolved.initial?.(req) ?? [])].map(framer.initial);
    withChannel(req, (conn) => {
      if (!isFrameSink(conn)) throw new TypeError("serveChannel needs an SSE connection of this server");
      const feedSource = isChannel(source) ? { ch: source, tapOf: null, toFrame: framer.frame } : tapFrames(framedMult(source), resolved);
      spawn(feed(conn, initial, feedSource), "serveChannel");
    });
    return undefined;
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

async function feed(conn: Connection & FrameSink, initial: ReadonlyArray<Frame | undefined>, source: FeedSource): Promise<void> {
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
