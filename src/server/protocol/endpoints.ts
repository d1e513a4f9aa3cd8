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
import { encodeControl, type Handshake, jsonHeaders, ServerPollLink, ServerSseLink, ServerWebSocketLink } from "./links.js";
import type { SessionObserver } from "./session-events.js";
import { type ActiveLink, type NameResolver, type ServerSession, SessionTable } from "./sessions.js";

const { session: sessionHeader, secret: secretHeader, recv: recvHeader } = HEADERS;

/** Who a hello comes from: what `authenticate` returned, and the address it counts under. */
export interface ClientIdentity {
  principal: unknown;
  address: string;
}


/** The protocol under one server's `path`: its session table and its five handlers. */
export class ProtocolEndpoints implements Handshake {
  readonly sessions: SessionTable;

  constructor(
    readonly options: ResolvedServerOptions,
    resolveName: NameResolver,
    /** Told of each session opened, resumed and ended (see SessionTable). */
    observer?: SessionObserver,
  ) {
    this.sessions = new SessionTable(options, resolveName, observer);
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

  /** Ends every session, telling each client on its link that the server is going away. */
  close(): void {
    this.sessions.endAll(new ProtocolError("ERR_SERVER_CLOSED", "the server is shutting down: connect again later"));
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
    try {
      const hello = readHello(await req.text(), this.options.maxMessageSize);
      if (hello.rest.length > 0) throw new ProtocolError("ERR_BAD_FRAME", "open takes one packet: [hello]");
      const session = this.hello(hello, { principal: principal.value, address: this.options.clientAddress(req) });
      return { status: 200, headers: jsonHeaders, body: welcomePacket(this.welcome(session, hello.body)) };
    } catch (error) {
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
  };

  /** `GET path/sse`: the session's downstream as server-sent events, each event one packet. */
  private readonly serveSse = (req: ServerRequest): ResponseParts | undefined => {
    if (req.transport !== "sse") return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", "the sse endpoint needs Accept: text/event-stream"), 406);
    const found = this.downstreamOf(req);
    if (found instanceof ProtocolError) return protocolRefusal(found);
    withChannel(req, (conn) => this.attachSse(found.session, new ServerSseLink(conn, found.session), found.recv));
    return undefined;
  };

  /** `GET path/poll`: one packet of what is new since `X-Wirechan-Recv`, now or when there is some. */
  private readonly servePoll = (req: ServerRequest): ResponseParts | undefined => {
    const found = this.downstreamOf(req);
    if (found instanceof ProtocolError) return protocolRefusal(found);
    withChannel(req, (conn) => this.attachDownstream(found.session, new ServerPollLink(conn, this.options.pollTimeout, found.session), found.recv));
    return undefined;
  };

  /** `POST path/send`: a packet from the client, answered with the acknowledgement of what arrived. */
  private readonly serveSend = async (req: ServerRequest): Promise<ResponseParts> => {
    if (req.method !== "POST") return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", "send is a POST"), 405);
    const found = this.sessionOf(req);
    if (found instanceof ProtocolError) return protocolRefusal(found);
    const { session } = found;
    try {
      const text = await req.text();
      session.heard();
      session.peer.receive(text);
    } catch (error) {
      if (error instanceof ProtocolError) session.fail(error);
      return errorResponse(error, { protocol: true, logger: this.options.logger });
    }
    const received = session.peer.received;
    return packetResponse(this.options, 200, received === 0 ? [] : [{ kind: "ack", seq: received }]);
  };

  /**
   * Opens or resumes the session a hello asks for. Throws the ProtocolError the client is told
   * instead of a welcome: everything that would make the resume fail is checked here, before
   * any welcome goes out.
   */
  hello(hello: Hello, client: ClientIdentity): ServerSession {
    const { body } = hello;
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
    this.sessions.resumed(session);
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

  /** A downstream request's session, and the `X-Wirechan-Recv` it must carry (without it, frames could be skipped). */
  private downstreamOf(req: ServerRequest): { session: ServerSession; recv: number } | ProtocolError {
    const found = this.sessionOf(req);
    if (found instanceof ProtocolError) return found;
    if (found.recv < 0) return new ProtocolError("ERR_BAD_FRAME", `${recvHeader} must be the highest sequence number received, a non-negative integer`);
    return found;
  }

  /** The session named by an HTTP request's headers, and the client's `recv`. */
  private sessionOf(req: ServerRequest): { session: ServerSession; recv: number } | ProtocolError {
    const id = req.headers[sessionHeader];
    const secret = req.headers[secretHeader];
    if (typeof id !== "string" || typeof secret !== "string") {
      return new ProtocolError("ERR_NO_SESSION", `the ${sessionHeader} and ${secretHeader} headers are required (from ${this.options.path}/open)`);
    }
    const session = this.sessions.find(id, secret);
    if (session === undefined) return lost();
    return { session, recv: this.recvOf(req) };
  }

  /** `X-Wirechan-Recv`: what the client received; -1 when absent or malformed (the downstream endpoints refuse it). */
  private recvOf(req: ServerRequest): number {
    const text = req.headers[recvHeader];
    if (typeof text !== "string" || !/^\d{1,15}$/.test(text)) return -1;
    return Number(text);
  }
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

