// The client's three ways to reach a server (docs/protocol.md section 3), behind one small
// contract: open (handshake), start (downstream flows), send (upstream), close. Browser-safe:
// Node-only modules are loaded only where the browser API is missing.
import { type Codec, jsonCodec } from "../wire/codec.js";
import { controlFrame, type HelloBody, PROTOCOL_VERSION, type WelcomeBody } from "../wire/frames.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { decodePacket, endpointPath, HEADERS, type TransportName } from "../wire/protocol.js";
import { SseParser } from "./sse-parser.js";

export type { TransportName } from "../wire/protocol.js";

/** What a link tells its session. */
export interface LinkEvents {
  /** A packet from the server. */
  onPacket(text: string): void;
  /** The link is gone (never after `close()`); the session reconnects. */
  onDown(reason: string): void;
  /** Highest server frame received in order: what the HTTP downstream asks to continue from. */
  received(): number;
}

/** An open link of a session. */
export interface ClientLink {
  readonly transport: TransportName;
  /** Lets downstream packets flow (they wait until then, so the session can set up first). */
  start(): void;
  /** Sends a packet upstream. */
  send(packet: string): void;
  /** When the session may write (Link.defer of src/session/writer.ts). */
  defer(flush: () => void): void;
  close(): void;
}

/** A WebSocket constructor with the browser's API (the `ws` package has it too). */
export type WebSocketLike = new (url: string) => {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
};

/** What the HTTP transports ask of a request: the global `fetch` does it, and so does the Node one in node-http.ts. */
export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What they read of an answer. */
export interface HttpAnswer {
  readonly ok: boolean;
  readonly status: number;
  text(): Promise<string>;
  readonly body: ReadableStream<BufferSource> | null;
}

export type HttpFetch = (url: URL, init: HttpRequest) => Promise<HttpAnswer>;

export interface TransportContext {
  /** `http(s)://host:port/path` of the protocol. */
  endpoint: URL;
  connectTimeout: number;
  maxMessageSize: number;
  WebSocket: WebSocketLike | undefined;
  fetch: HttpFetch;
  /** The session's codec: upstream batches merge through it. The handshake itself is always JSON. */
  codec: Codec;
}

/** Why a transport could not open: the session tries the next one. */
export class TransportError extends Error {
  constructor(
    readonly transport: TransportName,
    message: string,
    /** A refusal that every transport would get (lost session, unauthorized): do not fall back. */
    readonly protocolError?: ProtocolError,
  ) {
    super(`${transport}: ${message}`);
    this.name = "TransportError";
  }
}

/** Opens `transport`: the handshake, then a link whose downstream waits for `start()`. */
export function openTransport(
  transport: TransportName,
  context: TransportContext,
  hello: HelloBody,
  events: LinkEvents,
): Promise<{ welcome: WelcomeBody; link: ClientLink }> {
  return transport === "websocket" ? openWebSocket(context, hello, events) : openHttp(transport, context, hello, events);
}

function helloPacket(hello: HelloBody): string {
  return jsonCodec.joinPacket([jsonCodec.encodeFrame(controlFrame({ kind: "hello", version: PROTOCOL_VERSION, body: hello }))]);
}

/** The welcome in a packet, or the protocol error the server answered instead. */
function readWelcome(transport: TransportName, text: string, maxMessageSize: number): WelcomeBody {
  let frame;
  try {
    frame = decodePacket(text, { codec: jsonCodec, maxMessageSize })[0];
  } catch (error) {
    throw new TransportError(transport, `the server's answer is not a wirechan packet (${error instanceof Error ? error.message : String(error)})`);
  }
  if (frame?.kind === "welcome") return frame.body;
  if (frame?.kind === "error") {
    const refused = new ProtocolError(frame.code as ProtocolError["code"], frame.message);
    throw new TransportError(transport, `refused: ${frame.code} ${frame.message}`, refused);
  }
  throw new TransportError(transport, "the server did not answer the hello with a welcome");
}

// WebSocket.

async function openWebSocket(context: TransportContext, hello: HelloBody, events: LinkEvents): Promise<{ welcome: WelcomeBody; link: ClientLink }> {
  const WebSocketClass = context.WebSocket ?? (await nodeWebSocket());
  if (WebSocketClass === undefined) throw new TransportError("websocket", "no WebSocket in this environment");
  const url = new URL(context.endpoint);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return new Promise((resolve, reject) => {
    const link = new WebSocketLink(new WebSocketClass(url.href), events);
    link.handshake(helloPacket(hello), context, resolve, reject);
  });
}

/** Node 20 has no global WebSocket: the `ws` package stands in (loaded only there). */
async function nodeWebSocket(): Promise<WebSocketLike | undefined> {
  const global = (globalThis as { WebSocket?: WebSocketLike }).WebSocket;
  if (global !== undefined) return global;
  try {
    const module = (await import("ws")) as unknown as { default: WebSocketLike };
    return module.default;
  } catch {
    return undefined;
  }
}

class WebSocketLink implements ClientLink {
  readonly transport = "websocket" as const;
  private welcomed = false;
  private started = false;
  private closedByUs = false;
  private early: string[] = [];

  constructor(
    private readonly socket: InstanceType<WebSocketLike>,
    private readonly events: LinkEvents,
  ) {}

  handshake(
    hello: string,
    context: TransportContext,
    resolve: (value: { welcome: WelcomeBody; link: ClientLink }) => void,
    reject: (error: unknown) => void,
  ): void {
    const socket = this.socket;
    const timer = setTimeout(() => fail(new TransportError("websocket", `did not open within ${context.connectTimeout} ms`)), context.connectTimeout);
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      this.closedByUs = true;
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened may throw in some implementations; it is gone either way.
      }
      reject(error);
    };
    socket.onopen = () => socket.send(hello);
    socket.onerror = () => {
      if (!this.welcomed) fail(new TransportError("websocket", "could not connect (refused, blocked, or no upgrade)"));
    };
    socket.onclose = () => {
      if (!this.welcomed) fail(new TransportError("websocket", "closed before the welcome"));
      else if (!this.closedByUs) this.events.onDown("websocket closed");
    };
    socket.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : null;
      if (this.welcomed) {
        if (text === null) return;
        if (this.started) this.events.onPacket(text);
        else this.early.push(text);
        return;
      }
      try {
        const welcome = readWelcome("websocket", text ?? "", context.maxMessageSize);
        clearTimeout(timer);
        this.welcomed = true;
        resolve({ welcome, link: this });
      } catch (error) {
        fail(error);
      }
    };
  }

  start(): void {
    this.started = true;
    const early = this.early;
    this.early = [];
    for (const text of early) this.events.onPacket(text);
  }

  send(packet: string): void {
    if (this.socket.readyState === 1) this.socket.send(packet);
  }

  /** At the end of the tick: the socket buffers what it cannot write yet. */
  defer(flush: () => void): void {
    queueMicrotask(flush);
  }

  close(): void {
    this.closedByUs = true;
    this.socket.close(1000, "");
  }
}

// SSE and long-polling: the handshake and the upstream are the same, POSTs.

async function openHttp(transport: "sse" | "longpoll", context: TransportContext, hello: HelloBody, events: LinkEvents): Promise<{ welcome: WelcomeBody; link: ClientLink }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), context.connectTimeout);
  let text: string;
  try {
    const response = await context.fetch(new URL(endpointPath(context.endpoint.pathname, "open"), context.endpoint), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: helloPacket(hello),
      signal: abort.signal,
    });
    text = await response.text();
  } catch (error) {
    throw new TransportError(transport, abort.signal.aborted ? `did not open within ${context.connectTimeout} ms` : `could not connect (${error instanceof Error ? error.message : String(error)})`);
  } finally {
    clearTimeout(timer);
  }
  const welcome = readWelcome(transport, text, context.maxMessageSize);
  const session = { id: welcome.sid, secret: welcome.secret ?? hello.secret ?? "" };
  const link = transport === "sse" ? new SseLink(context, session, events) : new LongPollLink(context, session, events);
  return { welcome, link };
}

interface SessionCredentials {
  id: string;
  secret: string;
}

/**
 * The upstream of the HTTP transports: one POST at a time. While one is in flight the session
 * does not write (see {@link defer}): what it has to send waits in the session, bounded there,
 * and leaves as one packet when the POST is answered.
 */
abstract class HttpLink implements ClientLink {
  abstract readonly transport: TransportName;
  protected closed = false;
  /** One controller per request: a signal shared by many fetches collects a listener per fetch. */
  private readonly requests = new Set<AbortController>();
  /**
   * Packets waiting for the POST in flight: the one the held flush writes when it is answered,
   * and a `bye` from the session's flushNow; never one per flush.
   */
  private queue: string[] = [];
  private posting = false;
  /** The session's flush, held until the POST in flight is answered. */
  private waitingFlush: (() => void) | null = null;

  constructor(
    protected readonly context: TransportContext,
    protected readonly session: SessionCredentials,
    protected readonly events: LinkEvents,
  ) {}

  abstract start(): void;

  send(packet: string): void {
    if (this.closed) return;
    this.queue.push(packet);
    if (!this.posting) void this.post();
  }

  defer(flush: () => void): void {
    if (this.posting) this.waitingFlush = flush;
    else queueMicrotask(flush);
  }

  /**
   * Stops the downstream at once; packets already handed to `send` (a `bye`) still go out,
   * and nothing more is read from their answers.
   */
  close(): void {
    this.closed = true;
    for (const request of this.requests) request.abort();
    this.requests.clear();
  }

  /** A request whose whole answer is read as text; `close()` aborts it. */
  protected async fetchText(url: URL, init: HttpRequest): Promise<{ ok: boolean; status: number; text: string }> {
    const controller = this.track();
    try {
      const response = await this.context.fetch(url, { ...init, signal: controller.signal });
      return { ok: response.ok, status: response.status, text: await response.text() };
    } finally {
      this.requests.delete(controller);
    }
  }

  /** A controller `close()` aborts; the caller deletes it from `requests` when done. */
  protected track(): AbortController {
    const controller = new AbortController();
    this.requests.add(controller);
    return controller;
  }

  protected untrack(controller: AbortController): void {
    this.requests.delete(controller);
  }

  protected headers(extra: Record<string, string> = {}): Record<string, string> {
    return { [HEADERS.session]: this.session.id, [HEADERS.secret]: this.session.secret, ...extra };
  }

  protected url(endpoint: "sse" | "poll" | "send"): URL {
    return new URL(endpointPath(this.context.endpoint.pathname, endpoint), this.context.endpoint);
  }

  /** The link failed: report once, stop everything. */
  protected down(reason: string): void {
    if (this.closed) return;
    // What waits is in the session's replay buffer: the next link sends it.
    this.queue = [];
    this.waitingFlush = null;
    this.close();
    this.events.onDown(reason);
  }

  private async post(): Promise<void> {
    this.posting = true;
    while (this.queue.length > 0) {
      const body = this.context.codec.mergePackets(this.queue);
      this.queue = [];
      try {
        // Not aborted by close(): the last packets (a bye) must still leave.
        const response = await this.context.fetch(this.url("send"), {
          method: "POST",
          headers: this.headers({ "content-type": "application/json" }),
          body,
        }).then(async (answer) => ({ ok: answer.ok, status: answer.status, text: await answer.text() }));
        if (this.closed) continue;
        // An ack, or the error that ends the session: the session reads both.
        this.events.onPacket(response.text);
        if (!response.ok) this.down(`send answered ${response.status}`);
      } catch (error) {
        // The frames are still in the session's replay buffer: the next link sends them again.
        this.down(`send failed (${error instanceof Error ? error.message : String(error)})`);
      }
      // What the session held back meanwhile goes now, into the queue this loop sends next.
      const flush = this.waitingFlush;
      this.waitingFlush = null;
      if (flush !== null && !this.closed) flush();
    }
    this.posting = false;
  }
}

class SseLink extends HttpLink {
  readonly transport = "sse" as const;

  start(): void {
    void this.read();
  }

  private async read(): Promise<void> {
    const controller = this.track();
    try {
      const response = await this.context.fetch(this.url("sse"), {
        headers: this.headers({ accept: "text/event-stream", [HEADERS.recv]: String(this.events.received()) }),
        signal: controller.signal,
      });
      if (!response.ok || response.body === null) {
        this.events.onPacket(await response.text());
        this.down(`sse answered ${response.status}`);
        return;
      }
      const parser = new SseParser((data) => this.events.onPacket(data), this.context.maxMessageSize + 64);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.push(value);
      }
      this.down("sse stream ended");
    } catch (error) {
      this.down(`sse failed (${error instanceof Error ? error.message : String(error)})`);
    } finally {
      this.untrack(controller);
    }
  }
}

class LongPollLink extends HttpLink {
  readonly transport = "longpoll" as const;

  start(): void {
    void this.poll();
  }

  private async poll(): Promise<void> {
    try {
      while (!this.closed) {
        const response = await this.fetchText(this.url("poll"), {
          headers: this.headers({ [HEADERS.recv]: String(this.events.received()) }),
        });
        if (this.closed) return;
        this.events.onPacket(response.text);
        if (!response.ok) {
          this.down(`poll answered ${response.status}`);
          return;
        }
      }
    } catch (error) {
      this.down(`poll failed (${error instanceof Error ? error.message : String(error)})`);
    }
  }
}
