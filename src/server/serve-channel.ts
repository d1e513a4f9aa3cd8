import { type Buffer, chan, type Channel, isChannel, type Mult } from "../csp/index.js";
import { spawn } from "../csp/spawn.js";
import type { Connection } from "./connection.js";
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
  /** The SSE event type of each value. Default none (the browser's `message` event). */
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

/** A connection that can say when its writes have drained (the SSE and HTTP adapters). */
interface Drainable {
  drained(): Promise<void>;
}

function canDrain(conn: Connection): conn is Connection & Drainable {
  return typeof (conn as Partial<Drainable>).drained === "function";
}

/**
 * A handler that serves a channel as an HTML5 server-sent-event feed (seed 001): each value
 * JSON-encoded as one event with an increasing `id` (1, 2, … per client), the next value
 * taken only once the previous write has drained, so a slow reader slows its producer
 * instead of growing a queue. The response ends when the channel closes.
 *
 * A plain channel is shared: each value goes to one client. A `mult` gives each client its
 * own tap (see {@link ServeChannelOptions.tapBuffer}), removed when the client leaves. A
 * request that does not accept `text/event-stream` gets 406.
 */
export function serveChannel(source: Channel<unknown, unknown> | Mult<unknown>, options: ServeChannelOptions = {}): Handler {
  const resolved: ResolvedOptions = { ...serveChannelDefaults, ...options };
  return function serveChannelHandler(req) {
    if (req.transport !== "sse") {
      return { status: 406, body: "this is a server-sent-event feed: request it with Accept: text/event-stream" };
    }
    const initial = resolved.initial?.(req) ?? [];
    withChannel(req, (conn) => spawn(feed(conn, source, initial, resolved), "serveChannel"));
    return undefined;
  };
}

async function feed(
  conn: Connection,
  source: Channel<unknown, unknown> | Mult<unknown>,
  initial: Iterable<unknown>,
  options: ResolvedOptions,
): Promise<void> {
  const tap = isChannel(source) ? null : source.tap(chan(options.tapBuffer));
  const ch = tap ?? (source as Channel<unknown, unknown>);
  // A take still pending when the client leaves would swallow a value meant for another
  // client of a shared channel: abort it.
  const leaving = new AbortController();
  conn.onClose(() => {
    leaving.abort();
    if (tap !== null) {
      (source as Mult<unknown>).untap(tap);
      tap.close();
    }
  });
  let id = 0;
  const sendOne = (value: unknown): boolean => {
    const data = encodeOrReport(options.encode, value);
    if (data === undefined) return conn.isOpen; // skipped; the feed goes on
    return conn.send({ data, id: String(++id), ...(options.event === undefined ? {} : { event: options.event }) });
  };
  for (const value of initial) if (!sendOne(value)) return;
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
    if (!sendOne(value)) return;
    if (canDrain(conn)) await conn.drained();
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
