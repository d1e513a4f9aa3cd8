// A TCP proxy for tests that plays the middlebox a streaming transport dreads: a corporate proxy
// or antivirus that refuses WebSocket upgrades and forwards each HTTP response only once it has
// ended. Requests pass through as they come; each response is held until complete (by its
// Content-Length, its last chunk, or the server's close), so an SSE stream never gets through.
// A client that must work behind it has to notice and fall back (long-polling, short responses).
import { connect, createServer, type Server, type Socket } from "node:net";
import { type BodyMode, declaredBody, type FrameEvent, HttpFramer, type MessageHead } from "./http-framer.js";
import { asksForWebSocket, checkPort, closeServer, hardKill, HOST, ignoreError, listenOnLoopback } from "../../scripts/net/tcp-kit.js";

export interface BufferingProxyOptions {
  /** Where to forward: the real server's port on 127.0.0.1. */
  targetPort: number;
}

/** The proxy's bounds, for tests that check them. */
export const BUFFERING_PROXY_LIMITS = {
  /** Past this many open pairs new clients are dropped, so a runaway reconnect loop can't exhaust file descriptors. */
  maxPairs: 1_000,
  /**
   * Unforwarded response bytes one pair may hold; past this the pair is cut (reset both ways),
   * as a proxy with a full buffer would give up. A forwarded response the client doesn't read
   * stays in the client socket's buffer while the proxy stops reading the server meanwhile, so a
   * pair holds at most about twice this.
   */
  heldBytesPerPair: 8 * 1024 * 1024,
  /** Requests sent ahead of their responses (pipelined) on one connection before the pair is cut. */
  maxPipelined: 1_000,
} as const;

const FORBIDDEN = Buffer.from("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "latin1");
const EMPTY = Buffer.alloc(0);

type PairEnd = "cut" | "error" | "closed" | "shutdown";

/** One proxied connection: the accepted client socket, the upstream socket, and a framer each way. */
class BufferedPair {
  private readonly requests = new HttpFramer("request", this.requestBody.bind(this));
  private readonly responses = new HttpFramer("response", this.responseBody.bind(this));
  /** Methods of requests whose responses haven't started, oldest first: a response to HEAD has no body. */
  private readonly methods: string[] = [];
  /** The current request head, held until complete so a WebSocket upgrade never reaches the server. */
  private requestHead: Buffer[] = [];
  /** The current response, held until complete. */
  private held: Buffer[] = [];
  heldBytes = 0;
  private blocked = false;
  private closedSides = 0;
  private ended = false;

  constructor(
    private readonly state: ProxyState,
    readonly client: Socket,
    readonly upstream: Socket,
  ) {
    client.on("error", this.onError);
    upstream.on("error", this.onError);
    client.on("data", this.onClientData);
    upstream.on("data", this.onUpstreamData);
    client.on("drain", this.onClientDrain);
    upstream.on("drain", this.onUpstreamDrain);
    client.on("end", this.onClientEnd);
    upstream.on("end", this.onUpstreamEnd);
    client.on("close", this.onSocketClose);
    upstream.on("close", this.onSocketClose);
  }

  get bufferedBytes(): number {
    const { client, upstream } = this;
    const sockets = client.writableLength + upstream.writableLength + client.readableLength + upstream.readableLength;
    const heads = this.requestHead.reduce((n, b) => n + b.length, 0) + this.requests.pendingBytes + this.responses.pendingBytes;
    return this.heldBytes + heads + sockets;
  }

  /** Closes the pair; every end but a graceful one resets both sockets. False if it was already over. */
  end(how: PairEnd): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.dropHeld();
    this.requestHead = [];
    if (how !== "closed") {
      hardKill(this.client);
      hardKill(this.upstream);
    }
    this.state.pairEnded(this, how);
    return true;
  }

  private get forwarding(): boolean {
    return !this.ended && !this.blocked;
  }

  private readonly onError = (): void => {
    this.end("error");
  };

  /** Request bytes go on as they come, except a head, held until complete to look for a WebSocket upgrade. */
  private readonly onClientData = (chunk: Buffer): void => {
    if (!this.forwarding) return;
    let from = 0;
    for (const event of this.requests.feed(chunk)) {
      if (event.kind === "head" && asksForWebSocket(event.head.text)) {
        this.block();
        return;
      }
      this.sendUp(chunk.subarray(from, event.at));
      from = event.at;
    }
    if (this.methods.length > BUFFERING_PROXY_LIMITS.maxPipelined) {
      this.end("cut");
      return;
    }
    const rest = chunk.subarray(from);
    if (this.requests.inHead) this.requestHead.push(rest);
    else this.sendUp(rest);
  };

  /** Response bytes are held, and a response goes on whole once its last byte is in. */
  private readonly onUpstreamData = (chunk: Buffer): void => {
    if (!this.forwarding) return;
    let from = 0;
    for (const event of this.responses.feed(chunk)) from = this.onResponseEvent(chunk, from, event);
    const rest = chunk.subarray(from);
    if (this.responses.tunneling) {
      this.write(this.client, rest, this.upstream);
      return;
    }
    this.hold(rest);
    if (this.heldBytes > BUFFERING_PROXY_LIMITS.heldBytesPerPair) this.end("cut");
  };

  private readonly onClientDrain = (): void => {
    if (this.forwarding) this.upstream.resume();
  };

  private readonly onUpstreamDrain = (): void => {
    if (this.forwarding) this.client.resume();
  };

  /** Half-closes are passed on; an incomplete request head goes first, as the server would get it without a proxy. */
  private readonly onClientEnd = (): void => {
    if (!this.forwarding) return;
    this.sendUp(EMPTY);
    this.upstream.end();
  };

  /**
   * The server closed: that completes a close-delimited response. Any other incomplete response
   * is dropped, never forwarded in part: the client sees the connection end without it.
   */
  private readonly onUpstreamEnd = (): void => {
    if (!this.forwarding) return;
    if (this.responses.untilClose) this.flush();
    else if (this.heldBytes > 0) {
      this.dropHeld();
      this.state.responsesDropped += 1;
    }
    this.client.end();
  };

  /** Both sockets gone on their own (FIN both ways, or the 403 path): the pair is over without a cut. */
  private readonly onSocketClose = (): void => {
    this.closedSides += 1;
    if (this.closedSides === 2) this.end("closed");
  };

  /** After 403 the socket is closed for good, whatever the client still sends. */
  private readonly onForbiddenSent = (): void => {
    this.client.destroy();
  };

  /** Returns where the bytes not yet dealt with start. */
  private onResponseEvent(chunk: Buffer, from: number, event: FrameEvent): number {
    if (event.kind === "head") return from;
    this.hold(chunk.subarray(from, event.at));
    this.flush();
    if (event.kind === "end") this.state.responsesForwarded += 1;
    else if (!this.requests.tunneling) {
      // After a 101 or a CONNECT's 2xx both ways are opaque; a head held meanwhile is the new protocol's.
      this.requests.tunnel();
      this.sendUp(EMPTY);
    }
    return event.at;
  }

  private requestBody(head: MessageHead): BodyMode {
    this.methods.push(head.method ?? "GET");
    if (head.method === "CONNECT") return { kind: "tunnel" };
    // A request body with a framing the proxy can't follow: pass the rest through rather than guess.
    return declaredBody(head) ?? { kind: "tunnel" };
  }

  /** RFC 9112 section 6.3, in its order. */
  private responseBody(head: MessageHead): BodyMode {
    const status = head.status ?? 0;
    if (status === 101) return { kind: "tunnel" };
    // An interim response (100 Continue, 103 Early Hints) has no body and answers no request yet.
    if (status < 200) return { kind: "none" };
    const method = this.methods.shift();
    if (method === "HEAD" || status === 204 || status === 304) return { kind: "none" };
    if (method === "CONNECT" && status < 300) return { kind: "tunnel" };
    const body = declaredBody(head);
    // A response with neither header (or with a coding other than chunked last) ends when the server closes.
    return body === undefined || body.kind === "none" ? { kind: "close" } : body;
  }

  /** Forwards the held request head (if any) and `data` to the server. */
  private sendUp(data: Buffer): void {
    if (this.requestHead.length > 0) {
      const head = this.requestHead;
      this.requestHead = [];
      for (const part of head) this.write(this.upstream, part, this.client);
    }
    this.write(this.upstream, data, this.client);
  }

  private hold(data: Buffer): void {
    if (data.length === 0) return;
    this.held.push(data);
    this.heldBytes += data.length;
  }

  /** Sends the held response on, all in one go. */
  private flush(): void {
    const held = this.held;
    this.dropHeld();
    this.client.cork();
    for (const part of held) this.write(this.client, part, this.upstream);
    this.client.uncork();
  }

  private dropHeld(): void {
    this.held = [];
    this.heldBytes = 0;
  }

  /** Writes with back-pressure: the source pauses while the destination's buffer is full (resumed on drain). */
  private write(to: Socket, data: Buffer, from: Socket): void {
    if (data.length > 0 && !to.write(data)) from.pause();
  }

  private block(): void {
    this.blocked = true;
    this.requestHead = [];
    this.dropHeld();
    this.state.upgradesRefused += 1;
    this.upstream.destroy();
    this.client.end(FORBIDDEN, this.onForbiddenSent);
  }
}

/** The proxy's state and rules, kept apart from BufferingProxy so its public surface stays the documented one. */
class ProxyState {
  readonly pairs = new Set<BufferedPair>();
  accepted = 0;
  cuts = 0;
  responsesForwarded = 0;
  responsesDropped = 0;
  upgradesRefused = 0;
  closed = false;

  constructor(private readonly targetPort: number) {}

  readonly onConnection = (client: Socket): void => {
    client.on("error", ignoreError);
    if (this.closed || this.pairs.size >= BUFFERING_PROXY_LIMITS.maxPairs) {
      client.destroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect({ host: HOST, port: this.targetPort, allowHalfOpen: true, noDelay: true });
    this.pairs.add(new BufferedPair(this, client, upstream));
  };

  sum(of: (pair: BufferedPair) => number): number {
    let total = 0;
    for (const pair of this.pairs) total += of(pair);
    return total;
  }

  pairEnded(pair: BufferedPair, how: PairEnd): void {
    this.pairs.delete(pair);
    if (how === "cut") this.cuts += 1;
  }

  shutdown(): void {
    this.closed = true;
    for (const pair of [...this.pairs]) pair.end("shutdown");
  }
}

/**
 * An HTTP/1.x proxy on 127.0.0.1 that forwards requests as they come and each response only once
 * it is complete, and answers WebSocket upgrades with 403. Responses on a keep-alive connection
 * (pipelined or not) are held and forwarded one after another, in order.
 */
export class BufferingProxy {
  readonly port: number;
  readonly url: string;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly state: ProxyState,
    port: number,
  ) {
    this.port = port;
    this.url = `http://${HOST}:${port}`;
  }

  /** Listens on an OS-chosen port, so parallel test files never collide. */
  static async start(options: BufferingProxyOptions): Promise<BufferingProxy> {
    checkPort("BufferingProxy", options.targetPort);
    const state = new ProxyState(options.targetPort);
    const server = createServer({ allowHalfOpen: true, noDelay: true }, state.onConnection);
    const port = await listenOnLoopback("BufferingProxy", server);
    return new BufferingProxy(server, state, port);
  }

  /** Pairs (client socket, upstream socket) currently open. */
  get openConnections(): number {
    return this.state.pairs.size;
  }

  /** Connections accepted and forwarded so far; over-limit ones are not counted. */
  get accepted(): number {
    return this.state.accepted;
  }

  /** Complete responses forwarded so far, interim ones (1xx) included. */
  get responsesForwarded(): number {
    return this.state.responsesForwarded;
  }

  /** Incomplete responses thrown away because the server closed before their end. */
  get responsesDropped(): number {
    return this.state.responsesDropped;
  }

  /** WebSocket upgrade requests answered with 403. */
  get upgradesRefused(): number {
    return this.state.upgradesRefused;
  }

  /** Pairs cut for holding more than BUFFERING_PROXY_LIMITS allows. */
  get cuts(): number {
    return this.state.cuts;
  }

  /** Response bytes held right now, not yet forwarded, over all pairs: lets a test see a response reach the proxy. */
  get heldBytes(): number {
    return this.state.sum((pair) => pair.heldBytes);
  }

  /** Everything the proxy holds: held responses and request heads, and both sockets' buffers of every pair. */
  get bufferedBytes(): number {
    return this.state.sum((pair) => pair.bufferedBytes);
  }

  /** Stops listening and resets every pair; resolves once all is closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = closeServer(this.server);
    this.state.shutdown();
    await closed;
  }
}
