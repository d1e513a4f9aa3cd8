// The protocol's HTTP endpoints (docs/protocol.md section 3): the WebSocket at `path`, and for
// the HTTP transports `path/open` (handshake), `path/sse` and `path/poll` (downstream) and
// `path/send` (upstream). Each turns requests and connections into Links of a ServerSession.
import type { Connection, ResponseParts } from "../connection.js";
import type { ResolvedServerOptions } from "../options.js";
import { type ServerRequest, withChannel } from "../request.js";
import type { Handler } from "../server.js";
import { controlFrame, type ControlFrame, type Frame, type HelloBody, PROTOCOL_VERSION } from "../../wire/frames.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import { decodePacket } from "../../session/peer.js";
import { type ActiveLink, type ProtocolTransport, type ServerSession, SessionTable } from "./sessions.js";
import type { NameResolver } from "./sessions.js";

/** The session headers of the HTTP transports. */
export const sessionHeader = "x-wirechan-session";
export const secretHeader = "x-wirechan-secret";
export const recvHeader = "x-wirechan-recv";

const jsonHeaders = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } as const;

/** Messages a WebSocket client may send before its hello is answered (authentication is async). */
const MAX_EARLY_MESSAGES = 64;

/** Status of a refused request, per error code. */
const statusOf: Partial<Record<string, number>> = {
  ERR_UNAUTHORIZED: 401,
  ERR_SESSION_LOST: 410,
  ERR_NO_SESSION: 410,
  ERR_TOO_MANY_SESSIONS: 503,
  ERR_MESSAGE_TOO_LARGE: 413,
};

/** The protocol under one server's `path`: its session table and its five handlers. */
export class ProtocolEndpoints {
  readonly sessions: SessionTable;

  constructor(
    readonly options: ResolvedServerOptions,
    resolveName: NameResolver,
  ) {
    this.sessions = new SessionTable(options, resolveName);
  }

  /** The routes to add, by path. */
  routes(): Array<[string, Handler]> {
    const { path } = this.options;
    return [
      [path, this.serveWebSocket],
      [`${path}/open`, this.serveOpen],
      [`${path}/sse`, this.serveSse],
      [`${path}/poll`, this.servePoll],
      [`${path}/send`, this.serveSend],
    ];
  }

  close(): void {
    this.sessions.endAll();
  }

  /** `GET path` with `Upgrade: websocket`: the first packet is a hello, answered on the socket. */
  private readonly serveWebSocket = async (req: ServerRequest): Promise<ResponseParts | undefined> => {
    if (req.transport !== "websocket") return refusal(426, new ProtocolError("ERR_BAD_FRAME", `${this.options.path} is the WebSocket endpoint; HTTP clients use ${this.options.path}/open`));
    const principal = await this.authenticate(req);
    if (principal instanceof ProtocolError) return refusal(401, principal);
    withChannel(req, (conn) => new WebSocketLink(conn, this, principal.value));
    return undefined;
  };

  /** `POST path/open` with `[hello]`: a new or resumed session for the HTTP transports, answered `[welcome]`. */
  private readonly serveOpen = async (req: ServerRequest): Promise<ResponseParts> => {
    if (req.method !== "POST") return refusal(405, new ProtocolError("ERR_BAD_FRAME", "open is a POST"));
    const principal = await this.authenticate(req);
    if (principal instanceof ProtocolError) return refusal(401, principal);
    try {
      const [hello, ...rest] = decodePacket(await req.text(), this.options);
      if (hello?.kind !== "hello" || rest.length > 0) throw new ProtocolError("ERR_BAD_FRAME", "open takes one packet: [hello]");
      const session = this.hello(hello.version, hello.body, principal.value);
      return packetResponse(this.options, 200, [this.welcome(session, hello.body)]);
    } catch (error) {
      return errorResponse(error);
    }
  };

  /** `GET path/sse`: the session's downstream as server-sent events, each event one packet. */
  private readonly serveSse = (req: ServerRequest): ResponseParts | undefined => {
    if (req.transport !== "sse") return refusal(406, new ProtocolError("ERR_BAD_FRAME", "the sse endpoint needs Accept: text/event-stream"));
    const found = this.downstreamOf(req);
    if (found instanceof ProtocolError) return refusal(statusOf[found.code] ?? 400, found);
    withChannel(req, (conn) => this.attachDownstream(found.session, new SseLink(conn, found.session), found.recv));
    return undefined;
  };

  /** `GET path/poll`: one packet of what is new since `X-Wirechan-Recv`, now or when there is some. */
  private readonly servePoll = (req: ServerRequest): ResponseParts | undefined => {
    const found = this.downstreamOf(req);
    if (found instanceof ProtocolError) return refusal(statusOf[found.code] ?? 400, found);
    withChannel(req, (conn) => this.attachDownstream(found.session, new PollLink(conn, this.options.pollTimeout, found.session), found.recv));
    return undefined;
  };

  /** `POST path/send`: a packet from the client, answered with the acknowledgement of what arrived. */
  private readonly serveSend = async (req: ServerRequest): Promise<ResponseParts> => {
    if (req.method !== "POST") return refusal(405, new ProtocolError("ERR_BAD_FRAME", "send is a POST"));
    const found = this.sessionOf(req);
    if (found instanceof ProtocolError) return refusal(statusOf[found.code] ?? 400, found);
    const { session } = found;
    try {
      const text = await req.text();
      session.heard();
      session.peer.receive(text);
    } catch (error) {
      if (error instanceof ProtocolError) session.fail(error);
      return errorResponse(error);
    }
    const received = session.peer.received;
    return packetResponse(this.options, 200, received === 0 ? [] : [{ kind: "ack", seq: received }]);
  };

  /** Opens or resumes the session a hello asks for. Throws a ProtocolError the client is told. */
  hello(version: number, body: HelloBody, principal: unknown): ServerSession {
    if (version !== PROTOCOL_VERSION) throw new ProtocolError("ERR_VERSION", `this server speaks wirechan protocol ${PROTOCOL_VERSION}, not ${version}`);
    if (body.sid === null) return this.sessions.create(principal);
    const session = body.secret === null ? undefined : this.sessions.find(body.sid, body.secret);
    if (session === undefined) throw lost();
    return session;
  }

  welcome(session: ServerSession, hello: HelloBody): ControlFrame {
    return {
      kind: "welcome",
      version: PROTOCOL_VERSION,
      body: {
        sid: session.id,
        secret: hello.sid === null ? session.secret : null,
        recv: session.peer.received,
        resumed: hello.sid !== null,
        heartbeat: this.options.heartbeat,
        window: this.options.window,
        limits: { maxMessageSize: this.options.maxMessageSize, maxChannels: this.options.maxChannelsPerSession },
      },
    };
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

/**
 * A WebSocket carrying a session. Its first packet must be `[hello]`; what arrives before the
 * hello is answered waits (bounded), then goes to the session in order.
 */
class WebSocketLink implements ActiveLink {
  readonly transport: ProtocolTransport = "websocket";
  readonly oneShot = false;
  private session: ServerSession | null = null;
  private early: string[] | null = null;

  constructor(
    private readonly conn: Connection,
    private readonly endpoints: ProtocolEndpoints,
    private readonly principal: unknown,
  ) {
    conn.onReceive(this.onMessage);
    conn.onClose(this.onClose);
  }

  send(packet: string): void {
    this.conn.send(packet);
  }

  drop(): void {
    this.conn.close();
  }

  private readonly onMessage = (message: string | Uint8Array): void => {
    if (typeof message !== "string") {
      this.fail(new ProtocolError("ERR_BAD_FRAME", "packets are text messages"));
      return;
    }
    const session = this.session;
    if (session !== null) {
      session.heard();
      this.receive(session, message);
      return;
    }
    if (this.early !== null) {
      if (this.early.length >= MAX_EARLY_MESSAGES) this.fail(new ProtocolError("ERR_BAD_FRAME", "too many messages before the hello was answered"));
      else this.early.push(message);
      return;
    }
    this.early = [];
    this.open(message);
  };

  private open(message: string): void {
    let frames: Frame[];
    let session: ServerSession;
    let hello: HelloBody;
    try {
      frames = decodePacket(message, this.endpoints.options);
      const first = frames[0];
      if (first?.kind !== "hello") throw new ProtocolError("ERR_NO_SESSION", "the first packet of a WebSocket must start with hello");
      hello = first.body;
      session = this.endpoints.hello(first.version, hello, this.principal);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.session = session;
    this.conn.send(encodeControl(this.endpoints.options, [this.endpoints.welcome(session, hello)]));
    this.endpoints.attachDownstream(session, this, hello.recv);
    if (session.peer.hasEnded) return;
    try {
      session.peer.receiveFrames(frames.slice(1));
    } catch (error) {
      this.failSession(session, error);
      return;
    }
    const early = this.early ?? [];
    this.early = null;
    for (const text of early) this.receive(session, text);
  }

  private receive(session: ServerSession, text: string): void {
    try {
      session.peer.receive(text);
    } catch (error) {
      this.failSession(session, error);
    }
  }

  private failSession(session: ServerSession, error: unknown): void {
    if (error instanceof ProtocolError) session.fail(error);
    else {
      console.error("wirechan: handling a packet failed:", error);
      session.fail(new ProtocolError("ERR_BAD_FRAME", "the server could not handle a packet"));
    }
    this.conn.close();
  }

  /** An error before any session: tell the client and close. */
  private fail(error: unknown): void {
    const problem = error instanceof ProtocolError ? error : new ProtocolError("ERR_BAD_FRAME", "the server could not handle a packet");
    if (!(error instanceof ProtocolError)) console.error("wirechan: handling a packet failed:", error);
    if (this.session !== null) {
      this.failSession(this.session, problem);
      return;
    }
    this.conn.send(encodeControl(this.endpoints.options, [errorFrame(problem)]));
    this.conn.close();
  }

  private readonly onClose = (): void => {
    this.session?.detach(this);
  };

  closed(): boolean {
    return !this.conn.isOpen;
  }
}

/** An SSE stream carrying a session's downstream: each event's data is one packet. */
class SseLink implements ActiveLink {
  readonly transport: ProtocolTransport = "sse";
  readonly oneShot = false;
  /** The answer to each upstream POST acknowledges what arrived. */
  readonly acksItself = true;

  constructor(
    private readonly conn: Connection,
    private readonly session: ServerSession,
  ) {
    conn.onClose(this.onClose);
  }

  send(packet: string): void {
    this.conn.send({ data: packet });
  }

  drop(): void {
    this.conn.close();
  }

  closed(): boolean {
    return !this.conn.isOpen;
  }

  private readonly onClose = (): void => {
    this.session.detach(this);
  };
}

/**
 * One long-poll: answered with the first packet the session writes, or `[]` after
 * `pollTimeout`. A newer poll replaces it (and it is answered `[]`).
 */
class PollLink implements ActiveLink {
  readonly transport: ProtocolTransport = "longpoll";
  readonly oneShot = true;
  /** The answer to each upstream POST acknowledges what arrived. */
  readonly acksItself = true;
  private timer: NodeJS.Timeout | null = null;
  private answered = false;

  constructor(
    private readonly conn: Connection,
    timeout: number,
    private readonly session: ServerSession,
  ) {
    this.timer = setTimeout(this.expire, timeout);
    conn.onClose(this.onClose);
  }

  send(packet: string): void {
    if (this.answered) return;
    this.answered = true;
    this.clearTimer();
    this.conn.send({ status: 200, headers: jsonHeaders, body: packet });
    // One answer per poll: the session waits for the next poll, and the sweep counts from now.
    this.session.detach(this);
  }

  drop(): void {
    this.send("[]");
  }

  closed(): boolean {
    return !this.conn.isOpen;
  }

  private readonly expire = (): void => {
    this.timer = null;
    this.send("[]");
  };

  private readonly onClose = (): void => {
    this.clearTimer();
    this.answered = true;
    this.session.detach(this);
  };

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function lost(): ProtocolError {
  return new ProtocolError("ERR_SESSION_LOST", "no such session: it expired, ended, or the server restarted; connect afresh");
}

function errorFrame(error: ProtocolError): ControlFrame {
  return { kind: "error", code: error.code, message: error.message, fatal: error.fatal };
}

function encodeControl(options: Pick<ResolvedServerOptions, "codec">, frames: ControlFrame[]): string {
  return options.codec.joinPacket(frames.map((frame) => options.codec.encodeFrame(controlFrame(frame))));
}

function packetResponse(options: Pick<ResolvedServerOptions, "codec">, status: number, frames: ControlFrame[]): ResponseParts {
  return { status, headers: jsonHeaders, body: encodeControl(options, frames) };
}

/** Refusals are always JSON: the client may not know the codec yet. */
function refusal(status: number, error: ProtocolError): ResponseParts {
  return { status, headers: jsonHeaders, body: JSON.stringify([controlFrame(errorFrame(error))]) };
}

function errorResponse(error: unknown): ResponseParts {
  if (error instanceof ProtocolError) return refusal(statusOf[error.code] ?? 400, error);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ERR_PAYLOAD_TOO_LARGE") return refusal(413, new ProtocolError("ERR_MESSAGE_TOO_LARGE", (error as Error).message));
  // The client went away mid-body (a cut connection): nobody reads the answer, nothing to report.
  if (code === "ECONNRESET" || code === "ERR_BODY_ABORTED") return refusal(400, new ProtocolError("ERR_BAD_FRAME", "the request body was cut off"));
  console.error("wirechan: a protocol request failed:", error);
  return refusal(500, new ProtocolError("ERR_BAD_FRAME", "the server could not handle the request"));
}
