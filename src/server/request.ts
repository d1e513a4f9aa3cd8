import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { WirechanError, WirechanTypeError } from "../csp/errors.js";
import type { Connection, RequestInfo, ConnectionTransport } from "./connection.js";
import { RequestSummary } from "./request-summary.js";

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

/**
 * The client went away before sending the whole body. Nobody will read an answer: a server
 * answers it 400 and does not report it as a failure.
 */
export class BodyAbortedError extends WirechanError {
  constructor(cause?: unknown) {
    super("ERR_BODY_ABORTED", "the client closed the connection before sending the whole body", cause === undefined ? undefined : { cause });
  }
}

/**
 * The body did not arrive within `bodyTimeout` ms of the handler asking for it (a client
 * sending it a byte at a time): answered 408, the connection closed, so that one client cannot
 * hold a connection slot for as long as it likes.
 */
export class BodyTimeoutError extends WirechanError {
  readonly status = 408;

  constructor(readonly limit: number) {
    super("ERR_BODY_TIMEOUT", `the request body did not arrive within ${limit} ms; raise the server option bodyTimeout to wait longer`);
  }
}

/** What a handler receives: the request, and the transport it would get from `withChannel`. */
export interface ServerRequest extends RequestInfo {
  /** `"websocket"` for an upgrade, `"sse"` when it accepts `text/event-stream`, else `"http"`. */
  readonly transport: ConnectionTransport;
  /** The SSE `Last-Event-ID` header (a reconnecting EventSource sends it). */
  readonly lastEventId: string | undefined;
  /** The path without the query. */
  readonly path: string;
  /** The query parameters. */
  readonly query: URLSearchParams;
  /** The node request, for what this view leaves out (a connection does not keep it). */
  readonly raw: IncomingMessage;
  /**
   * Reads the whole body (once; later calls get the same promise), at most `maxMessageSize`
   * bytes; rejects with a {@link PayloadTooLargeError} beyond (the server then answers 413), a
   * {@link BodyTimeoutError} when it is not complete within `bodyTimeout` ms (408), a
   * {@link BodyAbortedError} when the client leaves mid-body (400), or a
   * {@link BodyConsumedError} if something else read it first.
   */
  body(): Promise<Uint8Array>;
  /** The body as UTF-8 text; same limit. */
  text(): Promise<string>;
}

/** Chooses the transport of a request, as http-kit does, from its headers. */
export function transportOf(raw: IncomingMessage): ConnectionTransport {
  if ((raw.headers.upgrade ?? "").toLowerCase() === "websocket") return "websocket";
  if ((raw.headers.accept ?? "").includes("text/event-stream")) return "sse";
  return "http";
}

/** Whether `path` is `base` or below it (`base/…`): the requests of the protocol mounted at `base`. */
export function isUnderPath(path: string, base: string): boolean {
  return path === base || (path.startsWith(base) && path.charCodeAt(base.length) === 0x2f);
}

/** How much of a body a request may read, and for how long. */
export interface BodyLimits {
  /** Bytes; beyond, {@link PayloadTooLargeError}. */
  readonly maxMessageSize: number;
  /** Ms from the first `body()` call to the body's end; beyond, {@link BodyTimeoutError}. 0: no limit. */
  readonly bodyTimeout: number;
}

/** Characters a path may hold for the URL parser to keep it exactly as sent (no escapes, no dot segments). */
const plainPath = /^\/[\w\-~!$&'()*+,;=:@/]*$/;

/**
 * Parses a request target. An origin-form target (`/a?b`) is a path, even one starting with
 * `//` (as a relative URL that would name a host, or throw); anything else (absolute-form,
 * `*`) is resolved against `http://localhost/`. Never throws: a target no URL can hold reads
 * as `/`, which no route but `"*"` matches.
 */
export function parseTarget(target: string): URL {
  try {
    return target.startsWith("/") ? new URL(`http://localhost${target}`) : new URL(target, "http://localhost/");
  } catch {
    return new URL("http://localhost/");
  }
}

/** The path of a request target, as {@link parseTarget} reads it, without building a URL in the common case (routing runs on every request). */
export function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  return plainPath.test(path) ? path : parseTarget(target).pathname;
}

/**
 * The handler's view of a request. The path and query are parsed only when asked for: most
 * handlers of a busy endpoint never look at them.
 *
 * @internal The class is not exported from the package; handlers see {@link ServerRequest}.
 */
export class IncomingRequest implements ServerRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly remoteAddress: string;
  readonly transport: ConnectionTransport;
  /** Set by {@link withChannel}: the callback that gets the connection. */
  takeover: ((connection: Connection) => void) | null = null;
  private parsed: URL | undefined;
  /** Read once, however often the handler asks: the stream cannot be read twice. */
  private bodyRead: Promise<Uint8Array> | undefined;
  private abandoned = false;

  constructor(
    readonly raw: IncomingMessage,
    private readonly limits: BodyLimits,
  ) {
    this.method = raw.method ?? "GET";
    this.url = raw.url ?? "/";
    this.headers = raw.headers;
    this.remoteAddress = raw.socket.remoteAddress ?? "";
    this.transport = transportOf(raw);
  }

  get lastEventId(): string | undefined {
    const value = this.headers["last-event-id"];
    return typeof value === "string" ? value : undefined;
  }

  get path(): string {
    return pathOf(this.url);
  }

  get query(): URLSearchParams {
    return this.parsedUrl.searchParams;
  }

  body(): Promise<Uint8Array> {
    if (this.bodyRead === undefined) {
      this.bodyRead = readBody(this.raw, this.limits);
      this.bodyRead.catch(this.noteBodyFailure);
    }
    return this.bodyRead;
  }

  /**
   * Whether reading the body gave up past a limit (too large, too slow): the rest is being
   * discarded as it comes, so the connection is closed after the answer, whatever the
   * handler made of the error, rather than kept for the next request.
   */
  get bodyAbandoned(): boolean {
    return this.abandoned;
  }

  private readonly noteBodyFailure = (error: unknown): void => {
    if (error instanceof PayloadTooLargeError || error instanceof BodyTimeoutError) this.abandoned = true;
  };

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.body());
  }

  /** What the connection made from this request keeps. */
  summary(): RequestInfo {
    return new RequestSummary(this.method, this.url, this.headers, this.remoteAddress);
  }

  private get parsedUrl(): URL {
    this.parsed ??= parseTarget(this.url);
    return this.parsed;
  }
}

/**
 * Takes over the request as a {@link Connection}, whatever the transport, and calls `fn`
 * with it once it is open (http-kit's `with-channel`). The handler then returns nothing.
 * Throws a `TypeError` (`ERR_WITH_CHANNEL`) if `req` is not a request of this server or was
 * already taken over.
 */
export function withChannel(req: ServerRequest, fn: (connection: Connection) => void): void {
  if (!(req instanceof IncomingRequest)) {
    throw new WirechanTypeError("ERR_WITH_CHANNEL", "withChannel needs the request object a wirechan handler received");
  }
  if (req.takeover !== null) throw new WirechanTypeError("ERR_WITH_CHANNEL", "withChannel was already called for this request");
  req.takeover = fn;
}

/**
 * Reads a request body up to `limits.maxMessageSize` bytes, refusing early on a larger
 * Content-Length, and within `limits.bodyTimeout` ms (0: no limit). Past either limit the
 * rest is read and discarded (not destroyed), so the 413 or 408 can still be sent; that
 * answer closes the connection. Rejects with the errors `ServerRequest.body` lists.
 */
export function readBody(raw: IncomingMessage, limits: BodyLimits): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (raw.readableEnded || raw.readableDidRead) {
      // Somebody (a body parser mounted before wirechan) read it already: waiting for 'end'
      // would hang this handler and hold its connection slot for good.
      reject(new BodyConsumedError());
      return;
    }
    const declared = Number(raw.headers["content-length"] ?? NaN);
    if (declared > limits.maxMessageSize) {
      raw.resume();
      reject(new PayloadTooLargeError(limits.maxMessageSize));
      return;
    }
    const reader = new BodyReader(raw, limits, resolve, reject);
    raw.on("data", reader.onData);
    raw.once("end", reader.onEnd);
    raw.once("error", reader.onError);
    raw.once("close", reader.onClose);
  });
}

/** One body being read: its chunks so far, and the timer that bounds how long that may take. */
class BodyReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly raw: IncomingMessage,
    private readonly limits: BodyLimits,
    private readonly resolve: (body: Uint8Array) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    if (limits.bodyTimeout > 0) {
      this.timer = setTimeout(this.onTimeout, limits.bodyTimeout);
      // A body being read is no reason for the process to stay up.
      this.timer.unref();
    }
  }

  readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.size > this.limits.maxMessageSize) {
      this.giveUp(new PayloadTooLargeError(this.limits.maxMessageSize));
      return;
    }
    this.chunks.push(chunk);
  };

  readonly onEnd = (): void => {
    clearTimeout(this.timer);
    // Node closes every request once its answer is sent: without this, each one made a
    // BodyAbortedError (a stack trace, a few percent of a long-polling server's CPU) to reject
    // a promise that had settled long before.
    this.raw.off("close", this.onClose);
    this.resolve(Buffer.concat(this.chunks, this.size));
  };

  /** A socket error mid-body (ECONNRESET …) is the client going away, as `close` is. */
  readonly onError = (error: unknown): void => {
    clearTimeout(this.timer);
    this.reject(new BodyAbortedError(error));
  };

  /** The client went away mid-body: settle (after 'end' this rejection is ignored). */
  readonly onClose = (): void => {
    clearTimeout(this.timer);
    this.reject(new BodyAbortedError());
  };

  private readonly onTimeout = (): void => {
    this.giveUp(new BodyTimeoutError(this.limits.bodyTimeout));
  };

  /** Stops collecting (the rest is discarded as it comes), forgets what came, and rejects. */
  private giveUp(error: PayloadTooLargeError | BodyTimeoutError): void {
    clearTimeout(this.timer);
    this.raw.off("data", this.onData);
    this.raw.off("end", this.onEnd);
    this.raw.resume();
    this.chunks = [];
    this.reject(error);
  }
}
