import type { IncomingMessage, ServerResponse } from "node:http";
import type { CloseStatus, RequestInfo, ResponseParts, SendData, ConnectionTransport } from "./connection.js";
import { responseHead, toResponseParts } from "./responses.js";
import {
  type AdapterOptions,
  CloseNotifier,
  type CloseWatcher,
  type ServerConnection,
  clientGone,
  closedByServer,
  serverGoingAway,
  slowConsumer,
  slowConsumerGraceMs,
} from "./transport.js";

/**
 * The lifecycle plain HTTP and SSE responses share: `onClose` bookkeeping, noticing a client
 * that went away, dropping a slow consumer, and ending on `close`, `goAway` and `destroy`.
 * Subclasses say how data becomes bytes and how an unanswered response is ended.
 *
 * @internal Exported for the SSE adapter; not part of the package API.
 */
export abstract class ResponseConnection implements ServerConnection {
  abstract readonly transport: ConnectionTransport;
  readonly isWebSocket = false;
  protected readonly notifier: CloseNotifier;

  constructor(
    protected readonly req: IncomingMessage,
    protected readonly res: ServerResponse,
    readonly request: RequestInfo,
    protected readonly options: AdapterOptions,
  ) {
    this.notifier = new CloseNotifier(this, options);
    // 'close' comes after 'finish' when we ended the response (the notifier has fired by
    // then, so this does nothing), or alone when the socket closed under an open response.
    res.once("close", this.onResponseClose);
    // A write racing the socket's death can fail; 'close' follows, and an unhandled 'error'
    // would crash the process.
    res.on("error", this.onResponseClose);
    if (res.destroyed || req.socket.destroyed) this.notifier.fire(clientGone);
  }

  get isOpen(): boolean {
    return !this.notifier.closed;
  }

  /** Bytes queued in the response and its socket, not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.res.writableLength;
  }

  abstract send(data: SendData, close?: boolean): boolean;

  /** Ends the response normally, reporting `{ by: "server", code: 1000 }`. True only the first time. */
  close(): boolean {
    if (this.notifier.closed) return false;
    this.endResponse();
    return this.notifier.fire(closedByServer);
  }

  /** Never called: a plain HTTP or SSE client has no way to send on this connection. */
  onReceive(_fn: (message: string | Uint8Array) => void): void {}

  onClose(fn: (status: CloseStatus) => void): void {
    this.notifier.add(fn);
  }

  /** @internal Adds `watcher` unless it is there already (see {@link CloseWatcher}). */
  watchClose(watcher: CloseWatcher): void {
    this.notifier.watch(watcher);
  }

  /** @internal Removes `watcher` (see {@link CloseWatcher}). */
  unwatchClose(watcher: CloseWatcher): void {
    this.notifier.unwatch(watcher);
  }

  /** Ends the response cleanly (a stream gets its terminating chunk) and reports 1001. */
  goAway(): void {
    if (this.notifier.closed) return;
    // Without this a keep-alive socket would outlive the server that is shutting down.
    if (!this.res.headersSent) this.res.setHeader("connection", "close");
    this.endResponse();
    this.notifier.fire(serverGoingAway);
  }

  /** Destroys the socket, reporting 1001 unless the connection had already closed. */
  destroy(): void {
    this.req.socket.destroy();
    this.notifier.fire(serverGoingAway);
  }

  /**
   * Resolves once the response can take more without queueing past its high-water mark (at
   * once if it already can), or once the connection closed: how a producer waits for a slow
   * reader instead of buffering for it.
   */
  drained(): Promise<void> {
    if (this.notifier.closed || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  /** Ends a response that is still open, writing whatever head it lacks. */
  protected abstract endResponse(): void;

  /**
   * Writes a chunk that keeps the response open. Returns false, having dropped the client, if
   * that leaves more than `maxBufferedBytes` queued: buffering for a client that does not read
   * would grow without end.
   */
  protected write(chunk: string | Uint8Array): boolean {
    this.res.write(chunk);
    if (this.res.writableLength <= this.options.maxBufferedBytes) return true;
    this.dropSlowConsumer();
    return false;
  }

  /**
   * Drops a client past `maxBufferedBytes`, reporting 4008. Plain HTTP cuts the response: a
   * stream without its terminating chunk tells the client it is incomplete, where a clean end
   * would say it was all. SSE, where any end means "reconnect", ends it behind its backlog.
   */
  protected dropSlowConsumer(): void {
    this.res.destroy();
    this.notifier.fire(slowConsumer);
  }

  /**
   * Ends the response behind what is queued, as a WebSocket's close frame goes behind its own
   * backlog, after `last` if given: a client that was only slow for a moment (a large burst)
   * gets what was queued and then the end, and resumes from there; the socket of one that does
   * not read within {@link slowConsumerGraceMs} is destroyed.
   */
  protected endBehindBacklog(last?: string): void {
    this.notifier.fire(slowConsumer);
    this.res.end(last);
    this.slowConsumerTimer = setTimeout(this.destroyUnfinished, slowConsumerGraceMs);
    this.slowConsumerTimer.unref();
    this.res.once("close", this.stopSlowConsumerTimer);
  }

  private slowConsumerTimer: NodeJS.Timeout | undefined;

  private readonly destroyUnfinished = (): void => {
    if (!this.res.writableFinished) this.req.socket.destroy();
  };

  private readonly stopSlowConsumerTimer = (): void => {
    clearTimeout(this.slowConsumerTimer);
  };

  /**
   * Writes the last chunk and ends the response. No slow-consumer check: nothing more will be
   * queued behind it, so the buffer cannot keep growing.
   */
  protected finish(chunk: string | Uint8Array | undefined): void {
    if (chunk === undefined) this.res.end();
    else this.res.end(chunk);
    this.notifier.fire(closedByServer);
  }

  private readonly onResponseClose = (): void => {
    this.notifier.fire(clientGone);
  };
}

/** Plain HTTP: a long-poll answer (`send(x)`) or a chunked stream (`send(x, false)` …). */
class HttpConnection extends ResponseConnection {
  readonly transport = "http";

  send(data: SendData, close = true): boolean {
    if (this.notifier.closed) return false;
    const parts = toResponseParts(data);
    if (!this.res.headersSent) {
      this.writeHead(parts, close ? byteLength(parts.body) : undefined);
      // Flushing now lets the client see the status and headers before the first chunk.
      if (!close) this.res.flushHeaders();
    }
    if (close) {
      this.finish(parts.body);
      return true;
    }
    if (parts.body === undefined || byteLength(parts.body) === 0) return true;
    return this.write(parts.body);
  }

  /** An unanswered long-poll gets an empty 200: "nothing this time, ask again". */
  protected endResponse(): void {
    if (!this.res.headersSent) this.writeHead({}, 0);
    this.res.end();
  }

  /** Writes the status line and headers (not yet on the wire unless flushed); see `responseHead`. */
  private writeHead(parts: ResponseParts, contentLength: number | undefined): void {
    const { status, headers } = responseHead(parts, this.options.extraHeaders, contentLength);
    // writeHead checks the status and every header before it stores the head, so a bad one
    // throws here and leaves the response unanswered and usable.
    this.res.writeHead(status, headers);
  }
}

function byteLength(body: string | Uint8Array | undefined): number {
  if (body === undefined) return 0;
  return typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
}

/**
 * Takes over a plain HTTP request as a connection (http-kit semantics). `send(data, close =
 * true)` takes a string, bytes or `{ status?, headers?, body? }`; status (default 200) and
 * headers apply only to the first send, and `options.extraHeaders` are added to the head.
 * `send(x)` answers and ends the response with a Content-Length (a long-poll); a first
 * `send(x, false)` starts a chunked stream instead, flushing the head at once, and later sends
 * add chunks until one with `close` true ends it. `send` returns false once the connection
 * is closed, and throws a `TypeError` (`ERR_SEND_DATA`) for an SSE event or other data it
 * cannot send, or node's error for an invalid status or header on the first send; a throwing
 * send changes nothing.
 *
 * `close()` ends the response (an empty 200 if nothing was sent); true only the first time,
 * false too once the client has gone. `onClose` reports, once: `{ by: "server", code: 1000 }`
 * when this side ends it; `{ by: "client", code: 1006 }` when the client goes away first;
 * `{ by: "server", code: 4008, reason: "slow consumer" }` when more than
 * `options.maxBufferedBytes` are left queued after a write that keeps the response open (the
 * response is then cut, without its terminating chunk, so the client can tell the stream is
 * incomplete; a final
 * `send(x, true)` is exempt); `{ by: "server", code: 1001 }` on `goAway()` (which ends the
 * response like `close()`, with `Connection: close` if the head is not out yet) or
 * `destroy()` (which destroys the socket). `onReceive` accepts a listener and never calls
 * it: plain HTTP has no messages from the client after the request.
 */
export function createHttpConnection(
  req: IncomingMessage,
  res: ServerResponse,
  request: RequestInfo,
  options: AdapterOptions,
): ServerConnection {
  return new HttpConnection(req, res, request, options);
}
