import { MAX_PENDING } from "../csp/channel.js";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { MAX_TIMEOUT_MS } from "../csp/timeout.js";
import type { Backplane } from "../backplane/backplane.js";
import { type Codec, jsonCodec } from "../wire/codec.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import { protocolDefaults } from "../wire/protocol.js";
import { type AllowedHosts, resolveAllowedHosts } from "./hosts.js";
import type { Authorize } from "./protocol/authorization.js";
import { pathOf, type ServerRequest } from "./request.js";

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
   * Outbound bytes one connection may have queued and not yet handed to the kernel, on every
   * transport (a WebSocket's `bufferedAmount`, an SSE or HTTP stream's `writableLength`), in
   * bytes as written (UTF-8 for text). Checked after each send: a connection left with more is
   * a slow consumer and is dropped, only it, rather than buffered for without end: a WebSocket
   * is closed with 4008 "slow consumer" (`SLOW_CONSUMER_CLOSE_CODE`; destroyed if that close
   * frame is not out within a second), an SSE or HTTP stream is cut and reports 4008 to
   * `onClose`. A protocol session outlives it: its client resumes from replay and hears
   * `ERR_SLOW_CONSUMER`. So one connection holds at most this plus one message in user space
   * (the kernel's socket buffers come on top, a few MB on loopback). Default 4 MiB: four
   * packets of the default `maxMessageSize`, so a client on a slow link is not dropped for a
   * burst of large messages, and a worst case of `maxConnections` × 4 MiB that a tight memory
   * ceiling lowers together with `maxConnections`.
   */
  maxBufferedBytes?: number;
  /** Interval of the SSE comment heartbeat, in ms; 0 turns it off. Default 15,000. */
  sseHeartbeat?: number;
  /** How long `close()` waits for connections to finish before destroying them, in ms. Default 5,000. */
  closeTimeout?: number;
  /** Negotiate permessage-deflate on WebSockets. Default false (it costs CPU and memory per socket). */
  perMessageDeflate?: boolean;
  /**
   * `Host` names a request that arrived on a loopback address (127.x, `::1`) may carry besides
   * `localhost`, `*.localhost` and IP literals; any other gets 403 (`ERR_HOST`), with or
   * without `Origin`. This stops DNS rebinding: a page of `evil.example` whose name was
   * switched to 127.0.0.1 is same-origin with itself, but its requests say `Host:
   * evil.example`. An entry is a name without scheme or port (`"app.test"`), or `".example.com"`
   * for it and every subdomain; `true` turns the check off. Requests on other local addresses
   * are not checked (the server is reached by names it cannot know). Behind a reverse proxy on
   * the same machine, list the public names (or pass the proxy's `Host` through unchanged).
   * Default `[]`.
   */
  allowedHosts?: AllowedHosts;
  /**
   * How long a client may take to send a whole request (headers and body), in ms, on a server
   * started by `listen` (node:http's `requestTimeout`; beyond, node answers 408 and closes the
   * socket). 0 turns it off. Default 30,000.
   */
  requestTimeout?: number;
  /**
   * How long a client may take to send a request's headers, in ms, on a server started by
   * `listen` (node:http's `headersTimeout`); at most `requestTimeout`. 0 turns it off.
   * Default 10,000.
   */
  headersTimeout?: number;
  /**
   * How long a handler's `req.body()` / `req.text()` waits for the whole body, in ms; beyond,
   * it rejects with a `BodyTimeoutError` (`ERR_BODY_TIMEOUT`) and the request is answered 408
   * and its connection closed. Holds on servers wirechan does not own too (`handle`). 0 turns
   * it off. Default 30,000.
   */
  bodyTimeout?: number;

  // The wirechan protocol (docs/protocol.md), served under `path`.

  /** Where the protocol's endpoints are: `path` (WebSocket), `path/open`, `/sse`, `/poll`, `/send`. Default `"/wirechan"`. */
  path?: string;
  /**
   * Serves the browser client (the channel library and `connect`, one ES module) at
   * `path/client.js`, so a page with no bundler can import it from the server it talks to.
   * Only from the built package (`npm run build` writes it); from the sources that path is a
   * 404 saying so. Default true.
   */
  serveClient?: boolean;
  /**
   * Runs on every WebSocket upgrade and every `path/open` request, before any session exists:
   * return a principal (what `server.channel(name, { envelope: true })` hands over with each
   * value) or throw to refuse (401, `ERR_UNAUTHORIZED`); throw a `ProtocolError` to refuse with
   * its code instead, such as `ERR_RATE_LIMITED` (429), which a client tries again later: this
   * is the hook to rate-limit new sessions. Default: everyone, principal `null`.
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
  /**
   * `(principal, name, op, session) => boolean`: whether the session's principal (what
   * `authenticate` returned) may `"put"` to the named server channel `name`, or `"subscribe"`
   * to the topic `name`; asked on every put and every subscribe, resumed sessions included. A
   * refused put resolves `false` on the client, which hears `ERR_FORBIDDEN` (not fatal), and its
   * value never reaches the channel; a refused subscribe gets the topic's `{ dropped }` with
   * `ERR_FORBIDDEN`. Synchronous: anything but `true` refuses, and a throw is logged and
   * refuses. Default: everything is allowed.
   */
  authorize?: Authorize;
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
  /**
   * Servers sharing topics (docs/api.md "More than one server"): this node's backplane, such as
   * `memoryBackplane(bus)` from `wirechan/backplane`. With one, a topic's put is published once
   * and every node delivers it to its own subscribers; a topic may not use `whenFull:
   * "backpressure"`. The server uses it and does not close it. Default `null`: this server alone.
   */
  backplane?: Backplane | null;
  /**
   * With a backplane (docs/api.md "No sticky sessions"): how long the node holding a session has
   * to answer a request for it forwarded from this node, in ms. Past it the client is refused
   * `ERR_UNAVAILABLE` (it tries again), or `ERR_SESSION_LOST` when that node is gone. Default 5,000.
   */
  forwardTimeout?: number;
  /** With a backplane: how often this node tells the others it is alive, in ms. Default 2,000. */
  clusterHeartbeat?: number;
  /**
   * With a backplane: a node not heard from for this long is gone, in ms, and its sessions with
   * it (a request for one is refused `ERR_SESSION_LOST` at once). More than `clusterHeartbeat`.
   * Default 10,000.
   */
  clusterTimeout?: number;
  /**
   * With a backplane: requests and connections forwarded at once, both ways (to the nodes
   * holding their sessions, and from the nodes they reached). Past it a forwarded request is
   * refused `ERR_TOO_MANY_CONNECTIONS` (the client tries again). Default 10,000.
   */
  maxForwarded?: number;
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
  allowedHosts: [],
  requestTimeout: 30_000,
  headersTimeout: 10_000,
  bodyTimeout: 30_000,
  path: protocolDefaults.path,
  serveClient: true,
  sessionTtl: 120_000,
  maxSessions: 10_000,
  maxSessionsPerAddress: 1_000,
  clientAddress: (req: ServerRequest): string => req.remoteAddress,
  linkTimeout: 10_000,
  replayBudget: 256 * 1024 * 1024,
  samePrincipal: (original: unknown, now: unknown): boolean => sameAsJson(original, now),
  authorize: allowEverything,
  replayMessages: protocolDefaults.replayMessages,
  replayBytes: protocolDefaults.replayBytes,
  heartbeat: 25_000,
  heartbeatTimeout: 60_000,
  maxChannelsPerSession: 256,
  window: 256,
  pollTimeout: 25_000,
  codec: jsonCodec,
  logger: consoleLogger,
  backplane: null,
  forwardTimeout: 5_000,
  clusterHeartbeat: 2_000,
  clusterTimeout: 10_000,
  maxForwarded: 10_000,
} as const satisfies Required<Omit<ServerOptions, "authenticate">>;

/** Options with every default filled in. */
export type ResolvedServerOptions = Omit<Required<ServerOptions>, "cors" | "authenticate"> & Pick<ServerOptions, "authenticate">;

type NumericOption = {
  [K in keyof ResolvedServerOptions]-?: ResolvedServerOptions[K] extends number ? K : never;
}[keyof ResolvedServerOptions];

/** Every numeric option, with the smallest and largest value a server can honour. */
const NUMERIC_OPTIONS: Readonly<Record<NumericOption, readonly [min: number, max: number]>> = {
  maxMessageSize: [0, Number.MAX_SAFE_INTEGER],
  maxConnections: [0, Number.MAX_SAFE_INTEGER],
  retryAfter: [0, Number.MAX_SAFE_INTEGER],
  idleTimeout: [0, MAX_TIMEOUT_MS],
  maxBufferedBytes: [0, Number.MAX_SAFE_INTEGER],
  sseHeartbeat: [0, MAX_TIMEOUT_MS],
  closeTimeout: [0, MAX_TIMEOUT_MS],
  requestTimeout: [0, MAX_TIMEOUT_MS],
  headersTimeout: [0, MAX_TIMEOUT_MS],
  bodyTimeout: [0, MAX_TIMEOUT_MS],
  // 0 would make the protocol unusable for these.
  sessionTtl: [1, MAX_TIMEOUT_MS],
  maxSessions: [1, Number.MAX_SAFE_INTEGER],
  maxSessionsPerAddress: [1, Number.MAX_SAFE_INTEGER],
  linkTimeout: [1, MAX_TIMEOUT_MS],
  replayBudget: [1, Number.MAX_SAFE_INTEGER],
  replayMessages: [1, Number.MAX_SAFE_INTEGER],
  replayBytes: [1, Number.MAX_SAFE_INTEGER],
  heartbeat: [1, MAX_TIMEOUT_MS],
  heartbeatTimeout: [1, MAX_TIMEOUT_MS],
  maxChannelsPerSession: [1, Number.MAX_SAFE_INTEGER],
  window: [1, MAX_PENDING],
  pollTimeout: [1, MAX_TIMEOUT_MS],
  forwardTimeout: [1, MAX_TIMEOUT_MS],
  clusterHeartbeat: [1, MAX_TIMEOUT_MS],
  clusterTimeout: [2, MAX_TIMEOUT_MS],
  maxForwarded: [1, Number.MAX_SAFE_INTEGER],
};

/** node's own default `backlog` for `server.listen` (its docs and net.js). */
export const defaultBacklog = 511;

/**
 * The `backlog` of `listen` (see `ListenOptions`), its default filled in. A listen option, not a
 * server option, but refused as the numeric server options are: a `RangeError`
 * (`ERR_SERVER_OPTION`) for anything but an integer from 1 to 2^31 - 1 (libuv takes an int).
 */
export function resolveBacklog(backlog: number | undefined): number {
  const value: unknown = backlog ?? defaultBacklog;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_BACKLOG) {
    throw rangeError(`backlog must be an integer from 1 to ${MAX_BACKLOG}, got ${String(value)}`);
  }
  return value;
}

const MAX_BACKLOG = 2 ** 31 - 1;

/** Options that are functions (a value of another type would only fail at the first request). */
const FUNCTION_OPTIONS = ["clientAddress", "samePrincipal", "authorize"] as const;

function rangeError(message: string): WirechanRangeError {
  return new WirechanRangeError("ERR_SERVER_OPTION", `server option ${message}`);
}

function typeError(message: string): WirechanTypeError {
  return new WirechanTypeError("ERR_SERVER_OPTION", `server option ${message}`);
}

/**
 * Fills in the defaults of {@link ServerOptions} (`cors` is resolved apart, by `resolveCors`)
 * and rejects options no server could honour, naming the option: a `RangeError`
 * (`ERR_SERVER_OPTION`) for a number that is not an integer in its range, `heartbeatTimeout`
 * not above `heartbeat`, `headersTimeout` above `requestTimeout` (both on), or a `path` that
 * is not a plain absolute path without a trailing slash; a `TypeError` (`ERR_SERVER_OPTION`)
 * for `allowedHosts` that is not `true` or a list of host names (see `resolveAllowedHosts`),
 * `authenticate`, `clientAddress`, `samePrincipal` or `authorize` that is not a function, `perMessageDeflate`
 * or `serveClient` that is not a boolean, or a `logger`
 * without `error` and `warn` methods. An option given as `undefined` gets its default.
 */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const { cors: _cors, ...rest } = options;
  // An option given as undefined means its default, as when it is left out.
  const given = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Omit<ServerOptions, "cors">;
  const merged: ResolvedServerOptions = { ...serverDefaults, ...given };
  for (const [key, [min, max]] of Object.entries(NUMERIC_OPTIONS) as Array<[NumericOption, readonly [number, number]]>) {
    const value: unknown = merged[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw rangeError(`${key} must be an integer from ${min} to ${max}, got ${String(value)}`);
    }
  }
  if (merged.heartbeatTimeout <= merged.heartbeat) {
    throw rangeError(`heartbeatTimeout (${merged.heartbeatTimeout}) must be more than heartbeat (${merged.heartbeat})`);
  }
  if (merged.requestTimeout > 0 && merged.headersTimeout > merged.requestTimeout) {
    // node:http refuses the pair too; said here, at construction, with the option's name.
    throw rangeError(`headersTimeout (${merged.headersTimeout}) must be at most requestTimeout (${merged.requestTimeout})`);
  }
  if (typeof merged.path !== "string" || !merged.path.startsWith("/") || merged.path.endsWith("/") || pathOf(merged.path) !== merged.path) {
    throw rangeError(`path must be a plain absolute path without a trailing slash, such as "/wirechan"; got ${JSON.stringify(merged.path)}`);
  }
  for (const key of FUNCTION_OPTIONS) {
    if (typeof merged[key] !== "function") throw typeError(`${key} must be a function, got ${typeof merged[key]}`);
  }
  for (const key of BOOLEAN_OPTIONS) {
    if (typeof merged[key] !== "boolean") throw typeError(`${key} must be true or false, got ${typeof merged[key]}`);
  }
  if (merged.authenticate !== undefined && typeof merged.authenticate !== "function") {
    throw typeError(`authenticate must be a function, got ${typeof merged.authenticate}`);
  }
  if (!isLogger(merged.logger)) throw typeError("logger must have error(message, error?) and warn(message, detail?) methods");
  if (merged.clusterTimeout <= merged.clusterHeartbeat) {
    throw rangeError(`clusterTimeout (${merged.clusterTimeout}) must be more than clusterHeartbeat (${merged.clusterHeartbeat}): a live node would be counted gone between two heartbeats`);
  }
  if (merged.backplane !== null && !isBackplane(merged.backplane)) throw typeError("backplane must be a Backplane (nodeId, publish, subscribe, close), such as memoryBackplane(bus), or null");
  resolveAllowedHosts(merged.allowedHosts);
  // A copy: the list the server checks against cannot be changed behind its back.
  return { ...merged, allowedHosts: merged.allowedHosts === true ? true : Object.freeze([...merged.allowedHosts]) };
}

const BOOLEAN_OPTIONS = ["perMessageDeflate", "serveClient"] as const;

function isBackplane(value: unknown): value is Backplane {
  const candidate = value as Partial<Record<keyof Backplane, unknown>> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.nodeId === "string" &&
    typeof candidate.publish === "function" &&
    typeof candidate.subscribe === "function" &&
    typeof candidate.close === "function"
  );
}

function isLogger(value: unknown): value is Logger {
  const candidate = value as Partial<Record<keyof Logger, unknown>> | null;
  return typeof candidate === "object" && candidate !== null && typeof candidate.error === "function" && typeof candidate.warn === "function";
}

/** `authorize`'s default: a server without the option is as open as before it existed. */
function allowEverything(): boolean {
  return true;
}

/** `samePrincipal`'s default: the two principals written as JSON are the same text (false when either cannot be written). */
function sameAsJson(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}
