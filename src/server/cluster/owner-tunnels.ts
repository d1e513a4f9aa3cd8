// The owner's side of forwarding (docs/api.md "No sticky sessions"): requests and connections
// that reached another node (the edge) for a session this node holds. Each becomes what it
// would have been had it come here directly: a WebSocket link, an SSE link or a long-poll over a
// TunnelConnection, or the answer to a `POST open` or `POST send`.
import type { Connection, ConnectionTransport, RequestInfo, ResponseParts } from "../connection.js";
import type { Logger } from "../../session/logger.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import { protocolRefusal } from "../error-response.js";
import type { ClientIdentity } from "../protocol/endpoints.js";
import {
  type AttachRequest,
  type ForwardKind,
  type ForwardMessage,
  MalformedForward,
  readAttachRequest,
  readForwardedHello,
  readSendRequest,
  type SendRequest,
  writeAnswer,
} from "./forward-frames.js";
import { TunnelConnection, type TunnelSink } from "./tunnel-connection.js";

/** What the owner needs of the protocol's endpoints: the same steps a direct request takes. */
export interface OwnerHost {
  /** A WebSocket link over `conn`; its hello arrives next through `conn`. */
  acceptSocket(conn: Connection, client: ClientIdentity): void;
  /** The answer to `POST open` with this body. */
  openWith(body: string, client: ClientIdentity): ResponseParts;
  /** The answer to `POST send`. */
  sendWith(request: SendRequest): ResponseParts;
  /** Attaches a downstream over the connection `connect` makes, or the refusal to answer with. */
  attachWith(request: AttachRequest, connect: (transport: ConnectionTransport) => Connection): ResponseParts | null;
}

/** Publishes a message to the edge `to`; throws when the backplane does not take it. */
export type ToEdge = (to: string, kind: Extract<ForwardKind, "ok" | "down" | "answer" | "drop">, tunnel: string, payload: string) => void;

export class OwnerTunnels {
  /** Live tunnels by `<edge tag>/<tunnel id>`, at most `maxForwarded`. */
  readonly #tunnels = new Map<string, TunnelConnection>();

  constructor(
    private readonly host: OwnerHost,
    private readonly toEdge: ToEdge,
    private readonly maxForwarded: number,
    private readonly logger: Logger,
  ) {}

  /** Tunnels open now. */
  get size(): number {
    return this.#tunnels.size;
  }

  /** Requests and connections other nodes forwarded here, ever. */
  get served(): number {
    return this.#served;
  }

  #served = 0;

  /** A message from an edge for a session here; `edge` is the sending node's id. */
  receive(message: ForwardMessage, edge: string): void {
    if (message.kind !== "up" && message.kind !== "close") this.#served++;
    try {
      this.#dispatch(message, edge);
    } catch (error) {
      if (!(error instanceof MalformedForward)) throw error;
      this.logger.warn(`cluster: a malformed ${message.kind} from node ${message.from} was dropped (${error.message})`);
    }
  }

  /** Ends every tunnel (the server closes): each edge closes its client's connection. */
  close(): void {
    for (const conn of [...this.#tunnels.values()]) conn.close();
  }

  #dispatch(message: ForwardMessage, edge: string): void {
    const key = `${message.from}/${message.tunnel}`;
    switch (message.kind) {
      case "up":
        this.#tunnels.get(key)?.receive(message.payload);
        return;
      case "close":
        this.#tunnels.get(key)?.closedByEdge(closeCodeOf(message.payload));
        return;
      case "socket": {
        const forwarded = readForwardedHello(message.payload);
        const conn = this.#tunnel(message, "websocket");
        if (conn === null) return;
        this.host.acceptSocket(conn, { principal: forwarded.principal, address: forwarded.address, via: edge });
        conn.receive(forwarded.hello);
        return;
      }
      case "open": {
        const forwarded = readForwardedHello(message.payload);
        this.#answer(message, this.host.openWith(forwarded.hello, { principal: forwarded.principal, address: forwarded.address, via: edge }));
        return;
      }
      case "send":
        this.#answer(message, this.host.sendWith(readSendRequest(message.payload)));
        return;
      case "attach": {
        const request = readAttachRequest(message.payload);
        let made: TunnelConnection | null = null;
        const refusal = this.host.attachWith(request, (transport) => {
          made = this.#tunnel(message, transport, request.transport === "sse");
          // Past maxForwarded: a connection already closed, which no link attaches to.
          return made ?? closedConnection(transport);
        });
        if (refusal !== null) this.#answer(message, refusal);
        else if (made === null) this.#answer(message, busy());
        return;
      }
      default:
        // ok, down, answer, drop go to the edge side, never here.
        return;
    }
  }

  /** A new tunnel's connection, or null (answered busy) past maxForwarded. `confirm`: tell the edge `ok` first (an SSE stream waits for it). */
  #tunnel(message: ForwardMessage, transport: ConnectionTransport, confirm = false): TunnelConnection | null {
    const key = `${message.from}/${message.tunnel}`;
    if (this.#tunnels.has(key)) {
      this.logger.warn(`cluster: node ${message.from} opened tunnel ${message.tunnel} twice; the second was dropped`);
      return null;
    }
    if (this.#tunnels.size >= this.maxForwarded) {
      if (transport === "websocket") this.#answer(message, busy());
      return null;
    }
    const sink: TunnelSink = (kind, payload) => this.toEdge(message.from, kind, message.tunnel, payload);
    if (confirm) sink("ok", "");
    const conn = new TunnelConnection(transport, forwardedRequest(message.from), sink, () => this.#tunnels.delete(key));
    this.#tunnels.set(key, conn);
    return conn;
  }

  #answer(message: ForwardMessage, parts: ResponseParts): void {
    try {
      this.toEdge(message.from, "answer", message.tunnel, writeAnswer(parts));
    } catch (error) {
      // The edge times out and tells its client to try again.
      this.logger.warn(`cluster: an answer to node ${message.from} was not taken by the backplane (${error instanceof Error ? error.message : String(error)})`);
    }
  }
}

/** What a tunnel's link knows of the request: only which node it came through. */
function forwardedRequest(edge: string): RequestInfo {
  return { method: "GET", url: "/", headers: {}, remoteAddress: `wirechan-node:${edge}` };
}

function busy(): ResponseParts {
  return protocolRefusal(new ProtocolError("ERR_TOO_MANY_CONNECTIONS", "the node that holds this session forwards maxForwarded connections already; try again later"));
}

function closedConnection(transport: ConnectionTransport): Connection {
  const conn = new TunnelConnection(transport, forwardedRequest("closed"), () => undefined, () => undefined);
  conn.closedByEdge(1013);
  return conn;
}

/** The close code an edge's `close` carries (its client's connection's), 1006 when it says none. */
function closeCodeOf(payload: string): number {
  const code = Number(payload);
  return Number.isInteger(code) && code >= 1000 && code <= 4999 ? code : 1006;
}
