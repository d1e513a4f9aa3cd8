import { type Codec, jsonCodec } from "../wire/codec.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import { protocolDefaults } from "../wire/protocol.js";
import type { ServerRequest } from "./request.js";

/** Which origins may talk to the server: see {@link CorsOptions.origin}. */
export type CorsOrigin = true | string | readonly string[] | RegExp | ((origin: string) => boolean);

/** Cross-origin access, answered on preflight `OPTIONS` and on every HTTP transport. */
export interface CorsOptions {
  /**
   * Allowed origins: `true` for any, an exact origin (`"https://app.example"`), a list, a
   * RegExp tested against the whole `Origin` header, or a predicate.
   */
  origin: CorsOrigin;
  /** Send `Access-Control-Allow-Credentials: true` (cookies, auth). Default false. */
  credentials?: boolean;
  /** Seconds a browser may cache a preflight answer. Default 600. */
  maxAge?: number;
  /** Response headers scripts may read. Default none. */
  exposedHeaders?: readonly string[];
  /** Request headers allowed in a preflight. Default: whatever the preflight asks for. */
  allowedHeaders?: readonly string[];
  /** Methods allowed in a preflight. Default GET, HEAD, POST, OPTIONS. */
  methods?: readonly string[];
}

/** Options of `createServer` and `runServer`. Every default is in {@link serverDefaults}. */
export interface ServerOptions {
  /**
   * Cross-origin access for HTTP transports and WebSocket upgrades. Default `false`:
   * same-origin only (a request whose `Origin` differs from its `Host` is refused with 403;
   * requests without `Origin`, such as curl's, are allowed). An origin, list, RegExp or
   * predicate is shorthand for `{ origin }`.
   */
  cors?: false | CorsOrigin | CorsOptions;
  /** Largest WebSocket message or HTTP request body, in bytes (1009 / 413 beyond). Default 1 MiB. */
  maxMessageSize?: number;
  /** Open connections at once; beyond, 503 with `Retry-After`. Default 10,000. */
  maxConnections?: number;
  /** Seconds a client is told to wait in `Retry-After` when `maxConnections` is reached. Default 5. */
  retryAfter?: number;
  /**
   * A connection that shows no sign of life for this long is closed, in ms: WebSocket clients
   * are pinged at half this interval and dropped without a pong; idle HTTP sockets time out.
   * Default 60,000.
   */
  idleTimeout?: number;
  /**
   * Outbound bytes one connection may have queued but not yet flushed. Beyond, the client is
   * too slow: it is closed (WebSocket code 1008, reason "slow reader") rather than buffered
   * without end. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /** Interval of the SSE comment heartbeat, in ms; 0 turns it off. Default 15,000. */
  sseHeartbeat?: number;
  /** How long `close()` waits for connections to finish before destroying them, in ms. Default 5,000. */
  closeTimeout?: number;
  /** Negotiate permessage-deflate on WebSockets. Default false (it costs CPU and memory per socket). */
  perMessageDeflate?: boolean;

  // The wirechan protocol (docs/protocol.md), served under `path`.

  /** Where the protocol's endpoints are: `path` (WebSocket), `path/open`, `/sse`, `/poll`, `/send`. Default `"/wirechan"`. */
  path?: string;
  /**
   * Runs on every WebSocket upgrade and every `path/open` request, before any session exists:
   * return a principal (what `server.channel(name, { envelope: true })` hands over with each
   * value) or throw to refuse (401, `ERR_UNAUTHORIZED`). Default: everyone, principal `null`.
   */
  authenticate?: (req: ServerRequest) => unknown;
  /** How long a session without any link is kept for its client to resume, in ms. Default 120,000. */
  sessionTtl?: number;
  /** Sessions at once; a new one beyond gets `ERR_TOO_MANY_SESSIONS`. Default 10,000. */
  maxSessions?: number;
  /**
   * Sessions at once from one client address (`clientAddress`); a new one beyond gets
   * `ERR_TOO_MANY_SESSIONS` (503), so that one address cannot fill the table. Default 1,000.
   * Behind a reverse proxy every client has the proxy's address: set `clientAddress`.
   */
  maxSessionsPerAddress?: number;
  /**
   * The address a session is counted under for `maxSessionsPerAddress`. Default the socket's
   * remote address. Behind a proxy you trust, read its header instead (for example the first
   * entry of `X-Forwarded-For`). For finer rate limits, `authenticate` runs on every new
   * session and may throw.
   */
  clientAddress?: (req: ServerRequest) => string;
  /**
   * A new session that has not had a link within this time is ended, in ms: `POST path/open`
   * makes a session before its downstream comes, and sessions nobody uses must not hold the
   * table for `sessionTtl`. The same bound closes a WebSocket that does not send its `hello`
   * (`ERR_HANDSHAKE_TIMEOUT`). Default 10,000.
   */
  linkTimeout?: number;
  /**
   * Replay buffers of every session together, in bytes (UTF-8 plus a fixed overhead per kept
   * frame). Past it, the session keeping the most is ended (`ERR_SESSION_LOST`) until the sum
   * is under the budget again: clients that stop acknowledging cannot exhaust the server's
   * memory. Default 256 MiB.
   */
  replayBudget?: number;
  /**
   * Whether the principal `authenticate` returned for a resume is the one the session was made
   * for. A resume by another principal (a client holding someone else's id and secret) is
   * refused with `ERR_UNAUTHORIZED`. Default: equal as JSON (`null` without `authenticate`).
   */
  samePrincipal?: (original: unknown, now: unknown) => boolean;
  /** Unacknowledged frames a session keeps for replay, each way. Default 10,000. */
  replayMessages?: number;
  /** Their total cost, in UTF-8 bytes plus a fixed overhead per frame (`REPLAY_ENTRY_OVERHEAD`, 96). Default 8 MiB. */
  replayBytes?: number;
  /** The server pings each link this often, in ms. Default 25,000. */
  heartbeat?: number;
  /** A link silent this long is closed (the session stays, to be resumed), in ms. Default 60,000; more than `heartbeat`. */
  heartbeatTimeout?: number;
  /** Channels a session may hold at once, exported and imported (`ERR_TOO_MANY_CHANNELS` beyond). Default 256. */
  maxChannelsPerSession?: number;
  /**
   * Puts in flight to one channel per session before further puts wait (flow-control credit).
   * A sender gets at most `window` values per round trip through, so this is what long-polling
   * throughput scales with; and a channel nobody takes from holds at most `window` values per
   * session waiting for it. Default 256 (memory is bounded by bytes too: a sender keeps
   * unacknowledged puts in its replay buffer, at most `replayBytes`).
   */
  window?: number;
  /** How long a long-poll is held before it is answered `[]`, in ms. Default 25,000. */
  pollTimeout?: number;
  /** Turns packets into text and back. Default {@link jsonCodec}. */
  codec?: Codec;
  /** Where the server reports what it cannot hand to anyone (a handler that threw, a failed request). Default {@link consoleLogger}. */
  logger?: Logger;
}

/** The defaults of {@link ServerOptions}. */
export const serverDefaults = {
  cors: false,
  maxMessageSize: protocolDefaults.maxMessageSize,
  maxConnections: 10_000,
  retryAfter: 5,
  idleTimeout: 60_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  sseHeartbeat: 15_000,
  closeTimeout: 5_000,
  perMessageDeflate: false,
  path: protocolDefaults.path,
  sessionTtl: 120_000,
  maxSessions: 10_000,
  maxSessionsPerAddress: 1_000,
  clientAddress: (req: ServerRequest): string => req.remoteAddress,
  linkTimeout: 10_000,
  replayBudget: 256 * 1024 * 1024,
  samePrincipal: (original: unknown, now: unknown): boolean => sameAsJson(original, now),
  replayMessages: protocolDefaults.replayMessages,
  replayBytes: protocolDefaults.replayBytes,
  heartbeat: 25_000,
  heartbeatTimeout: 60_000,
  maxChannelsPerSession: 256,
  window: 256,
  pollTimeout: 25_000,
  codec: jsonCodec,
  logger: consoleLogger,
} as const satisfies Required<Omit<ServerOptions, "authenticate">>;

/** Options with every default filled in. */
export type ResolvedServerOptions = Omit<Required<ServerOptions>, "cors" | "authenticate"> & Pick<ServerOptions, "authenticate">;

/** `samePrincipal`'s default: the two principals written as JSON are the same text (false when either cannot be written). */
function sameAsJson(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}
