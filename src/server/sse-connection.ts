import type { IncomingMessage, ServerResponse } from "node:http";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { MAX_TIMEOUT_MS } from "../csp/timeout.js";
import { SLOW_CONSUMER_CLOSE_CODE } from "../wire/protocol.js";
import type { RequestInfo, SendData } from "./connection.js";
import type { EncodedMessage } from "./encoded-message.js";
import { ResponseConnection } from "./http-connection.js";
import { encodeSseComment, encodeSseEvent, sseHeaders } from "./sse-codec.js";
import type { AdapterOptions, ServerConnection } from "./transport.js";

/** What the SSE adapter needs beyond every adapter's options. */
export interface SseAdapterOptions extends AdapterOptions {
  /** Interval of the comment heartbeat, in ms; 0 turns it off. */
  heartbeat: number;
  /** The request's `Last-Event-ID` header, sent by a reconnecting EventSource. */
  lastEventId?: string;
}

/** An SSE connection, which also knows the last event id a reconnecting client saw. */
export type SseConnection = ServerConnection & {
  readonly lastEventId: string | undefined;
  /** @internal see SseResponseConnection.sendFrame */
  sendFrame(frame: Uint8Array): boolean;
  /** @internal see SseResponseConnection.sendEncoded */
  sendEncoded(message: EncodedMessage): boolean;
};

class SseResponseConnection extends ResponseConnection implements SseConnection {
  readonly transport = "sse";
  readonly lastEventId: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, request: RequestInfo, options: SseAdapterOptions) {
    super(req, res, request, options);
    this.lastEventId = options.lastEventId;
    // Events are small and should arrive as they are sent, not when Nagle sees fit.
    req.socket.setNoDelay(true);
    res.writeHead(200, streamHeaders(options.extraHeaders));
    // The head goes out now, so the client's EventSource opens before the first event.
    res.flushHeaders();
    this.notifier.add(this.stopHeartbeat);
    if (options.heartbeat > 0 && this.isOpen) {
      this.heartbeat = setInterval(this.beat, options.heartbeat);
      // An idle stream is no reason for the process to stay up.
      this.heartbeat.unref();
    }
  }

  send(data: SendData, close = false): boolean {
    if (this.notifier.closed) return false;
    // Encoding first: a bad id or event throws here, before anything reaches the stream.
    const frame = toFrame(data);
    if (close) {
      this.finish(frame);
      return true;
    }
    return frame === undefined ? true : this.write(frame);
  }

  /**
   * @internal Writes an event already framed by `encodeSseEvent`: how a broadcast frames
   * once and writes the same bytes to every stream. False once closed (or dropped as slow).
   */
  sendFrame(frame: Uint8Array): boolean {
    if (this.notifier.closed) return false;
    return this.write(frame);
  }

  /**
   * @internal A group broadcast's message: its SSE event, framed and encoded once for every
   * stream ({@link EncodedMessage.sseEvent}), written as `sendFrame` writes.
   */
  sendEncoded(message: EncodedMessage): boolean {
    if (this.notifier.closed) return false;
    return this.write(message.sseEvent);
  }

  protected endResponse(): void {
    this.res.end();
  }

  /**
   * Any end makes an EventSource reconnect, so a slow consumer's stream is ended behind its
   * backlog (see `endBehindBacklog`), with a comment saying why for a reader that looks.
   */
  protected override dropSlowConsumer(): void {
    this.endBehindBacklog(slowConsumerComment);
  }

  private readonly beat = (): void => {
    this.write(encodeSseComment());
  };

  private readonly stopHeartbeat = (): void => {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  };
}

/** The last line of a slow consumer's stream: a comment, which an EventSource ignores. */
const slowConsumerComment = `: ${SLOW_CONSUMER_CLOSE_CODE} slow consumer (maxBufferedBytes)\n\n`;

/**
 * `extraHeaders` and then `sseHeaders`, which win: the framing depends on them. Names are
 * lowercased so `Content-Type` in `extraHeaders` is replaced, not sent twice.
 */
function streamHeaders(extraHeaders: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
  return { ...headers, ...sseHeaders };
}

/**
 * The wire text of what `send` accepts on SSE; undefined for `{ status, headers }` without
 * a body, which has nothing to send. Throws a `TypeError`: `ERR_SSE_FIELD` from
 * `encodeSseEvent`, or `ERR_SEND_DATA` for data that is none of the accepted shapes.
 */
function toFrame(data: SendData): string | undefined {
  if (typeof data === "string" || data instanceof Uint8Array) return encodeSseEvent({ data });
  if (typeof data !== "object" || data === null) {
    throw new WirechanTypeError("ERR_SEND_DATA", `send needs a string, bytes, an SSE event or { body }, got ${typeof data}`);
  }
  if ("data" in data) return encodeSseEvent(data);
  const body: unknown = data.body;
  if (body === undefined) return undefined;
  if (typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw new WirechanTypeError("ERR_SEND_DATA", `a response body must be a string or bytes, got ${typeof body}`);
  }
  return encodeSseEvent({ data: body });
}

/**
 * Takes over a request as a server-sent events stream. The 200 head (`sseHeaders` and
 * `options.extraHeaders`) is written and flushed at once, so the client's `open` fires.
 *
 * `send(data, close = false)`: a string or bytes is one event with that data (bytes are
 * decoded as UTF-8); `{ data, id?, event?, retry? }` is that event; `{ status?, headers?,
 * body? }` sends its body as one event's data (status and headers are ignored: the head is
 * already written; no body, no event). With `close` true the event is written and the
 * response ends. `send` returns false once the connection is closed, and throws a
 * `TypeError` (`ERR_SSE_FIELD`) for CR or LF in an id or event, NUL in an id or a bad
 * `retry`, or (`ERR_SEND_DATA`) for data of another shape; a throwing send writes nothing
 * and leaves the stream open.
 *
 * A comment heartbeat goes out every `options.heartbeat` ms while open (0: none); its timer
 * never keeps the process alive and stops when the connection closes. Throws a `RangeError`
 * (`ERR_SSE_HEARTBEAT`) for a heartbeat that is negative, not finite or above 2^31 - 1 ms,
 * before touching the response. `lastEventId` is `options.lastEventId`.
 *
 * `close`, `onClose`, `goAway` and `destroy` behave as on plain HTTP (see
 * `createHttpConnection`); `onReceive` listeners are never called. Past `maxBufferedBytes` the
 * client is a slow consumer, reported `{ by: "server", code: 4008, reason: "slow consumer" }`
 * as on plain HTTP, but its stream is ended rather than cut (an EventSource reconnects after
 * either): behind what was queued, with a last comment `: 4008 slow consumer
 * (maxBufferedBytes)`, and its socket destroyed if that is not out within a second.
 */
export function createSseConnection(
  req: IncomingMessage,
  res: ServerResponse,
  request: RequestInfo,
  options: SseAdapterOptions,
): SseConnection {
  const { heartbeat } = options;
  if (!Number.isFinite(heartbeat) || heartbeat < 0 || heartbeat > MAX_TIMEOUT_MS) {
    throw new WirechanRangeError(
      "ERR_SSE_HEARTBEAT",
      `the SSE heartbeat must be between 0 (off) and ${MAX_TIMEOUT_MS} ms, got ${String(heartbeat)}`,
    );
  }
  return new SseResponseConnection(req, res, request, options);
}
