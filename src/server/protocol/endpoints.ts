// The protocol's HTTP endpoints (docs/protocol.md section 3): the WebSocket at `path`, and for
// the HTTP transports `path/open` (handshake), `path/sse` and `path/poll` (downstream) and
// `path/send` (upstream). Each turns requests and connections into Links of a ServerSession.
import type { Connection, ResponseParts } from "../connection.js";
import type { ResolvedServerOptions } from "../options.js";
import { errorResponse, protocolRefusal } from "../error-response.js";
import { type ServerRequest, withChannel } from "../request.js";
import type { Handler } from "../types.js";
import { type ControlFrame, type HelloBody, type WelcomeBody } from "../../wire/frames.js";
import { type Hello, readHello, refusalPacket, welcomePacket } from "../../wire/handshake.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import { endpointPath, errorFrame, HEADERS } from "../../wire/protocol.js";
import type { AttachRequest, SendRequest } from "../cluster/forward-frames.js";
import type { OwnerHost } from "../cluster/owner-tunnels.js";
import { SessionForwarding } from "../cluster/session-forwarding.js";
import type { SocketTunnel } from "../cluster/edge-tunnels.js";
import type { ConnectionTransport } from "../connection.js";
import { encodeControl, type Handshake, jsonHeaders, ServerPollLink, ServerSseLink, ServerWebSocketLink } from "./links.js";
import type { SessionObserver } from "./session-events.js";
import { type ActiveLink, type NameResolver, type ServerSession, SessionTable } from "./sessions.js";

const { session: sessionHeader, secret: secretHeader, recv: recvHeader } = HEADERS;

/** Who a hello comes from: what `authenticate` returned, and the address it counts under. */
export interface ClientIdentity {
  principal: unknown;
  address: string;
  /** The node a forwarded hello reached first (its node id); absent when it reached this one. */
  via?: string;
}


/**
 * The protocol under one server's `path`: its session table and its five handlers. With a
 * backplane, a request for a session another node holds is forwarded there
 * (cluster/session-forwarding.ts), and requests other nodes forward here run the same steps
 * ({@link OwnerHost}).
 */
export class ProtocolEndpoints implements Handshake, OwnerHost {
  readonly sessions: SessionTable;
  /** Forwarding to and from the other nodes; null without a backplane. */
  readonly forwarding: SessionForwarding | null;

  /** With a backplane, throws what its `subscribe` throws (`ERR_BACKPLANE_SUBJECT`: another server uses this node already). */
  constructor(
    readonly options: ResolvedServerOptions,
    resolveName: NameResolver,
    /** Told of each session opened, resumed and ended (see SessionTable). */
    observer?: SessionObserver,
  ) {
    this.forwarding = options.backplane === null ? null : new SessionForwarding(options.backplane, this, options);
    this.sessions = new SessionTable(options, resolveName, observer, this.forwarding === null ? "" : `.${this.forwarding.tag}`);
  }

  /** The routes to add, by path. */
  routes(): Array<[string, Handler]> {
    const { path } = this.options;
    return [
      [path, this.serveWebSocket],
      [endpointPath(path, "open"), this.serveOpen],
      [endpointPath(path, "sse"), this.serveSse],
      [endpointPath(path, "poll"), this.servePoll],
      [endpointPath(path, "send"), this.serveSend],
    ];
  }

  /** Ends every session, telling each client on its link that the server is going away, and every forwarded tunnel. */
  close(): void {
    this.sessions.endAll(new ProtocolError("ERR_SERVER_CLOSED", "the server is shutting down: connect again later"));
    this.forwarding?.close();
  }

  /** `GET path` with `Upgrade: websocket`: the first packet is a hello, answered on the socket. */
  private readonly serveWebSocket = async (req: ServerRequest): Promise<ResponseParts | undefined> => {
    if (req.transport !== "websocket") return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", `${this.options.path} is the WebSocket endpoint; HTTP clients use ${this.options.path}/open`), 426);
    const principal = await this.authenticate(req);
    if (principal instanceof ProtocolError) {
      // A browser cannot read the answer to a refused upgrade, only that it failed: the socket
      // is accepted so that the client reads the refusal as its first packet, then closed.
      withChannel(req, (conn) => refuseOnSocket(conn, principal));
      return undefined;
    }
    const address = this.options.clientAddress(req);
    withChannel(req, (conn) => new ServerWebSocketLink(conn, this, { principal: principal.value, address }));
    return undefined;
  };

  /** `POST path/open` with `[hello]`: a new or resumed session for the HTTP transports, answered `[welcome]`. */
  private readonly serveOpen = async (req: ServerRequest): Promise<ResponseParts> => {
    if (req.method !== "POST") return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", "open is a POST"), 405);
    const principal = await this.authenticate(req);
    if (principal instanceof ProtocolError) return protocolRefusal(principal);
    let body: string;
    try {
      body = await req.text();
    } catch (error) {
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
    const client = { principal: principal.value, address: this.options.clientAddress(req) };
    try {
      const hello = readHello(body, this.options.maxMessageSize);
      const owner = this.forwarding?.remoteOwner(hello.body.sid) ?? null;
      if (owner !== null) return await (this.forwarding?.edge.open(owner, body, client) ?? noForwarding());
    } catch (error) {
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
    return this.openWith(body, client);
  };

  /** The answer to `POST open` with `body` for a session here (or a new one): a welcome, or the refusal. */
  openWith(body: string, client: ClientIdentity): ResponseParts {
    try {
      const hello = readHello(body, this.options.maxMessageSize);
      if (hello.rest.length > 0) throw new ProtocolError("ERR_BAD_FRAME", "open takes one packet: [hello]");
      const session = this.hello(hello, client);
      return { status: 200, headers: jsonHeaders, body: welcomePacket(this.welcome(session, hello.body)) };
    } catch (error) {
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
  }

  /** `GET path/sse`: the session's downstream as server-sent events, each event one packet. */
  private readonly serveSse = async (req: ServerRequest): Promise<ResponseParts | undefined> => {
    if (req.transport !== "sse") return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", "the sse endpoint needs Accept: text/event-stream"), 406);
    const request = this.attachRequestOf(req, "sse");
    if (request instanceof ProtocolError) return protocolRefusal(request);
    const owner = this.forwarding?.remoteOwner(request.sid) ?? null;
    if (owner !== null) {
      // The stream opens here only once the owner attached it: a refusal is still an HTTP answer.
      const forwarded = await (this.forwarding?.edge.sse(owner, request) ?? noForwarding());
      if (typeof forwarded !== "function") return forwarded;
      withChannel(req, forwarded);
      return undefined;
    }
    const found = this.downstreamFor(request);
    if (found instanceof ProtocolError) return protocolRefusal(found);
    withChannel(req, (conn) => this.attachSse(found, new ServerSseLink(conn, found), request.recv));
    return undefined;
  };

  /** `GET path/poll`: one packet of what is new since `X-Wirechan-Recv`, now or when there is some. */
  private readonly servePoll = (req: ServerRequest): ResponseParts | undefined => {
    const request = this.attachRequestOf(req, "longpoll");
    if (request instanceof ProtocolError) return protocolRefusal(request);
    const owner = this.forwarding?.remoteOwner(request.sid) ?? null;
    const edge = this.forwarding?.edge;
    if (owner !== null && edge !== undefined) {
      withChannel(req, (conn) => edge.poll(owner, conn, request));
      return undefined;
    }
    const found = this.downstreamFor(request);
    if (found instanceof ProtocolError) return protocolRefusal(found);
    withChannel(req, (conn) => this.attachDownstream(found, new ServerPollLink(conn, this.options.pollTimeout, found), request.recv));
    return undefined;
  };

  /** `POST path/send`: a packet from the client, answered with the acknowledgement of what arrived. */
  private readonly serveSend = async (req: ServerRequest): Promise<ResponseParts> => {
    if (req.method !== "POST") return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", "send is a POST"), 405);
    const credentials = this.credentialsOf(req);
    if (credentials instanceof ProtocolError) return protocolRefusal(credentials);
    const owner = this.forwarding?.remoteOwner(credentials.sid) ?? null;
    // A session nobody holds is refused before its body is read.
    if (owner === null && this.sessions.find(credentials.sid, credentials.secret) === undefined) return protocolRefusal(lost());
    let text: string;
    try {
      text = await req.text();
    } catch (error) {
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
    const request = { ...credentials, text };
    if (owner !== null) return this.forwarding?.edge.send(owner, request) ?? noForwarding();
    return this.sendWith(request);
  };

  /** The answer to `POST send`: the acknowledgement of what arrived, or the refusal. */
  sendWith(request: SendRequest): ResponseParts {
    const session = this.sessions.find(request.sid, request.secret);
    if (session === undefined) return protocolRefusal(lost());
    try {
      session.heard();
      session.peer.receive(request.text);
    } catch (error) {
      if (error instanceof ProtocolError) session.fail(error);
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
    const received = session.peer.received;
    return packetResponse(this.options, 200, received === 0 ? [] : [{ kind: "ack", seq: received }]);
  }

  /** A WebSocket link over `conn`, whose hello arrives next (a socket another node forwarded here). */
  acceptSocket(conn: Connection, client: ClientIdentity): void {
    new ServerWebSocketLink(conn, this, client);
  }

  /** Attaches a downstream another node forwarded here, over the connection `connect` makes; or the refusal. */
  attachWith(request: AttachRequest, connect: (transport: ConnectionTransport) => Connection): ResponseParts | null {
    const session = this.downstreamFor(request);
    if (session instanceof ProtocolError) return protocolRefusal(session);
    if (request.transport === "sse") {
      const conn = connect("sse");
      this.attachSse(session, new ServerSseLink(conn, session), request.recv);
    } else {
      const conn = connect("http");
      this.attachDownstream(session, new ServerPollLink(conn, this.options.pollTimeout, session), request.recv);
    }
    return null;
  }

  /** The tunnel a WebSocket's hello goes through when another node holds its session; null when this one does (or nobody). */
  forwardSocket(hello: Hello, text: string, conn: Connection, client: ClientIdentity): SocketTunnel | "refused" | null {
    const owner = this.forwarding?.remoteOwner(hello.body.sid) ?? null;
    if (owner === null || this.forwarding === null) return null;
    return this.forwarding.edge.socket(owner, conn, text, client) ?? "refused";
  }

  /**
   * Opens or resumes the session a hello asks for. Throws the ProtocolError the client is told
   * instead of a welcome: everything that would make the resume fail is checked here, before
   * any welcome goes out.
   */
  hello(hello: Hello, client: ClientIdentity): ServerSession {
    const session = this.openOrResume(hello.body, client);
    // Every hello says it, a resume's too: the session follows what the client now on it reads.
    session.lazyAnswers = hello.body.lazyAnswers === true;
    return session;
  }

  private openOrResume(body: HelloBody, client: ClientIdentity): ServerSession {
    if (body.sid === null) return this.sessions.create(client.principal, client.address, body.maxMessageSize);
    const session = body.secret === null ? undefined : this.sessions.find(body.sid, body.secret);
    if (session === undefined) throw lost();
    if (!this.options.samePrincipal(session.principal, client.principal)) {
      // Someone holding another client's id and secret: the session stays its owner's.
      throw new ProtocolError("ERR_UNAUTHORIZED", "this session was opened by another principal (samePrincipal)");
    }
    if (session.peer.resumePoint(body.recv) === null) {
      const error = new ProtocolError("ERR_SESSION_LOST", `cannot resume: the client says it received up to frame ${body.recv}, more than was ever sent`);
      session.fail(error);
      throw error;
    }
    this.sessions.resumed(session, client.via ?? null);
    return session;
  }

  welcome(session: ServerSession, hello: HelloBody): WelcomeBody {
    return {
      sid: session.id,
      secret: hello.sid === null ? session.revealSecret() : null,
      recv: session.peer.received,
      resumed: hello.sid !== null,
      heartbeat: this.options.heartbeat,
      window: this.options.window,
      limits: { maxMessageSize: this.options.maxMessageSize, maxChannels: this.options.maxChannelsPerSession },
      lazyAnswers: true,
    };
  }

  /**
   * An SSE downstream: attached, then pinged at once, so that the client hears from the stream
   * itself and knows it is not held back by a proxy that buffers responses (docs/protocol.md
   * section 6: a downstream proves itself).
   */
  private attachSse(session: ServerSession, link: ServerSseLink, recv: number): void {
    this.attachDownstream(session, link, recv);
    if (session.link === link) session.peer.sendControl({ kind: "ping", token: 0 });
  }

  /** Makes `link` the session's downstream, sending what the client has not received. */
  attachDownstream(session: ServerSession, link: ActiveLink & { closed(): boolean }, recv: number): void {
    if (link.closed()) return;
    try {
      session.attach(link, recv);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      link.send(encodeControl(this.options, [errorFrame(error)]));
      link.drop(error.code);
    }
  }

  private async authenticate(req: ServerRequest): Promise<{ value: unknown } | ProtocolError> {
    const authenticate = this.options.authenticate;
    if (authenticate === undefined) return { value: null };
    try {
      return { value: await authenticate(req) };
    } catch (error) {
      // A ProtocolError is the hook's own answer (ERR_RATE_LIMITED: try again later); anything else refuses.
      if (error instanceof ProtocolError) return error;
      return new ProtocolError("ERR_UNAUTHORIZED", error instanceof Error ? error.message : "refused by authenticate");
    }
  }

  /** A downstream request's session, which must carry `X-Wirechan-Recv` (without it, frames could be skipped). */
  private downstreamFor(request: AttachRequest): ServerSession | ProtocolError {
    const session = this.sessions.find(request.sid, request.secret);
    if (session === undefined) return lost();
    if (request.recv < 0) return new ProtocolError("ERR_BAD_FRAME", `${recvHeader} must be the highest sequence number received, a non-negative integer`);
    return session;
  }

  /** What a downstream request asks for: its session's credentials and the client's `recv`. */
  private attachRequestOf(req: ServerRequest, transport: AttachRequest["transport"]): AttachRequest | ProtocolError {
    const credentials = this.credentialsOf(req);
    if (credentials instanceof ProtocolError) return credentials;
    return { ...credentials, recv: this.recvOf(req), transport };
  }

  /** The session id and secret in an HTTP request's headers. */
  private credentialsOf(req: ServerRequest): { sid: string; secret: string } | ProtocolError {
    const sid = req.headers[sessionHeader];
    const secret = req.headers[secretHeader];
    if (typeof sid !== "string" || typeof secret !== "string") {
      return new ProtocolError("ERR_NO_SESSION", `the ${sessionHeader} and ${secretHeader} headers are required (from ${this.options.path}/open)`);
    }
    return { sid, secret };
  }

  /** `X-Wirechan-Recv`: what the client received; -1 when absent or malformed (the downstream endpoints refuse it). */
  private recvOf(req: ServerRequest): number {
    const text = req.headers[recvHeader];
    if (typeof text !== "string" || !/^\d{1,15}$/.test(text)) return -1;
    return Number(text);
  }
}

/** Never: `remoteOwner` is only non-null with forwarding. */
function noForwarding(): ResponseParts {
  return protocolRefusal(new ProtocolError("ERR_SESSION_LOST", "no such session"));
}

function lost(): ProtocolError {
  return new ProtocolError("ERR_SESSION_LOST", "no such session: it expired, ended, or the server restarted; connect afresh");
}

/** Sends a refusal as a socket's only packet, and closes it. */
function refuseOnSocket(conn: Connection, error: ProtocolError): void {
  conn.send(refusalPacket(error));
  conn.close();
}

function packetResponse(options: Pick<ResolvedServerOptions, "codec">, status: number, frames: ControlFrame[]): ResponseParts {
  return { status, headers: jsonHeaders, body: encodeControl(options, frames) };
}

