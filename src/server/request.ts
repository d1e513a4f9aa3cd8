import type { IncomingMessage } from "node:http";
import { WirechanError } from "../csp/errors.js";
import type { Connection, RequestInfo, Transport } from "./connection.js";

/** A request body larger than `maxMessageSize`: answered 413 when a handler lets it escape. */
export class PayloadTooLargeError extends WirechanError {
  readonly status = 413;

  constructor(readonly limit: number) {
    super(
      "ERR_PAYLOAD_TOO_LARGE",
      `request body larger than ${limit} bytes; raise the server option maxMessageSize to accept it`,
    );
  }
}

/** The body was read before wirechan saw the request (a body parser mounted in front of it). */
export class BodyConsumedError extends WirechanError {
  constructor() {
    super(
      "ERR_BODY_CONSUMED",
      "the request body was already read by something else: mount wirechan before body parsers (see docs/mounting.md)",
    );
  }
}

/** What a handler receives: the request, and the transport it would get from `withChannel`. */
export interface ServerRequest extends RequestInfo {
  /** `"websocket"` for an upgrade, `"sse"` when it accepts `text/event-stream`, else `"http"`. */
  readonly transport: Transport;
  /** The SSE `Last-Event-ID` header (a reconnecting EventSource sends it). */
  readonly lastEventId: string | undefined;
  /** The path without the query. */
  readonly path: string;
  /** The query parameters. */
  readonly query: URLSearchParams;
  /**
   * Reads the whole body (once; later calls get the same promise), at most `maxMessageSize`
   * bytes; rejects with a {@link PayloadTooLargeError} beyond (the server then answers 413),
   * or a {@link BodyConsumedError} if something else read it first.
   */
  body(): Promise<Uint8Array>;
  /** The body as UTF-8 text; same limit. */
  text(): Promise<string>;
}

/** Chooses the transport of a request, as http-kit does, from its headers. */
export function transportOf(raw: IncomingMessage): Transport {
  if ((raw.headers.upgrade ?? "").toLowerCase() === "websocket") return "websocket";
  if ((raw.headers.accept ?? "").includes("text/event-stream")) return "sse";
  return "http";
}

/** Internal state the server keeps per request: whether a handler took it over. */
export interface Takeover {
  fn: ((connection: Connection) => void) | null;
}

export const takeovers = new WeakMap<ServerRequest, Takeover>();

/**
 * Takes over the request as a {@link Connection}, whatever the transport, and calls `fn`
 * with it once it is open (http-kit's `with-channel`). The handler then returns nothing.
 * Throws a `TypeError` if `req` is not a request of this server or was already taken over.
 */
export function withChannel(req: ServerRequest, fn: (connection: Connection) => void): void {
  const takeover = takeovers.get(req);
  if (takeover === undefined) {
    throw new TypeError("withChannel needs the request object a wirechan handler received");
  }
  if (takeover.fn !== null) throw new TypeError("withChannel was already called for this request");
  takeover.fn = fn;
}

/** Builds the handler's view of a request. */
export function makeServerRequest(raw: IncomingMessage, maxMessageSize: number): ServerRequest {
  const url = new URL(raw.url ?? "/", "http://localhost");
  const lastEventId = raw.headers["last-event-id"];
  // Read once, however often the handler asks: the stream cannot be read twice.
  let body: Promise<Uint8Array> | undefined;
  const req: ServerRequest = {
    method: raw.method ?? "GET",
    url: raw.url ?? "/",
    headers: raw.headers,
    remoteAddress: raw.socket.remoteAddress ?? "",
    raw,
    transport: transportOf(raw),
    lastEventId: typeof lastEventId === "string" ? lastEventId : undefined,
    path: url.pathname,
    query: url.searchParams,
    body: () => (body ??= readBody(raw, maxMessageSize)),
    text: async () => new TextDecoder().decode(await (body ??= readBody(raw, maxMessageSize))),
  };
  takeovers.set(req, { fn: null });
  return req;
}

/**
 * Reads a request body up to `limit` bytes, refusing early on a larger Content-Length. Past
 * the limit the rest is read and discarded (not destroyed), so the 413 can still be sent.
 */
export function readBody(raw: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (raw.readableEnded || raw.readableDidRead) {
      // Somebody (a body parser mounted before wirechan) read it already: waiting for 'end'
      // would hang this handler and hold its connection slot for good.
      reject(new BodyConsumedError());
      return;
    }
    const declared = Number(raw.headers["content-length"] ?? NaN);
    if (declared > limit) {
      raw.resume();
      reject(new PayloadTooLargeError(limit));
      return;
    }
    const reader = new BodyReader(raw, limit, resolve, reject);
    raw.on("data", reader.onData);
    raw.once("end", reader.onEnd);
    raw.once("error", reader.onError);
    raw.once("close", reader.onClose);
  });
}

class BodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly raw: IncomingMessage,
    private readonly limit: number,
    private readonly resolve: (body: Uint8Array) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.raw.off("data", this.onData);
      this.raw.off("end", this.onEnd);
      this.raw.resume();
      this.reject(new PayloadTooLargeError(this.limit));
      return;
    }
    this.chunks.push(chunk);
  };

  readonly onEnd = (): void => {
    this.resolve(Buffer.concat(this.chunks, this.size));
  };

  readonly onError = (error: unknown): void => {
    this.reject(error);
  };

  /** The client went away mid-body: settle (after 'end' this rejection is ignored). */
  readonly onClose = (): void => {
    this.reject(new WirechanError("ERR_BODY_ABORTED", "the client closed the connection before sending the whole body"));
  };
}
