// The contract between the client's session and its links (docs/protocol.md sections 3 and 6):
// what a link tells its session, what the session asks of a link, what the HTTP transports
// need of `fetch`, and the error of a transport that could not open. The links themselves are
// in transports.ts (WebSocket) and http-links.ts (SSE and long-polling). Browser-safe.
import { WirechanError } from "../csp/errors.js";
import type { Codec } from "../wire/codec.js";
import type { WelcomeBody } from "../wire/frames.js";
import { readHelloAnswer } from "../wire/handshake.js";
import type { ProtocolError } from "../wire/protocol-error.js";
import type { TransportName } from "../wire/protocol.js";

/** Why a link went down. */
export interface LinkDown {
  /** The WebSocket close code, or the HTTP status of the answer that ended the link. */
  code?: number;
  /** What happened, in words. */
  reason: string;
  /**
   * The refusal the link ended with: the server's error packet, or what an HTTP status or a
   * WebSocket close code means when no resend can change it (a packet over a limit). The
   * session ends with it, unless it is one a later try can pass (refusals.ts).
   */
  refusal?: ProtocolError;
}

/** What a link tells its session. Every call names the link, so the session can ignore a link it no longer uses. */
export interface LinkEvents {
  /** A packet that arrived on the link's downstream: only these show that the downstream lives. */
  onPacket(link: ClientLink, text: string): void;
  /** The answer to an upstream POST (an acknowledgement): read, but it says nothing of the downstream. */
  onAnswer(link: ClientLink, text: string): void;
  /** The link is gone (never after `close()`, never before the link opened). */
  onDown(link: ClientLink, down: LinkDown): void;
  /** Highest server frame received in order: what a long-poll asks to continue from. */
  received(): number;
}

/** An open link of a session. */
export interface ClientLink {
  readonly transport: TransportName;
  /**
   * Whether its downstream delivered something: a WebSocket its welcome, an SSE stream its
   * first event (opening waits for it), a long-poll an answer. A link that goes down before
   * this, or sooner than `reconnect.stableAfter` after it opened, made no progress: the
   * reconnect backoff keeps growing.
   */
  readonly proven: boolean;
  /**
   * Since when (ms since epoch) an upstream request has waited for its answer, or null: an
   * HTTP link's POST in flight. A POST that never ends would hold everything the session has to
   * send while the downstream stays alive, so the heartbeat drops such a link too.
   */
  readonly upstreamWaitingSince: number | null;
  /** Lets downstream packets flow (they wait until then, so the session can set up first). */
  start(): void;
  /** Sends a packet upstream. */
  send(packet: string): void;
  /** When the session may write (Link.defer of src/session/writer.ts); without it, at the end of the tick. */
  defer?(flush: () => void): void;
  /** Stops the link at once: nothing more is sent, read or reported. */
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
  /**
   * Outlive the page: the browser sends the request even if the page is going away (the
   * `bye` of a session closed on `pagehide`). Node's fetch in node-http.ts ignores it.
   */
  keepalive?: boolean;
  /**
   * The server drops a second copy of this request (a `POST send`: its frames carry sequence
   * numbers), so Node's fetch in node-http.ts may make it once more, on a fresh socket, when a
   * reused keep-alive socket failed it before any answer. Other fetches ignore it.
   */
  resend?: boolean;
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
  /** How long a transport may take to open, its downstream's first event included, in ms. */
  connectTimeout: number;
  /** Largest packet accepted before the welcome says the server's, in UTF-8 bytes. */
  maxMessageSize: number;
  /** The WebSocket class; undefined where there is none: the websocket transport fails at once. */
  WebSocket: WebSocketLike | undefined;
  /** Whether SSE may be tried (platform.ts): if not, it fails at once. */
  eventStreams: boolean;
  fetch: HttpFetch;
  /** The session's codec, for the packets a transport sends on its own (the `bye` of a session it gives up). */
  codec: Codec;
}

/** Why a transport could not open: the session tries the next one. `code` `ERR_TRANSPORT`. */
export class TransportError extends WirechanError {
  constructor(
    readonly transport: TransportName,
    message: string,
    /**
     * The server's refusal (a lost session, unauthorized, too many connections): every
     * transport would get it, so the first connect rejects with it, and a reconnect ends the
     * session unless the refusal is one a later try can pass (refusals.ts).
     */
    readonly protocolError?: ProtocolError,
  ) {
    super("ERR_TRANSPORT", `${transport}: ${message}`);
  }
}

/** `error`'s message, for a sentence about it. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The welcome in the server's answer to a hello, for every transport alike. Throws a
 * {@link TransportError}: carrying the server's refusal, or saying why the answer is not one.
 */
export function welcomeIn(transport: TransportName, text: string, maxMessageSize: number): WelcomeBody {
  let answer;
  try {
    answer = readHelloAnswer(text, maxMessageSize);
  } catch (error) {
    throw new TransportError(transport, `the server's answer is not a wirechan welcome (${describe(error)})`);
  }
  if (answer.kind === "refused") throw new TransportError(transport, `refused: ${answer.error.code} ${answer.error.message}`, answer.error);
  return answer.welcome;
}

/** The error of a transport whose handshake took longer than `connectTimeout`. */
export function openTimedOut(transport: TransportName, context: TransportContext): TransportError {
  return new TransportError(transport, `did not open within ${context.connectTimeout} ms`);
}
