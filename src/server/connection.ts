import type { IncomingHttpHeaders } from "node:http";

/** How a connection reaches its client. */
export type ConnectionTransport = "websocket" | "sse" | "http";

/**
 * The request a connection came from. A connection keeps only this summary, not node's
 * request object (a handler has that as `req.raw`), so an idle WebSocket does not hold the
 * memory of its upgrade request.
 */
export interface RequestInfo {
  readonly method: string;
  /** Path and query, as sent (`/feed?since=3`). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The peer's address (`::1`, `127.0.0.1` …); empty if the socket is already gone. */
  readonly remoteAddress: string;
}

/** A plain HTTP answer: status and headers apply to the first send of a response. */
export interface ResponseParts {
  status?: number;
  headers?: Record<string, string | number | readonly string[]>;
  body?: string | Uint8Array;
}

/** One server-sent event. `id` and `event` must not contain CR or LF (`TypeError`). */
export interface SseEvent {
  data: string | Uint8Array;
  id?: string;
  event?: string;
  /** Reconnection delay the browser should use, in ms. */
  retry?: number;
}

/**
 * What `send` accepts: a string or bytes on every transport; `{ status, headers, body }`
 * (status and headers apply to the first send of an HTTP response, ignored on a WebSocket);
 * on SSE also `{ data, id?, event?, retry? }`.
 */
export type SendData = string | Uint8Array | ResponseParts | SseEvent;

/** Why a connection closed; passed to `onClose` exactly once. */
export interface CloseStatus {
  /**
   * `"server"`: this side closed it (`close()`, a limit, server shutdown). `"client"`: the
   * client closed it or went away.
   */
  by: "server" | "client";
  /**
   * The WebSocket close code (1000 normal, 1001 going away, 1006 gone without a close frame,
   * 1007 bad UTF-8, 1008 too many unread messages, 1009 too big, 4008 a slow consumer: more than
   * `maxBufferedBytes` unsent …). HTTP and SSE connections use the same codes: 1000 when ended
   * normally, 1001 on server shutdown, 1006 when the client vanished, 4008 a slow consumer.
   */
  code: number;
  /** The close reason text, if any. */
  reason: string;
}

/**
 * One client connection, whatever the transport: http-kit's channel contract. Handlers get
 * one from `withChannel(req, fn)` and use the same few calls on WebSocket, SSE, HTTP
 * streaming and long-polling.
 */
export interface Connection {
  readonly transport: ConnectionTransport;
  readonly isWebSocket: boolean;
  readonly isOpen: boolean;
  readonly request: RequestInfo;
  /** Bytes written but not yet flushed to the socket. */
  readonly bufferedAmount: number;
  /**
   * Sends `data`. `close` defaults to false on WebSocket and SSE and to true on plain HTTP:
   * on HTTP a first `send(x, false)` starts a chunked stream, and `send(x)` answers (a
   * long-poll) and closes. Returns false if the connection is closed.
   */
  send(data: SendData, close?: boolean): boolean;
  /** Closes the connection; true only the first time. */
  close(): boolean;
  /** WebSocket messages, in order (text as string, binary as Uint8Array). */
  onReceive(fn: (message: string | Uint8Array) => void): void;
  /** Called at most once, when the connection closes for any reason. */
  onClose(fn: (status: CloseStatus) => void): void;
}
