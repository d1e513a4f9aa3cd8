// The edge's side of forwarding (docs/api.md "No sticky sessions"): a request or connection
// reached this node for a session another node holds. It crosses the backplane to that node
// (the owner) as a tunnel, and what the owner answers is written to the client here. A tunnel
// whose owner does not answer in time is refused: `ERR_SESSION_LOST` when the owner is gone (its
// sessions went with it), else `ERR_UNAVAILABLE` (try again).
import type { Connection, ResponseParts } from "../connection.js";
import { protocolRefusal } from "../error-response.js";
import type { Logger } from "../../session/logger.js";
import { refusalPacket } from "../../wire/handshake.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import { SLOW_CONSUMER_CLOSE_CODE, utf8Length } from "../../wire/protocol.js";
import type { ClientIdentity } from "../protocol/endpoints.js";
import { type AttachRequest, type ForwardKind, type ForwardMessage, MalformedForward, readAnswer, type SendRequest } from "./forward-frames.js";
import type { NodeDirectory } from "./node-directory.js";

/** Publishes a message to the owner `to`; throws when the backplane does not take it. */
export type ToOwner = (to: string, kind: Extract<ForwardKind, "socket" | "up" | "open" | "attach" | "send" | "close">, tunnel: string, payload: string) => void;

export interface EdgeOptions {
  /** How long the owner has to answer a request, or to start a tunnel (ms). */
  readonly forwardTimeout: number;
  /** How long a long-poll may wait at the owner (ms): its tunnel waits that plus `forwardTimeout`. */
  readonly pollTimeout: number;
  /** A live tunnel the owner has said nothing on for this long is closed (the owner pings every heartbeat). */
  readonly heartbeatTimeout: number;
  /** Tunnels at once; past it a forwarded request is refused `ERR_TOO_MANY_CONNECTIONS` (try again). */
  readonly maxForwarded: number;
  /** UTF-8 bytes of packets an SSE tunnel keeps between the owner's `ok` and its stream opening here (the server's `maxBufferedBytes`). */
  readonly maxEarlyBytes: number;
  readonly logger: Logger;
}

/** What the WebSocket link on the edge does with its socket once its hello was forwarded. */
export interface SocketTunnel {
  /** A packet from the client. */
  up(text: string): void;
  /** The client's socket closed, with this close code (the owner's link hears it: 4008 is a slow consumer). */
  closed(code: number): void;
}

type TunnelKind = "request" | "socket" | "sse" | "poll";

class EdgeTunnel {
  conn: Connection | null = null;
  /** An SSE stream's packets that came before its connection opened, and their UTF-8 bytes. */
  readonly early: string[] = [];
  earlyBytes = 0;
  /** The first answer's taker, while the tunnel waits for one. */
  waiting: ((reply: ForwardMessage | ProtocolError) => void) | null = null;
  /** When the owner was last heard on this tunnel (ms since epoch), or when it started. */
  heard = Date.now();
  /** Whether the owner spoke on it: until then it has `forwardTimeout` (a poll: plus `pollTimeout`). */
  started = false;

  constructor(
    readonly id: string,
    readonly owner: string,
    readonly kind: TunnelKind,
    /** How long the owner has for its first word (ms). */
    readonly patience: number,
  ) {}
}

export class EdgeTunnels {
  readonly #tunnels = new Map<string, EdgeTunnel>();
  #next = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly toOwner: ToOwner,
    private readonly directory: NodeDirectory,
    private readonly options: EdgeOptions,
  ) {}

  /** Tunnels open now. */
  get size(): number {
    return this.#tunnels.size;
  }

  /** Requests and connections forwarded to other nodes, ever. */
  get opened(): number {
    return this.#next;
  }

  /** A hello on a WebSocket, for a session `owner` holds: the socket is tunnelled there, or refused and closed (null). */
  socket(owner: string, conn: Connection, hello: string, client: ClientIdentity): SocketTunnel | null {
    const tunnel = this.#open(owner, "socket", this.options.forwardTimeout, "socket", helloPayload(hello, client));
    if (tunnel instanceof ProtocolError) {
      refuseSocket(conn, tunnel);
      return null;
    }
    tunnel.conn = conn;
    tunnel.waiting = (reply) => {
      if (reply instanceof ProtocolError) refuseSocket(conn, reply);
    };
    return new ForwardedSocket(this, tunnel);
  }

  /** `POST open` with a hello resuming a session `owner` holds. */
  open(owner: string, hello: string, client: ClientIdentity): Promise<ResponseParts> {
    return this.#request(owner, "open", helloPayload(hello, client));
  }

  /** `POST send` for a session `owner` holds. */
  send(owner: string, request: SendRequest): Promise<ResponseParts> {
    return this.#request(owner, "send", JSON.stringify(request));
  }

  /**
   * An SSE stream for a session `owner` holds: resolves with the refusal to answer, or with the
   * function that takes the stream's connection once it is open (the owner attached it).
   */
  async sse(owner: string, request: AttachRequest): Promise<ResponseParts | ((conn: Connection) => void)> {
    const tunnel = this.#open(owner, "sse", this.options.forwardTimeout, "attach", JSON.stringify(request));
    if (tunnel instanceof ProtocolError) return protocolRefusal(tunnel);
    const reply = await this.#firstReply(tunnel);
    if (reply instanceof ProtocolError) return protocolRefusal(reply);
    if (reply.kind !== "ok") {
      this.#forget(tunnel);
      return reply.kind === "answer" ? this.#parts(reply) : protocolRefusal(unavailable("the node that holds this session closed the stream"));
    }
    return (conn) => this.#bindStream(tunnel, conn);
  }

  /** A long-poll for a session `owner` holds, on its connection here. */
  poll(owner: string, conn: Connection, request: AttachRequest): void {
    const tunnel = this.#open(owner, "poll", this.options.pollTimeout + this.options.forwardTimeout, "attach", JSON.stringify(request));
    if (tunnel instanceof ProtocolError) {
      conn.send(protocolRefusal(tunnel));
      return;
    }
    tunnel.conn = conn;
    tunnel.waiting = (reply) => {
      if (reply instanceof ProtocolError) conn.send(protocolRefusal(reply));
    };
    conn.onClose((status) => this.#clientLeft(tunnel, status.code));
  }

  /** A message from an owner for one of this node's tunnels. */
  receive(message: ForwardMessage): void {
    const tunnel = this.#tunnels.get(message.tunnel);
    if (tunnel === undefined || tunnel.owner !== message.from) return;
    tunnel.heard = Date.now();
    tunnel.started = true;
    const waiting = tunnel.waiting;
    tunnel.waiting = null;
    if (tunnel.kind === "request" || (tunnel.kind === "sse" && tunnel.conn === null && waiting !== null)) {
      waiting?.(message);
      return;
    }
    switch (message.kind) {
      case "down":
        this.#down(tunnel, message.payload);
        return;
      case "answer":
        this.#forget(tunnel);
        this.#answer(tunnel, message);
        return;
      case "drop":
        this.#forget(tunnel);
        tunnel.conn?.close();
        return;
      default:
        return;
    }
  }

  /** Closes every tunnel's connection (the server closes). */
  close(): void {
    for (const tunnel of [...this.#tunnels.values()]) {
      this.#forget(tunnel);
      tunnel.waiting?.(unavailable("this server is shutting down"));
      tunnel.conn?.close();
    }
    this.#stopSweep();
  }

  /** @internal A packet from a forwarded socket's client. */
  up(tunnel: EdgeTunnel, text: string): void {
    if (!this.#tunnels.has(tunnel.id)) return;
    try {
      this.toOwner(tunnel.owner, "up", tunnel.id, text);
    } catch {
      // The backplane cannot carry it: the socket closes and its client resumes elsewhere or later.
      this.#forget(tunnel);
      tunnel.conn?.close();
    }
  }

  /** @internal The client's connection closed with `code`: the owner drops its link. */
  clientLeft(tunnel: EdgeTunnel, code: number): void {
    this.#clientLeft(tunnel, code);
  }

  #clientLeft(tunnel: EdgeTunnel, code = 1006): void {
    if (!this.#forget(tunnel)) return;
    try {
      this.toOwner(tunnel.owner, "close", tunnel.id, String(code));
    } catch {
      // The owner finds the link silent and drops it after heartbeatTimeout.
    }
  }

  #open(owner: string, kind: TunnelKind, patience: number, message: "socket" | "open" | "attach" | "send", payload: string): EdgeTunnel | ProtocolError {
    if (this.directory.stateOf(owner) === "gone") return gone();
    if (this.#tunnels.size >= this.options.maxForwarded) {
      return new ProtocolError("ERR_TOO_MANY_CONNECTIONS", `this server forwards ${this.options.maxForwarded} requests to other nodes already (maxForwarded); try again later`);
    }
    const tunnel = new EdgeTunnel((this.#next++).toString(36), owner, kind, patience);
    try {
      this.toOwner(owner, message, tunnel.id, payload);
    } catch (error) {
      return unavailable(`the backplane did not take the request (${error instanceof Error ? error.message : String(error)})`);
    }
    this.#tunnels.set(tunnel.id, tunnel);
    this.#startSweep();
    return tunnel;
  }

  async #request(owner: string, message: "open" | "send", payload: string): Promise<ResponseParts> {
    const tunnel = this.#open(owner, "request", this.options.forwardTimeout, message, payload);
    if (tunnel instanceof ProtocolError) return protocolRefusal(tunnel);
    const reply = await this.#firstReply(tunnel);
    this.#forget(tunnel);
    if (reply instanceof ProtocolError) return protocolRefusal(reply);
    return reply.kind === "answer" ? this.#parts(reply) : protocolRefusal(unavailable(`the node that holds this session answered ${reply.kind}`));
  }

  #firstReply(tunnel: EdgeTunnel): Promise<ForwardMessage | ProtocolError> {
    return new Promise((resolve) => {
      tunnel.waiting = resolve;
    });
  }

  #bindStream(tunnel: EdgeTunnel, conn: Connection): void {
    if (!this.#tunnels.has(tunnel.id)) {
      // The owner dropped it, or this node closes, before the stream opened.
      conn.close();
      return;
    }
    tunnel.conn = conn;
    conn.onClose((status) => this.#clientLeft(tunnel, status.code));
    for (const packet of tunnel.early.splice(0)) conn.send({ data: packet });
  }

  #down(tunnel: EdgeTunnel, packet: string): void {
    const conn = tunnel.conn;
    if (conn === null) {
      tunnel.earlyBytes += utf8Length(packet);
      if (tunnel.earlyBytes <= this.options.maxEarlyBytes) {
        tunnel.early.push(packet);
        return;
      }
      // As a slow consumer: the client resumes, and the session replays what this stream lost.
      this.options.logger.warn(`cluster: a forwarded SSE stream got more than ${this.options.maxEarlyBytes} bytes (maxBufferedBytes) before it opened; it is closed`);
      this.#clientLeft(tunnel, SLOW_CONSUMER_CLOSE_CODE);
      tunnel.early.length = 0;
      return;
    }
    conn.send(tunnel.kind === "sse" ? { data: packet } : packet);
  }

  #answer(tunnel: EdgeTunnel, message: ForwardMessage): void {
    const conn = tunnel.conn;
    if (conn === null) return;
    const parts = this.#parts(message);
    if (tunnel.kind === "poll") conn.send(parts);
    else {
      // A WebSocket or SSE tunnel answered as a request: the owner refused it (busy).
      const body = typeof parts.body === "string" ? parts.body : "";
      conn.send(tunnel.kind === "sse" ? { data: body } : body);
      conn.close();
    }
  }

  #parts(message: ForwardMessage): ResponseParts {
    try {
      const answer = readAnswer(message.payload);
      return { status: answer.status, headers: answer.headers, body: answer.body };
    } catch (error) {
      if (!(error instanceof MalformedForward)) throw error;
      this.options.logger.warn(`cluster: a malformed answer from node ${message.from} (${error.message})`);
      return protocolRefusal(unavailable("the node that holds this session answered something unreadable"));
    }
  }

  /** Forgets `tunnel`; false if it was forgotten already. */
  #forget(tunnel: EdgeTunnel): boolean {
    if (this.#tunnels.get(tunnel.id) !== tunnel) return false;
    this.#tunnels.delete(tunnel.id);
    if (this.#tunnels.size === 0) this.#stopSweep();
    return true;
  }

  #startSweep(): void {
    if (this.#timer !== null) return;
    const interval = Math.max(10, Math.floor(Math.min(this.options.forwardTimeout, this.options.heartbeatTimeout) / 4));
    this.#timer = setInterval(this.#sweep, interval);
    this.#timer.unref();
  }

  #stopSweep(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Refuses tunnels whose owner did not start them in time, and closes live ones it went silent on. */
  readonly #sweep = (): void => {
    const now = Date.now();
    for (const tunnel of [...this.#tunnels.values()]) {
      const silent = now - tunnel.heard;
      if (!tunnel.started && silent >= tunnel.patience) {
        this.#clientLeft(tunnel);
        const waiting = tunnel.waiting;
        tunnel.waiting = null;
        waiting?.(this.#unanswered(tunnel.owner));
      } else if (tunnel.started && silent >= this.options.heartbeatTimeout && tunnel.kind !== "poll") {
        this.#clientLeft(tunnel);
        tunnel.conn?.close();
      }
    }
  };

  #unanswered(owner: string): ProtocolError {
    return this.directory.stateOf(owner) === "gone" ? gone() : unavailable(`the node that holds this session did not answer within ${this.options.forwardTimeout} ms (forwardTimeout)`);
  }
}

/** The edge's WebSocket link hands its socket's traffic here once the hello was forwarded. */
class ForwardedSocket implements SocketTunnel {
  constructor(
    private readonly tunnels: EdgeTunnels,
    private readonly tunnel: EdgeTunnel,
  ) {}

  up(text: string): void {
    this.tunnels.up(this.tunnel, text);
  }

  closed(code: number): void {
    this.tunnels.clientLeft(this.tunnel, code);
  }
}

function helloPayload(hello: string, client: ClientIdentity): string {
  let principal: unknown = client.principal;
  try {
    JSON.stringify(principal);
  } catch {
    // A principal JSON cannot write crosses as null: the owner's samePrincipal then decides.
    principal = null;
  }
  return JSON.stringify({ hello, principal, address: client.address });
}

function refuseSocket(conn: Connection, error: ProtocolError): void {
  conn.send(refusalPacket(error));
  conn.close();
}

function gone(): ProtocolError {
  return new ProtocolError("ERR_SESSION_LOST", "the server node that held this session is gone, and the session with it; connect afresh");
}

function unavailable(why: string): ProtocolError {
  return new ProtocolError("ERR_UNAVAILABLE", `${why}; try again`);
}
