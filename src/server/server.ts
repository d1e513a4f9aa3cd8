import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { type AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import type { Buffer as ChannelBuffer } from "../csp/buffers.js";
import { chan, type Channel } from "../csp/channel.js";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import type { NamedTarget } from "../session/peer.js";
import { ProtocolEndpoints } from "./protocol/endpoints.js";
import type { SessionInfo } from "./protocol/sessions.js";
import { MAX_PENDING } from "../csp/channel.js";
import { MAX_TIMEOUT_MS } from "../csp/timeout.js";
import type { Connection, ResponseParts } from "./connection.js";
import { type CorsPolicy, corsResponseHeaders, isOriginAllowed, preflightResponse, resolveCors } from "./cors.js";
import { createHttpConnection } from "./http-connection.js";
import { type ResolvedServerOptions, serverDefaults, type ServerOptions } from "./options.js";
import { BodyAbortedError, IncomingRequest, PayloadTooLargeError, pathOf, type ServerRequest } from "./request.js";
import { SocketTracker } from "./socket-tracker.js";
import { createSseConnection } from "./sse-connection.js";
import type { AdapterOptions, ServerConnection } from "./transport.js";
import { createWsConnection, createWsServer, HeartbeatSweep, type WsAdapterOptions } from "./ws-connection.js";
import { rejectUpgrade, upgradeProblem, writeResponse } from "./responses.js";

/**
 * A request handler: answer with `{ status, headers, body }` (a plain response), or call
 * `withChannel(req, fn)` and return nothing to keep the connection. Returning nothing
 * without `withChannel` answers 204.
 */
export type Handler = (req: ServerRequest) => ResponseParts | undefined | void | Promise<ResponseParts | undefined | void>;

/** Where to listen. */
export interface ListenOptions {
  /** Default 0: any free port (the handle tells which). */
  port?: number;
  /** Default `"127.0.0.1"`: loopback only; pass `"0.0.0.0"` or `"::"` to listen on every interface. */
  host?: string;
}

/** A listening server. */
export interface ServerHandle {
  readonly port: number;
  /** `http://host:port`, ready to print. */
  readonly url: string;
  /** Graceful stop: see {@link WirechanServer.close}. */
  close(): Promise<void>;
}

const TIMER_OPTIONS = new Set(["idleTimeout", "sseHeartbeat", "closeTimeout", "sessionTtl", "heartbeat", "heartbeatTimeout", "pollTimeout"]);
const NUMERIC_OPTIONS = [
  "maxMessageSize", "maxConnections", "retryAfter", "idleTimeout", "maxBufferedBytes", "sseHeartbeat", "closeTimeout",
  "sessionTtl", "maxSessions", "replayMessages", "replayBytes", "heartbeat", "heartbeatTimeout", "maxChannelsPerSession", "window", "pollTimeout",
] as const;
/** Options for which 0 would make the protocol unusable. */
const POSITIVE_OPTIONS = new Set(["sessionTtl", "maxSessions", "replayMessages", "replayBytes", "heartbeat", "heartbeatTimeout", "maxChannelsPerSession", "window", "pollTimeout"]);

/** Fills in the defaults and rejects options no server could honour, naming the option. */
function resolveOptions(options: ServerOptions): ResolvedServerOptions {
  const { cors: _cors, ...rest } = options;
  const merged = { ...serverDefaults, ...rest };
  for (const key of NUMERIC_OPTIONS) {
    const value = merged[key];
    const min = POSITIVE_OPTIONS.has(key) ? 1 : 0;
    const max = TIMER_OPTIONS.has(key) ? MAX_TIMEOUT_MS : key === "window" ? MAX_PENDING : Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new WirechanRangeError("ERR_SERVER_OPTION", `server option ${key} must be an integer from ${min} to ${max}, got ${String(value)}`);
    }
  }
  if (merged.heartbeatTimeout <= merged.heartbeat) {
    throw new WirechanRangeError("ERR_SERVER_OPTION", `server option heartbeatTimeout (${merged.heartbeatTimeout}) must be more than heartbeat (${merged.heartbeat})`);
  }
  if (!merged.path.startsWith("/") || merged.path.endsWith("/") || pathOf(merged.path) !== merged.path) {
    throw new WirechanRangeError("ERR_SERVER_OPTION", `server option path must be a plain absolute path without a trailing slash, such as "/wirechan"; got ${JSON.stringify(merged.path)}`);
  }
  return merged;
}

/**
 * The HTTP side of wirechan: routes requests to handlers and turns the ones a handler takes
 * over (`withChannel`) into {@link Connection}s over WebSocket, SSE or plain HTTP. Make one
 * with {@link createServer}; serve it with `listen`, or mount it on an existing node:http
 * server (Express, Fastify …) with `handle` for requests and `attach` for WebSocket upgrades.
 */
export class WirechanServer {
  readonly options: ResolvedServerOptions;
  private readonly cors: CorsPolicy;
  private readonly routes = new Map<string, Handler>();
  private fallback: Handler | null = null;
  private readonly connections = new Set<ServerConnection>();
  /** Requests being handled that have not become connections yet; they count toward the limit. */
  private pending = 0;
  private readonly wss: WebSocketServer;
  /** One options object and one heartbeat timer for every WebSocket connection. */
  private readonly wsOptions: WsAdapterOptions;
  /** Servers we serve upgrades for, each with its listener (to detach on close). */
  private readonly attached = new Map<HttpServer, (raw: IncomingMessage, socket: Duplex, head: Buffer) => void>();
  private ownServer: HttpServer | null = null;
  private ownSockets: SocketTracker | null = null;
  private closing: Promise<void> | null = null;
  /**
   * The named server channels clients put to: a target shared by every put, or, for an
   * envelope channel, the channel whose targets are made per session (they carry the session).
   */
  private readonly named = new Map<string, { target: NamedTarget; envelope: boolean }>();
  private readonly protocol: ProtocolEndpoints;

  constructor(options: ServerOptions = {}) {
    this.options = resolveOptions(options);
    this.cors = resolveCors(options.cors);
    this.wss = createWsServer(this.options);
    this.wsOptions = {
      maxBufferedBytes: this.options.maxBufferedBytes,
      extraHeaders: {},
      released: this.released,
      heartbeat: new HeartbeatSweep(this.options.idleTimeout),
    };
    this.protocol = new ProtocolEndpoints(this.options, this.resolveName);
    for (const [path, handler] of this.protocol.routes()) this.routes.set(path, handler);
  }

  /** Sessions of the wirechan protocol at once. */
  get sessionCount(): number {
    return this.protocol.sessions.size;
  }

  /**
   * The named server channel `name` (Plugh's "The Chat Server"): a local channel into which
   * clients' puts to `session.serverChan(name)` arrive, each put resolving on the client once
   * this channel took the value. `bufOrN` as for `chan`. With `{ envelope: true }` each value
   * arrives as `{ value, session }`, saying which session (id, principal, transport) put it.
   * Throws a `TypeError` (`ERR_CHANNEL_NAME`) for a name that is empty, longer than 256
   * characters, or already taken.
   */
  channel<T>(name: string, bufOrN?: number | ChannelBuffer<T>): Channel<T>;
  channel<T>(name: string, options: { buffer?: number | ChannelBuffer<Envelope<T>>; envelope: true }): Channel<Envelope<T>>;
  channel<T>(name: string, arg?: number | ChannelBuffer<T> | { buffer?: number | ChannelBuffer<Envelope<T>>; envelope: true }): Channel<T> | Channel<Envelope<T>> {
    if (typeof name !== "string" || name.length === 0 || name.length > 256) {
      throw new WirechanTypeError("ERR_CHANNEL_NAME", "a server channel needs a name of 1 to 256 characters");
    }
    if (this.named.has(name)) throw new WirechanTypeError("ERR_CHANNEL_NAME", `a server channel is already named ${JSON.stringify(name)}`);
    const wantsEnvelope = typeof arg === "object" && arg !== null && "envelope" in arg;
    const channel = wantsEnvelope ? chan<Envelope<T>>(arg.buffer) : chan<T>(arg);
    this.named.set(name, { target: { channel: channel as Channel<unknown, unknown> }, envelope: wantsEnvelope });
    return channel;
  }

  private readonly resolveName = (name: string, session: SessionInfo): NamedTarget | undefined => {
    const entry = this.named.get(name);
    if (entry === undefined) return undefined;
    if (!entry.envelope) return entry.target;
    return { channel: entry.target.channel, wrap: (value: unknown): Envelope<unknown> => ({ value, session }) };
  };

  /** Open connections (every transport). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Serves `path` (exact match on the path, without the query) with `handler`. `"*"` matches every other path. */
  route(path: string, handler: Handler): this {
    if (path === "*") this.fallback = handler;
    else this.routes.set(path, handler);
    return this;
  }

  /** Starts a node:http server of its own; resolves once it accepts connections. */
  async listen(options: ListenOptions = {}): Promise<ServerHandle> {
    if (this.ownServer !== null) throw new Error("this server is already listening");
    const httpServer = createHttpServer(this.handle);
    httpServer.keepAliveTimeout = Math.min(this.options.idleTimeout, 5_000);
    httpServer.headersTimeout = Math.max(httpServer.keepAliveTimeout + 1_000, 10_000);
    this.ownServer = httpServer;
    this.ownSockets = new SocketTracker(httpServer);
    this.attach(httpServer);
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(options.port ?? 0, host, () => {
        httpServer.off("error", reject);
        resolve();
      });
    });
    const { port } = httpServer.address() as AddressInfo;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    return { port, url: `http://${urlHost}:${port}`, close: () => this.close() };
  }

  /**
   * Serves WebSocket upgrades arriving at an existing node:http server (for example the one
   * under Express or Fastify). HTTP requests reach this server through {@link handle}.
   */
  attach(httpServer: HttpServer): this {
    if (this.attached.has(httpServer)) return this;
    const listener = (raw: IncomingMessage, socket: Duplex, head: Buffer): void => this.onUpgrade(httpServer, raw, socket, head);
    httpServer.on("upgrade", listener);
    this.attached.set(httpServer, listener);
    return this;
  }

  /**
   * Graceful stop: stops listening (when it listens itself), tells every connection to go
   * away (WebSocket 1001), waits for them to close, and destroys what is left after
   * `closeTimeout`. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Handles one HTTP request (node:http `request` listener, Express middleware): routes it,
   * or calls `next()` when no route matches and `next` is given (404 otherwise). `next` is
   * called synchronously, before `handle` returns, so a framework hook can tell at once
   * whether wirechan took the request (docs/mounting.md relies on it for Fastify).
   */
  readonly handle = (raw: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void => {
    const handler = this.handlerFor(raw);
    if (handler === null) {
      if (next !== undefined) next();
      else writeResponse(res, { status: 404, body: "not found" }, {});
      return;
    }
    this.serveRequest(raw, res, handler).catch((error: unknown) => failRequest(res, error));
  };

  private handlerFor(raw: IncomingMessage): Handler | null {
    return this.routes.get(pathOf(raw.url ?? "/")) ?? this.fallback;
  }

  /** Refusals shared by every transport: shutting down, origin, connection limit. */
  private refusal(raw: IncomingMessage): ResponseParts | null {
    if (this.closing !== null) return { status: 503, headers: { "retry-after": String(this.options.retryAfter) }, body: "server shutting down" };
    if (!isOriginAllowed(this.cors, raw.headers.origin, raw.headers.host, isSecure(raw))) return { status: 403, body: "origin not allowed" };
    if (this.connections.size + this.pending >= this.options.maxConnections) {
      return {
        status: 503,
        headers: { "retry-after": String(this.options.retryAfter) },
        body: `too many connections (maxConnections is ${this.options.maxConnections})`,
      };
    }
    return null;
  }

  private async serveRequest(raw: IncomingMessage, res: ServerResponse, handler: Handler): Promise<void> {
    const origin = raw.headers.origin;
    if (raw.method === "OPTIONS" && raw.headers["access-control-request-method"] !== undefined) {
      const answer = preflightResponse(this.cors, origin, raw.headers["access-control-request-method"], raw.headers["access-control-request-headers"], raw.headers.host, isSecure(raw));
      writeResponse(res, { status: answer.status }, answer.headers);
      return;
    }
    const refused = this.refusal(raw);
    const extraHeaders = corsResponseHeaders(this.cors, origin);
    if (refused !== null) {
      writeResponse(res, refused, extraHeaders);
      return;
    }
    const req = new IncomingRequest(raw, this.options.maxMessageSize);
    this.pending++;
    const { answer, takeover } = await runHandler(handler, req).finally(() => this.pending--);
    if (takeover === null) {
      writeResponse(res, answer ?? { status: 204 }, extraHeaders);
      return;
    }
    const adapterOptions: AdapterOptions = { maxBufferedBytes: this.options.maxBufferedBytes, extraHeaders, released: this.released };
    const connection =
      req.transport === "sse"
        ? createSseConnection(raw, res, req.summary(), { ...adapterOptions, heartbeat: this.options.sseHeartbeat, lastEventId: req.lastEventId })
        : createHttpConnection(raw, res, req.summary(), adapterOptions);
    this.open(connection, takeover);
  }

  private onUpgrade(httpServer: HttpServer, raw: IncomingMessage, socket: Duplex, head: Buffer): void {
    const handler = this.handlerFor(raw);
    if (handler === null) {
      // Another upgrade listener may own this path; when we are the only one, nobody else answers.
      if (httpServer.listenerCount("upgrade") === 1) rejectUpgrade(socket, { status: 404, body: "not found" });
      return;
    }
    socket.on("error", ignoreSocketError);
    const problem = upgradeProblem(raw);
    if (problem !== null) {
      rejectUpgrade(socket, { status: 400, body: problem });
      return;
    }
    const refused = this.refusal(raw);
    if (refused !== null) {
      rejectUpgrade(socket, refused);
      return;
    }
    this.serveUpgrade(raw, socket, head, handler).catch((error: unknown) => {
      console.error("wirechan: serving a WebSocket upgrade failed:", error);
      rejectUpgrade(socket, { status: 500, body: "internal server error" });
    });
  }

  private async serveUpgrade(raw: IncomingMessage, socket: Duplex, head: Buffer, handler: Handler): Promise<void> {
    const req = new IncomingRequest(raw, this.options.maxMessageSize);
    this.pending++;
    const { answer, takeover } = await runHandler(handler, req).finally(() => this.pending--);
    if (takeover === null) {
      rejectUpgrade(socket, answer ?? { status: 404, body: "no WebSocket here" });
      return;
    }
    if (this.closing !== null || socket.destroyed) {
      socket.destroy();
      return;
    }
    // No slot is held across handleUpgrade: ws may refuse the handshake itself (a bad
    // Sec-WebSocket-Protocol …) and then never calls back, which would leak the slot.
    this.wss.handleUpgrade(raw, socket, head, (ws: WebSocket) => {
      // From here ws handles the socket's errors, and the connection is tracked as such.
      socket.off("error", ignoreSocketError);
      if (socket instanceof Socket) this.ownSockets?.forget(socket);
      this.open(createWsConnection(ws, req.summary(), this.wsOptions), takeover);
    });
  }

  private open(connection: ServerConnection, takeover: (connection: Connection) => void): void {
    // An adapter may report a client gone before this (the socket died during the handler).
    if (connection.isOpen) this.connections.add(connection);
    try {
      takeover(connection);
    } catch (error) {
      console.error("wirechan: a withChannel callback threw; closing its connection:", error);
      connection.close();
    }
  }

  /** Every connection's `released` hook (see {@link AdapterOptions}). */
  private readonly released = (connection: ServerConnection): void => {
    this.connections.delete(connection);
  };

  private async shutdown(): Promise<void> {
    this.protocol.close();
    const own = this.ownServer;
    const stopped = own === null ? Promise.resolve() : new Promise<void>((resolve) => own.close(() => resolve()));
    for (const [server, listener] of this.attached) server.off("upgrade", listener);
    this.attached.clear();
    const open = [...this.connections];
    const closed = Promise.all(open.map((c) => new Promise<void>((resolve) => c.onClose(() => resolve()))));
    for (const connection of open) connection.goAway();
    const timer = setTimeout(() => {
      for (const connection of this.connections) connection.destroy();
      own?.closeAllConnections();
    }, this.options.closeTimeout);
    timer.unref();
    await closed;
    this.ownSockets?.drain();
    await stopped;
    clearTimeout(timer);
    this.wss.close();
  }
}

/** A value put to a server channel made with `{ envelope: true }`, with the session that put it. */
export interface Envelope<T> {
  value: T;
  session: SessionInfo;
}

/**
 * Last resort for a request whose answer could not be written (a handler's header with a line
 * break, a body of the wrong type): report it, answer 500 if nothing went out yet, and never
 * leave a rejection that would end the process.
 */
function failRequest(res: ServerResponse, error: unknown): void {
  console.error("wirechan: answering a request failed:", error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.removeHeader("content-type");
  res.removeHeader("content-length");
  res.statusCode = 500;
  res.end("internal server error");
}

/** Whether the request came over TLS (an https server), for same-origin checks. */
function isSecure(raw: IncomingMessage): boolean {
  return (raw.socket as { encrypted?: boolean }).encrypted === true;
}

function ignoreSocketError(): void {
  // A client that resets its socket mid-handshake is not our error; the close is handled.
}

/**
 * Runs a handler: its answer, or the connection callback it registered with `withChannel`.
 * A handler that throws gets an error response even if it had called `withChannel`.
 */
async function runHandler(
  handler: Handler,
  req: IncomingRequest,
): Promise<{ answer: ResponseParts | undefined | void; takeover: ((connection: Connection) => void) | null }> {
  try {
    const answer = await handler(req);
    return { answer, takeover: req.takeover };
  } catch (error) {
    return { answer: errorResponse(error), takeover: null };
  }
}

function errorResponse(error: unknown): ResponseParts {
  if (error instanceof PayloadTooLargeError) {
    return { status: 413, headers: { connection: "close" }, body: error.message };
  }
  if (error instanceof BodyAbortedError) return { status: 400, body: error.message };
  console.error("wirechan: a handler threw:", error);
  return { status: 500, body: "internal server error" };
}

/** Makes a server. Options and their defaults: {@link ServerOptions}, {@link serverDefaults}. */
export function createServer(options: ServerOptions = {}): WirechanServer {
  return new WirechanServer(options);
}

/**
 * http-kit's `run-server`: serves every path with `handler` on a new node:http server and
 * resolves once it listens, to a handle with `port`, `url` and `close()`.
 */
export function runServer(handler: Handler, options: ServerOptions & ListenOptions = {}): Promise<ServerHandle> {
  const { port, host, ...serverOptions } = options;
  return createServer(serverOptions).route("*", handler).listen({ port, host });
}
