// The links a ServerSession writes to, one per transport: a WebSocket (which also carries the
// hello), an SSE stream, and one long-poll at a time. Each closes its connection on `drop`
// and detaches from the session when its connection closes.
import type { CloseStatus, Connection } from "../connection.js";
import type { ResolvedServerOptions } from "../options.js";
import { controlFrame, type ControlFrame, type HelloBody, type WelcomeBody } from "../../wire/frames.js";
import { type Hello, readHello, refusalPacket, welcomePacket } from "../../wire/handshake.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import type { SocketTunnel } from "../cluster/edge-tunnels.js";
import type { ClientIdentity } from "./endpoints.js";
import type { TransportName } from "../../wire/protocol.js";
import type { ActiveLink, ServerSession } from "./sessions.js";
import { noticeSlowConsumer } from "./slow-consumer.js";
import type { CloseWatcher, ReceiveWatcher } from "../transport.js";

export const jsonHeaders = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" } as const;

/** What a WebSocket link needs from the endpoints to answer its hello. */
export interface Handshake {
  readonly options: ResolvedServerOptions;
  /** Opens or resumes the session a hello asks for; throws the ProtocolError to tell the client. */
  hello(hello: Hello, client: ClientIdentity): ServerSession;
  welcome(session: ServerSession, hello: HelloBody): WelcomeBody;
  /** Makes a link the session's downstream, sending what the client has not received. */
  attachDownstream(session: ServerSession, link: ActiveLink & { closed(): boolean }, recv: number): void;
  /**
   * With a backplane, when another node holds the hello's session: the tunnel the socket's
   * traffic now goes through, or `"refused"` (the socket was told why and closed). Null: the
   * session is this node's (or nobody's), and the hello is answered here.
   */
  forwardSocket(hello: Hello, text: string, conn: Connection, client: ClientIdentity): SocketTunnel | "refused" | null;
}

/**
 * A WebSocket carrying a session. Its first packet must start with a hello, answered at once
 * (`authenticate` already ran on the upgrade request); what follows goes to the session. A
 * socket that sends no hello within `linkTimeout` is told `ERR_HANDSHAKE_TIMEOUT` and closed:
 * sockets that never speak must not hold connection slots.
 */
export class ServerWebSocketLink implements ActiveLink {
  // Getters, not fields: the same for every link, so kept once on the prototype.
  get transport(): TransportName {
    return "websocket";
  }

  get oneShot(): false {
    return false;
  }

  private session: ServerSession | null = null;
  /** Another node holds the session: the socket's packets go there (cluster/edge-tunnels.ts). */
  private tunnel: SocketTunnel | null = null;
  /** The hello was refused: the link is closing and ignores what still arrives. */
  private refused = false;
  private helloTimer: NodeJS.Timeout | null;

  /** Who the hello comes from; let go once it is answered. */
  private client: ClientIdentity | null;

  constructor(
    private readonly conn: Connection,
    private readonly handshake: Handshake,
    client: ClientIdentity,
  ) {
    this.client = client;
    if (isWatchable(conn)) {
      // A connection of ours tells the link itself: no closure per link, kept for its whole life.
      conn.watchReceive(this);
      conn.watchClose(this);
    } else {
      // Another kind (a forwarded socket of the cluster): one listener for messages and close alike.
      const listener = (event: string | Uint8Array | CloseStatus): void => {
        if (typeof event === "string" || event instanceof Uint8Array) this.messageReceived(event);
        else this.connectionClosed(conn, event);
      };
      conn.onReceive(listener);
      conn.onClose(listener);
    }
    // The link rides as the timer's argument: a bound function or arrow field would stay with
    // the link for its whole life, while the timer goes with the hello.
    this.helloTimer = setTimeout(helloTimedOut, handshake.options.linkTimeout, this);
    this.helloTimer.unref();
  }

  send(packet: string): void {
    this.conn.send(packet);
  }

  drop(): void {
    this.conn.close();
  }

  /** @internal Each message of its connection (see {@link ReceiveWatcher}). */
  messageReceived(message: string | Uint8Array): void {
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
    if (this.tunnel !== null) {
      this.tunnel.up(message);
      return;
    }
    if (!this.refused) this.open(message);
  }

  private open(message: string): void {
    this.clearHelloTimer();
    const client = this.client;
    // Only one hello is read: what comes after goes to the session or the tunnel, or is ignored.
    this.client = null;
    if (client === null) return;
    let hello: Hello;
    let session: ServerSession;
    try {
      hello = readHello(message, this.handshake.options.maxMessageSize);
      const tunnel = this.handshake.forwardSocket(hello, message, this.conn, client);
      if (tunnel !== null) {
        if (tunnel === "refused") this.refused = true;
        else this.tunnel = tunnel;
        return;
      }
      session = this.handshake.hello(hello, client);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.session = session;
    this.conn.send(welcomePacket(this.handshake.welcome(session, hello.body)));
    this.handshake.attachDownstream(session, this, hello.body.recv);
    if (session.peer.hasEnded) return;
    try {
      session.peer.receiveFrames(hello.rest);
    } catch (error) {
      this.failSession(session, error);
    }
  }

  /** Called by the hello timer (see {@link helloTimedOut}). */
  helloTimedOut(): void {
    this.helloTimer = null;
    if (this.session !== null || this.refused) return;
    this.fail(new ProtocolError("ERR_HANDSHAKE_TIMEOUT", `no hello within ${this.handshake.options.linkTimeout} ms (linkTimeout)`));
  }

  private clearHelloTimer(): void {
    if (this.helloTimer !== null) clearTimeout(this.helloTimer);
    this.helloTimer = null;
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
      this.handshake.options.logger.error("handling a packet failed:", error);
      session.fail(new ProtocolError("ERR_BAD_FRAME", "the server could not handle a packet"));
    }
    this.conn.close();
  }

  /** An error before any session: tell the client and close. */
  private fail(error: unknown): void {
    const problem = error instanceof ProtocolError ? error : new ProtocolError("ERR_BAD_FRAME", "the server could not handle a packet");
    if (!(error instanceof ProtocolError)) this.handshake.options.logger.error("handling a packet failed:", error);
    if (this.session !== null) {
      this.failSession(this.session, problem);
      return;
    }
    this.refused = true;
    this.conn.send(refusalPacket(problem));
    this.conn.close();
  }

  /** @internal Its connection closed (see {@link CloseWatcher}). */
  connectionClosed(_conn: Connection, status: CloseStatus): void {
    this.clearHelloTimer();
    this.session?.detach(this);
    noticeSlowConsumer(this.session, status);
    this.tunnel?.closed(status.code);
  }

  closed(): boolean {
    return !this.conn.isOpen;
  }
}

/** A connection of ours, which tells watcher objects of its messages and close. */
function isWatchable(conn: Connection): conn is Connection & { watchReceive(watcher: ReceiveWatcher): void; watchClose(watcher: CloseWatcher): void } {
  const methods = conn as { watchReceive?: unknown; watchClose?: unknown };
  return typeof methods.watchReceive === "function" && typeof methods.watchClose === "function";
}

/** Every WebSocket link's hello timer calls this, with the link as its argument. */
function helloTimedOut(link: ServerWebSocketLink): void {
  link.helloTimedOut();
}

/** An SSE stream carrying a session's downstream: each event's data is one packet. */
export class ServerSseLink implements ActiveLink {
  readonly transport: TransportName = "sse";
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

  private readonly onClose = (status: CloseStatus): void => {
    this.session.detach(this);
    noticeSlowConsumer(this.session, status);
  };
}

/**
 * One long-poll: answered with the first packet the session writes, or `[]` after
 * `pollTimeout`. A newer poll replaces it (and it is answered `[]`).
 */
export class ServerPollLink implements ActiveLink {
  readonly transport: TransportName = "longpoll";
  readonly oneShot = true;
  readonly defer = setImmediate;
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


export function encodeControl(options: Pick<ResolvedServerOptions, "codec">, frames: ControlFrame[]): string {
  return options.codec.joinPacket(frames.map((frame) => options.codec.encodeFrame(controlFrame(frame))));
}
