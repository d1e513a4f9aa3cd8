import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import { MAX_TIMEOUT_MS } from "../csp/timeout.js";
import { consoleLogger, type Logger } from "../session/logger.js";
import { type Codec, jsonCodec } from "../wire/codec.js";
import { isTransportName, protocolDefaults, TRANSPORT_NAMES, type TransportName } from "../wire/protocol.js";
import type { WebSocketLike } from "./link.js";
import type { ReconnectCause } from "./session.js";

/** Options of `connect`. Every default is in {@link connectDefaults}. */
export interface ConnectOptions {
  /** Where the server mounted the protocol (its `path` option). Default `"/wirechan"`. */
  path?: string;
  /** Transports to try, in order. Default `["websocket", "sse", "longpoll"]`. */
  transports?: readonly TransportName[];
  /**
   * How long one transport may take to open before the next is tried, in ms: the handshake,
   * and for SSE the stream's first event too. Default 10,000.
   */
  connectTimeout?: number;
  /**
   * Reconnect delays: `initial · 2^(attempt - 1)` ms, at most `max`, spread by ± `jitter` (0 to
   * 1). `attempt` counts the tries since a link last made progress: stayed up `stableAfter` ms
   * with something arrived on its downstream. Default 500, 10,000, 0.5, 5,000.
   */
  reconnect?: { initial?: number; max?: number; jitter?: number; stableAfter?: number };
  /**
   * Asked before each reconnect with why the link went down (or why the last try failed) and
   * which try this is; `false` ends the session as `close()` would (state `closed`, the
   * server told `bye`, the cause in the state change). Never asked about a refusal that ends
   * the session anyway. A function that throws is reported to `logger` and counts as `true`.
   * Default: always `true`.
   */
  shouldReconnect?: (cause: ReconnectCause) => boolean;
  /** Where the session reports what it cannot hand to anyone (an `onState` listener that threw, a packet it could not handle). Default: the console. */
  logger?: Logger;
  /** While on SSE or long-polling, how often to try WebSocket again, in ms; 0 never. Default 30,000. */
  upgradeProbeInterval?: number;
  /**
   * A link the server has been silent on this long is dropped and the session reconnects, in
   * ms. Default: 2.5 times the server's heartbeat interval plus 5 s.
   */
  heartbeatTimeout?: number;
  /** Largest packet, in UTF-8 bytes, sent or accepted (the server's own limit also applies). Default 1 MiB. */
  maxMessageSize?: number;
  /** Unacknowledged frames kept for replay. Default 10,000. */
  replayMessages?: number;
  /** Their total size, in UTF-8 bytes. Default 8 MiB. */
  replayBytes?: number;
  /** Default {@link jsonCodec}. */
  codec?: Codec;
  /** The WebSocket class. Default the global one, or the `ws` package in Node without one; in a browser the global one only. */
  WebSocket?: WebSocketLike;
  /**
   * How the SSE and long-polling transports make HTTP requests. Default: the global `fetch` in
   * browsers; in Node, node:http with a keep-alive agent (Node's fetch costs several times the
   * CPU per request). Pass `fetch` to use it in Node too.
   */
  fetch?: typeof fetch;
  /**
   * In a browser, close the session (telling the server `bye`) when the page is hidden for
   * good or for the back/forward cache (`pagehide`), so a closed tab ends its server session at
   * once instead of leaving it waiting to be resumed. A page restored from that cache
   * (`pageshow` with `persisted`) connects again. No effect outside a page. Default `true`.
   */
  closeOnPageHide?: boolean;
}

/** The defaults of {@link ConnectOptions}. */
export const connectDefaults = {
  path: protocolDefaults.path,
  transports: TRANSPORT_NAMES,
  connectTimeout: 10_000,
  reconnect: { initial: 500, max: 10_000, jitter: 0.5, stableAfter: 5_000 },
  upgradeProbeInterval: 30_000,
  maxMessageSize: protocolDefaults.maxMessageSize,
  replayMessages: protocolDefaults.replayMessages,
  replayBytes: protocolDefaults.replayBytes,
  codec: jsonCodec,
  logger: consoleLogger,
  closeOnPageHide: true,
} as const;

export interface ResolvedConnectOptions {
  path: string;
  transports: readonly TransportName[];
  connectTimeout: number;
  reconnect: { initial: number; max: number; jitter: number; stableAfter: number };
  shouldReconnect: (cause: ReconnectCause) => boolean;
  logger: Logger;
  upgradeProbeInterval: number;
  /** The timeout for a server heartbeat interval. */
  heartbeatTimeout: (heartbeat: number) => number;
  maxMessageSize: number;
  replayMessages: number;
  replayBytes: number;
  codec: Codec;
  closeOnPageHide: boolean;
}

/** Fills in defaults; throws a `RangeError` or `TypeError` (`ERR_CONNECT_OPTION`) naming a bad option. */
export function resolveConnectOptions(options: ConnectOptions): ResolvedConnectOptions {
  const transports = options.transports ?? connectDefaults.transports;
  if (transports.length === 0 || transports.some((t) => !isTransportName(t))) {
    throw new WirechanTypeError("ERR_CONNECT_OPTION", `connect option transports must list some of "websocket", "sse", "longpoll"; got ${JSON.stringify(transports)}`);
  }
  const reconnect = { ...connectDefaults.reconnect, ...options.reconnect };
  const heartbeatTimeout = options.heartbeatTimeout;
  const resolved: ResolvedConnectOptions = {
    path: options.path ?? connectDefaults.path,
    transports,
    connectTimeout: integer("connectTimeout", options.connectTimeout ?? connectDefaults.connectTimeout, 1, MAX_TIMEOUT_MS),
    reconnect: {
      initial: integer("reconnect.initial", reconnect.initial, 0, MAX_TIMEOUT_MS),
      max: integer("reconnect.max", reconnect.max, 0, MAX_TIMEOUT_MS),
      jitter: fraction("reconnect.jitter", reconnect.jitter),
      stableAfter: integer("reconnect.stableAfter", reconnect.stableAfter, 0, MAX_TIMEOUT_MS),
    },
    shouldReconnect: callable("shouldReconnect", options.shouldReconnect) ?? alwaysReconnect,
    logger: loggerOf(options.logger),
    upgradeProbeInterval: integer("upgradeProbeInterval", options.upgradeProbeInterval ?? connectDefaults.upgradeProbeInterval, 0, MAX_TIMEOUT_MS),
    heartbeatTimeout:
      heartbeatTimeout === undefined
        ? (heartbeat) => Math.round(heartbeat * 2.5) + 5_000
        : ((value) => () => value)(integer("heartbeatTimeout", heartbeatTimeout, 1, MAX_TIMEOUT_MS)),
    maxMessageSize: integer("maxMessageSize", options.maxMessageSize ?? connectDefaults.maxMessageSize, 64, Number.MAX_SAFE_INTEGER),
    replayMessages: integer("replayMessages", options.replayMessages ?? connectDefaults.replayMessages, 1, Number.MAX_SAFE_INTEGER),
    replayBytes: integer("replayBytes", options.replayBytes ?? connectDefaults.replayBytes, 1, Number.MAX_SAFE_INTEGER),
    codec: options.codec ?? connectDefaults.codec,
    closeOnPageHide: boolean("closeOnPageHide", options.closeOnPageHide ?? connectDefaults.closeOnPageHide),
  };
  if (!resolved.path.startsWith("/") || resolved.path.endsWith("/")) {
    throw new WirechanTypeError("ERR_CONNECT_OPTION", `connect option path must start with / and not end with one, such as "/wirechan"; got ${JSON.stringify(resolved.path)}`);
  }
  return resolved;
}

const HTTP_SCHEMES: Readonly<Record<string, string>> = { "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" };

/**
 * The protocol's URL on the server at `url`: its `path` resolved against it, with a `ws:` or
 * `wss:` URL taken as the `http:` or `https:` one of the same server (every transport but
 * WebSocket speaks HTTP, and the WebSocket transport maps it back). Throws a `TypeError`
 * (`ERR_CONNECT_URL`) for a URL that does not parse or has another scheme.
 */
export function serverEndpoint(url: string | URL, path: string): URL {
  let endpoint: URL;
  try {
    endpoint = new URL(path, url);
  } catch {
    throw new WirechanTypeError("ERR_CONNECT_URL", `connect needs an absolute http:, https:, ws: or wss: URL of the server, such as "http://127.0.0.1:3000"; got ${JSON.stringify(String(url))}`);
  }
  const scheme = HTTP_SCHEMES[endpoint.protocol];
  if (scheme === undefined) {
    throw new WirechanTypeError("ERR_CONNECT_URL", `connect needs an http:, https:, ws: or wss: URL of the server; got ${JSON.stringify(String(url))}`);
  }
  endpoint.protocol = scheme;
  return endpoint;
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new WirechanRangeError("ERR_CONNECT_OPTION", `connect option ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function fraction(name: string, value: number): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new WirechanRangeError("ERR_CONNECT_OPTION", `connect option ${name} must be a number from 0 to 1, got ${String(value)}`);
  }
  return value;
}

function boolean(name: string, value: boolean): boolean {
  if (typeof value !== "boolean") {
    throw new WirechanTypeError("ERR_CONNECT_OPTION", `connect option ${name} must be true or false, got ${typeof value}`);
  }
  return value;
}

function alwaysReconnect(): boolean {
  return true;
}

function callable<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new WirechanTypeError("ERR_CONNECT_OPTION", `connect option ${name} must be a function, got ${typeof value}`);
  }
  return value;
}

function loggerOf(logger: Logger | undefined): Logger {
  if (logger === undefined) return connectDefaults.logger;
  if (typeof logger?.error !== "function" || typeof logger.warn !== "function") {
    throw new WirechanTypeError("ERR_CONNECT_OPTION", "connect option logger must have error(message, error?) and warn(message, detail?) methods");
  }
  return logger;
}
