// The server: routes requests to handlers, admits or refuses them (admission.ts), and turns the
// ones a handler takes over (`withChannel`) into Connections over WebSocket, SSE or plain HTTP.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { type AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Server as WsServer } from "ws";
import type { Buffer as ChannelBuffer } from "../csp/buffers.js";
import type { Channel } from "../csp/channel.js";
import { WirechanError } from "../csp/errors.js";
import { Admission, type AdmissionStage, isSecure } from "./admission.js";
import type { Connection, ResponseParts } from "./connection.js";
import { type CorsPolicy, corsResponseHeaders, preflightResponse, resolveCors } from "./cors.js";
import { errorResponse } from "./error-response.js";
import { resolveAllowedHosts } from "./hosts.js";
import { createHttpConnection } from "./http-connection.js";
import { type ResolvedServerOptions, resolveBacklog, resolveServerOptions, type ServerOptions } from "./options.js";
import { type EnvelopeChannelOptions, NamedChannels } from "./protocol/named-channels.js";
import { Topic } from "./topic.js";
import { resolveTopicOptions, type TopicOptions } from "./topic-options.js";
import { topicSubject } from "./topic-relay.js";
import { subscribePresence } from "./presence.js";
import { ProtocolEndpoints } from "./protocol/endpoints.js";
import { type Authorizer, authorizedResolver, authorizer } from "./protocol/authorization.js";
import { type SessionEndReason, SessionEvents, type SessionListener, type SessionObserver } from "./protocol/session-events.js";
import type { SessionInfo } from "./protocol/sessions.js";
import { clientScriptHandler } from "./client-script.js";
import { IncomingRequest, isUnderPath, pathOf } from "./request.js";
import { rejectUpgrade, upgradeProblem, writeResponse } from "./responses.js";
import { SocketTracker } from "./socket-tracker.js";
import { createSseConnection } from "./sse-connection.js";
import type { AdapterOptions, ServerConnection } from "./transport.js";
import type { Envelope, Handler, ListenOptions, ServerHandle } from "./types.js";
import { createWsConnection, createWsServer, HeartbeatSweep, type ServerSocket, type WsAdapterOptions, type WsConnection } from "./ws-connection.js";

/** What {@link WirechanServer.forwarding} reports. */
export interface ForwardingStats {
  readonly forwarded: number;
  readonly served: number;
  readonly open: number;
  readonly nodes: number;
}

// The public types live in types.ts; modules that still import them from here keep working.
export type { Envelope, Handler, ListenOptions, ServerHandle } from "./types.js";

/** What a handler did: its answer, or the callback `withChannel` registered to get the connection. */
interface HandlerOutcome {
  answer: ResponseParts | undefined | void;
  takeover: ((connection: Connection) => void) | null;
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
  private readonly admission: Admission;
  private readonly routes = new Map<string, Handler>();
  private fallback: Handler | null = null;
  /**
   * Open connections over SSE and plain HTTP. Those over WebSocket are the members of the
   * heartbeat (`wsConnections`) from their making until they close: one table entry each, not two.
   */
  private readonly connections = new Set<ServerConnection>();
  private readonly wsConnections: HeartbeatSweep<WsConnection>;
  /** Requests being handled that have not become connections yet; they count toward the limit. */
  private pending = 0;
  private readonly wss: WsServer<typeof ServerSocket>;
  /** One options object and one heartbeat timer for every WebSocket connection. */
  private readonly wsOptions: WsAdapterOptions;
  /** Servers we serve upgrades for, each with its listener (to detach on close). */
  private readonly attached = new Map<HttpServer, (raw: IncomingMessage, socket: Duplex, head: Buffer) => void>();
  private ownServer: HttpServer | null = null;
  private ownSockets: SocketTracker | null = null;
  /** Set as `close()` begins, before anything of the shutdown runs, so every check sees it. */
  private stopping = false;
  private closing: Promise<void> | null = null;
  /** Resolves the shutdown's wait once the last connection is gone. */
  private allClosed: (() => void) | null = null;
  private readonly named = new NamedChannels();
  /** Topics by name; like named channels, declared by server code and never forgotten. */
  private readonly topics = new Map<string, Topic<never>>();
  private readonly protocol: ProtocolEndpoints;
  private readonly sessionEvents: SessionEvents;
  /** The `authorize` option, asked safely: a throw is logged and refuses. */
  private readonly allowed: Authorizer;

  /** Throws what {@link resolveServerOptions} and `resolveCors` throw for a bad option. */
  constructor(options: ServerOptions = {}) {
    this.options = resolveServerOptions(options);
    this.cors = resolveCors(options.cors);
    this.admission = new Admission(this.options, this.cors, resolveAllowedHosts(this.options.allowedHosts));
    this.wss = createWsServer(this.options);
    this.wsConnections = new HeartbeatSweep(this.options.idleTimeout);
    this.wsOptions = {
      maxBufferedBytes: this.options.maxBufferedBytes,
      extraHeaders: {},
      forgetConnection: this.forgetConnection,
      logger: this.options.logger,
      heartbeat: this.wsConnections,
    };
    this.sessionEvents = new SessionEvents(this.options.logger);
    this.allowed = authorizer(this.options.authorize, this.options.logger);
    const resolve = authorizedResolver(this.named.resolve, this.isTopic, this.allowed);
    this.protocol = new ProtocolEndpoints(this.options, resolve, this.observer);
    for (const [path, handler] of this.protocol.routes()) this.routes.set(path, handler);
    if (this.options.serveClient) this.routes.set(`${this.options.path}/client.js`, clientScriptHandler());
  }

  /** Sessions of the wirechan protocol at once. */
  get sessionCount(): number {
    return this.protocol.sessions.size;
  }

  /**
   * With a backplane (docs/api.md "No sticky sessions"): requests and connections this node
   * forwarded to the nodes holding their sessions (`forwarded`, ever), those other nodes
   * forwarded here (`served`, ever), tunnels open now both ways (`open`), and the nodes heard
   * from within `clusterTimeout`, this one included (`nodes`). Without one, all 0 but `nodes` 1.
   */
  get forwarding(): ForwardingStats {
    const forwarding = this.protocol.forwarding;
    if (forwarding === null) return { forwarded: 0, served: 0, open: 0, nodes: 1 };
    return { forwarded: forwarding.edge.opened, served: forwarding.owner.served, open: forwarding.edge.size + forwarding.owner.size, nodes: forwarding.directory.alive };
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
  channel<T>(name: string, arg?: number | ChannelBuffer<T> | EnvelopeChannelOptions<T>): Channel<T> | Channel<Envelope<T>> {
    return this.named.channel<T>(name, arg);
  }

  /**
   * The topic `name` (docs/api.md "Topics"): a fan-out whose `put` reaches every subscriber,
   * encoded once for all clients and never waiting for the slowest. Server code subscribes a
   * local channel with `topic.subscribe(ch)`; a client puts `{ subscribe: inbox }` (and
   * `{ unsubscribe: inbox }`) on `session.serverChan(name)`. The name is taken among the
   * server's channels. Options and defaults: {@link TopicOptions}, `topicDefaults`. Throws a
   * `TypeError` (`ERR_CHANNEL_NAME`) for a name that is empty, too long or taken, a `TypeError`
   * or `RangeError` (`ERR_TOPIC_OPTION`) for a bad option, and with a backplane what its
   * `subscribe` throws (`ERR_BACKPLANE_SUBJECT`: this node subscribes to `maxSubjects` already,
   * or the backplane is shared with another server of the same topic), leaving the name free.
   */
  topic<T>(name: string, options: TopicOptions = {}): Topic<T> {
    // Checked before the name is taken: a bad option leaves the name free.
    const { backplane } = this.options;
    resolveTopicOptions(options, this.options.window, backplane !== null);
    this.named.checkFree(name);
    // Subscribed before the name is taken, so that a refusal (ERR_BACKPLANE_SUBJECT) leaves it
    // free; nothing is delivered before the topic is made (never inside a call: the contract).
    const made: { topic?: Topic<T> } = {};
    const relay = backplane === null ? null : backplane.subscribe(topicSubject(name), (message) => made.topic?.relayed(message));
    const presence = subscribePresence(backplane, name, options.presence !== undefined && options.presence !== false, relay, (message) => made.topic?.presence?.relayed(message));
    const requests = this.named.channel<unknown>(name, { envelope: true });
    const topic = new Topic<T>(name, requests, { ...this.options, allowed: this.allowed }, options, relay, presence);
    made.topic = topic;
    this.topics.set(name, topic as Topic<never>);
    return topic;
  }

  /**
   * Calls `listener` with each session's life (docs/api.md "Session lifecycle"): `open`, then
   * any `resume` (a hello that resumed it on a new link), then one `end` with its `reason`,
   * synchronously as each happens. Returns the function that removes it. A listener that throws
   * (or rejects) is reported to the `logger`; the session goes on as if it had not. Throws a
   * `RangeError` (`ERR_TOO_MANY_LISTENERS`) past 1,000 listeners.
   */
  onSession(listener: SessionListener): () => void {
    return this.sessionEvents.add(listener);
  }

  private readonly isTopic = (name: string): boolean => this.topics.has(name);

  /** What the session table tells: passed on to listeners; an ended session's topic subscriptions go first. */
  private readonly observer: SessionObserver = {
    opened: (session: SessionInfo): void => this.sessionEvents.emit({ type: "open", session }),
    resumed: (session: SessionInfo, via: string | null): void => this.sessionEvents.emit({ type: "resume", session, via }),
    ended: (session: SessionInfo, reason: SessionEndReason): void => {
      for (const topic of this.topics.values()) topic.sessionEnded(session.id);
      this.sessionEvents.emit({ type: "end", session, reason });
    },
  };

  /** Open connections (every transport). */
  get connectionCount(): number {
    return this.connections.size + this.wsConnections.size;
  }

  /** Serves `path` (exact match on the path, without the query) with `handler`. `"*"` matches every other path. */
  route(path: string, handler: Handler): this {
    if (path === "*") this.fallback = handler;
    else this.routes.set(path, handler);
    return this;
  }

  /**
   * Starts a node:http server of its own, with the `requestTimeout` and `headersTimeout`
   * options; resolves once it accepts connections. Rejects with node's error when it cannot
   * listen (`EADDRINUSE` …), after which it may be called again; with a `WirechanError`
   * (`ERR_ALREADY_LISTENING`) while it listens, and (`ERR_SERVER_CLOSED`) once `close()` was
   * called; with a `RangeError` (`ERR_SERVER_OPTION`) for a bad `backlog`, before listening.
   */
  async listen(options: ListenOptions = {}): Promise<ServerHandle> {
    if (this.stopping) throw new WirechanError("ERR_SERVER_CLOSED", "this server was closed; create a new one to listen again");
    if (this.ownServer !== null) {
      throw new WirechanError("ERR_ALREADY_LISTENING", "this server is already listening; close it first, or create another server to listen twice");
    }
    const backlog = resolveBacklog(options.backlog);
    const httpServer = this.ownHttpServer();
    this.ownServer = httpServer;
    this.ownSockets = new SocketTracker(httpServer);
    this.attach(httpServer);
    const host = options.host ?? "127.0.0.1";
    try {
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen({ port: options.port ?? 0, host, backlog }, () => {
          httpServer.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      // Nothing listens: forget the server, so that another listen() can try again.
      this.detach(httpServer);
      this.ownServer = null;
      this.ownSockets = null;
      throw error;
    }
    const { port } = httpServer.address() as AddressInfo;
    const urlHost = host.includes(":") ? `[${host}]` : host;
    return { port, url: `http://${urlHost}:${port}`, close: () => this.close() };
  }

  /** The node:http server `listen` starts, bounding how long a client may take to send a request. */
  private ownHttpServer(): HttpServer {
    const { requestTimeout, headersTimeout } = this.options;
    const httpServer = createHttpServer(
      {
        requestTimeout,
        headersTimeout,
        // node enforces both timeouts on this interval (30 s by default, which would let a
        // 10 s headersTimeout run to 40 s): check at half the shorter one.
        connectionsCheckingInterval: checkingInterval(requestTimeout, headersTimeout),
      },
      this.handle,
    );
    httpServer.keepAliveTimeout = Math.min(this.options.idleTimeout, 5_000);
    return httpServer;
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

  private detach(httpServer: HttpServer): void {
    const listener = this.attached.get(httpServer);
    if (listener !== undefined) httpServer.off("upgrade", listener);
    this.attached.delete(httpServer);
  }

  /**
   * Graceful stop: stops listening (when it listens itself), tells every connection to go
   * away (WebSocket 1001), waits for them to close, and destroys what is left after
   * `closeTimeout`. A handler still running when it begins may answer, but a connection it
   * would open is refused (503, `ERR_SERVER_CLOSED`). Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) {
      this.stopping = true;
      this.closing = this.shutdown();
    }
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
    this.serveRequest(raw, res, handler).catch((error: unknown) => this.failRequest(res, error));
  };

  private handlerFor(raw: IncomingMessage): Handler | null {
    return this.routes.get(pathOf(raw.url ?? "/")) ?? this.fallback;
  }

  /** The one admission check of every request, HTTP or upgrade: see {@link Admission}. */
  private admit(raw: IncomingMessage, stage: AdmissionStage): ResponseParts | null {
    return this.admission.check(raw, { closing: this.stopping, inUse: this.connectionCount + this.pending }, stage);
  }

  private async serveRequest(raw: IncomingMessage, res: ServerResponse, handler: Handler): Promise<void> {
    const origin = raw.headers.origin;
    // CORS headers on refusals too, so that a cross-origin client can read why.
    const extraHeaders = corsResponseHeaders(this.cors, origin);
    const refused = this.admit(raw, "request");
    if (refused !== null) {
      writeResponse(res, refused, extraHeaders);
      return;
    }
    if (raw.method === "OPTIONS" && raw.headers["access-control-request-method"] !== undefined) {
      const answer = preflightResponse(this.cors, origin, raw.headers["access-control-request-method"], raw.headers["access-control-request-headers"], raw.headers.host, isSecure(raw));
      writeResponse(res, { status: answer.status }, answer.headers);
      return;
    }
    const req = new IncomingRequest(raw, this.options);
    const { answer, takeover } = await this.runHandler(handler, req);
    if (req.bodyAbandoned) res.setHeader("connection", "close");
    if (takeover === null) {
      writeResponse(res, answer ?? { status: 204 }, extraHeaders);
      return;
    }
    const late = this.admit(raw, "takeover");
    if (late !== null) {
      writeResponse(res, late, extraHeaders);
      return;
    }
    const { maxBufferedBytes, logger, sseHeartbeat } = this.options;
    const adapterOptions: AdapterOptions = { maxBufferedBytes, extraHeaders, forgetConnection: this.forgetConnection, logger };
    const connection =
      req.transport === "sse"
        ? createSseConnection(raw, res, req.summary(), { ...adapterOptions, heartbeat: sseHeartbeat, lastEventId: req.lastEventId })
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
    if (httpServer === this.ownServer && socket instanceof Socket) this.ownSockets?.hold(socket);
    const problem = upgradeProblem(raw);
    if (problem !== null) {
      rejectUpgrade(socket, { status: 400, body: problem });
      return;
    }
    this.serveUpgrade(raw, socket, head, handler).catch((error: unknown) => {
      this.options.logger.error("serving a WebSocket upgrade failed:", error);
      rejectUpgrade(socket, { status: 500, body: "internal server error" });
    });
  }

  private async serveUpgrade(raw: IncomingMessage, socket: Duplex, head: Buffer, handler: Handler): Promise<void> {
    const refused = this.admit(raw, "request");
    if (refused !== null) {
      rejectUpgrade(socket, refused);
      return;
    }
    const req = new IncomingRequest(raw, this.options);
    const { answer, takeover } = await this.runHandler(handler, req);
    if (takeover === null) {
      rejectUpgrade(socket, answer ?? { status: 404, body: "no WebSocket here" });
      return;
    }
    const late = this.admit(raw, "takeover");
    if (late !== null) {
      rejectUpgrade(socket, late);
      return;
    }
    if (socket.destroyed) return;
    // No slot is held across handleUpgrade: ws may refuse the handshake itself (a bad
    // Sec-WebSocket-Protocol …) and then never calls back, which would leak the slot.
    this.wss.handleUpgrade(raw, socket, head, (ws: ServerSocket) => {
      // From here ws handles the socket's errors, and the connection is tracked as such.
      socket.off("error", ignoreSocketError);
      if (socket instanceof Socket) this.ownSockets?.forget(socket);
      this.open(createWsConnection(ws, req.summary(), this.wsOptions, socket), takeover);
    });
  }

  /**
   * Runs a handler, holding a connection slot meanwhile: its answer, or the callback it
   * registered with `withChannel`. A handler that throws gets an error response (see
   * `errorResponse`; an error packet under the protocol's `path`) even if it had called
   * `withChannel`.
   */
  private async runHandler(handler: Handler, req: IncomingRequest): Promise<HandlerOutcome> {
    this.pending++;
    try {
      const answer = await handler(req);
      return { answer, takeover: req.takeover };
    } catch (error) {
      const protocol = isUnderPath(req.path, this.options.path);
      return { answer: errorResponse(error, { protocol, logger: this.options.logger }), takeover: null };
    } finally {
      this.pending--;
    }
  }

  private open(connection: ServerConnection, takeover: (connection: Connection) => void): void {
    // An adapter may report a client gone before this (the socket died during the handler).
    // A WebSocket connection is counted already: it joined the heartbeat as it was made.
    if (connection.isOpen && !connection.isWebSocket) this.connections.add(connection);
    try {
      takeover(connection);
    } catch (error) {
      this.options.logger.error("a withChannel callback threw; closing its connection:", error);
      connection.close();
    }
    // ws may complete a handshake after close() began (the admission check came before it):
    // such a connection is told at once, so that close() does not wait for it.
    if (this.stopping) connection.goAway();
  }

  /** Every connection's `forgetConnection` hook (see {@link AdapterOptions}). */
  private readonly forgetConnection = (connection: ServerConnection): void => {
    this.connections.delete(connection);
    if (this.connectionCount === 0) this.allClosed?.();
  };

  /**
   * Last resort for a request whose answer could not be written (a handler's header with a
   * line break, a body of the wrong type): report it, answer 500 if nothing went out yet, and
   * never leave a rejection that would end the process.
   */
  private failRequest(res: ServerResponse, error: unknown): void {
    this.options.logger.error("answering a request failed:", error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.removeHeader("content-type");
    res.removeHeader("content-length");
    res.statusCode = 500;
    res.end("internal server error");
  }

  private async shutdown(): Promise<void> {
    // First: a node that is going stops hearing the others' puts (they go on without it).
    for (const topic of this.topics.values()) topic.leaveBackplane();
    this.protocol.close();
    const own = this.ownServer;
    const stopped = own === null ? Promise.resolve() : new Promise<void>((resolve) => own.close(() => resolve()));
    for (const server of [...this.attached.keys()]) this.detach(server);
    // Every connection, also one opened after this point (see `open`), is waited for.
    const closed = this.connectionCount === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.allClosed = resolve));
    for (const connection of [...this.connections, ...this.wsConnections]) connection.goAway();
    const timer = setTimeout(() => {
      for (const connection of [...this.connections, ...this.wsConnections]) connection.destroy();
      own?.closeAllConnections();
      this.ownSockets?.destroyAll();
    }, this.options.closeTimeout);
    timer.unref();
    await closed;
    this.ownSockets?.drain();
    await stopped;
    clearTimeout(timer);
    this.wss.close();
  }
}

/** How often node checks `requestTimeout` and `headersTimeout`: half the shorter one that is on, within 50 ms … 30 s. */
function checkingInterval(requestTimeout: number, headersTimeout: number): number {
  const on = [requestTimeout, headersTimeout].filter((ms) => ms > 0);
  if (on.length === 0) return 30_000;
  return Math.min(30_000, Math.max(50, Math.floor(Math.min(...on) / 2)));
}

function ignoreSocketError(): void {
  // A client that resets its socket mid-handshake is not our error; the close is handled.
}

/**
 * Makes a server. Options and their defaults: {@link ServerOptions}, `serverDefaults`. Throws a
 * `RangeError` or `TypeError` (`ERR_SERVER_OPTION`, `ERR_CORS_OPTION`) naming a bad option.
 */
export function createServer(options: ServerOptions = {}): WirechanServer {
  return new WirechanServer(options);
}

/**
 * http-kit's `run-server`: serves every path with `handler` on a new node:http server and
 * resolves once it listens, to a handle with `port`, `url` and `close()`.
 */
export function runServer(handler: Handler, options: ServerOptions & ListenOptions = {}): Promise<ServerHandle> {
  const { port, host, backlog, ...serverOptions } = options;
  return createServer(serverOptions).route("*", handler).listen({ port, host, backlog });
}
