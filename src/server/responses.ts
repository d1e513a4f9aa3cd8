import { STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WirechanTypeError } from "../csp/errors.js";
import type { ResponseParts, SendData } from "./connection.js";

/**
 * Plain HTTP answers, built one way for every path that writes one: a handler's answer, a
 * refusal, a long-poll answer or stream head (http-connection.ts), and an upgrade refused on
 * the raw socket.
 */

/**
 * Checks what may become a plain HTTP response: a string, bytes or `{ status?, headers?,
 * body? }`. Throws a `TypeError` (`ERR_SEND_DATA`) for an SSE event or anything else.
 */
export function toResponseParts(data: SendData): ResponseParts {
  if (typeof data === "string" || data instanceof Uint8Array) return { body: data };
  if (typeof data !== "object" || data === null) {
    throw new WirechanTypeError("ERR_SEND_DATA", `send needs a string, bytes or { status, headers, body }, got ${typeof data}`);
  }
  if ("data" in data) {
    throw new WirechanTypeError(
      "ERR_SEND_DATA",
      "an SSE event ({ data, id, event, retry }) can only be sent on an SSE connection; on plain HTTP send a string, bytes or { status, headers, body }",
    );
  }
  const body: unknown = data.body;
  if (body !== undefined && typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw new WirechanTypeError("ERR_SEND_DATA", `a response body must be a string or bytes, got ${typeof body}`);
  }
  return data;
}

/** The body's bytes (empty when there is none). */
export function bodyBytes(body: string | Uint8Array | undefined): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  if (typeof body === "string") return Buffer.from(body, "utf8");
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * Status and headers of a response: `extraHeaders` (CORS), then the caller's, which win
 * (names lowercased so neither is sent twice). A string body without a content type is
 * `text/plain; charset=utf-8`, bytes `application/octet-stream`. `contentLength` is left out
 * for a chunked stream, and on 1xx, 204 and 304, where RFC 9110 forbids or redefines it.
 */
export function responseHead(
  parts: ResponseParts,
  extraHeaders: Readonly<Record<string, string>>,
  contentLength: number | undefined,
): { status: number; headers: OutgoingHttpHeaders } {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(extraHeaders)) headers[name.toLowerCase()] = value;
  for (const [name, value] of Object.entries(parts.headers ?? {})) {
    headers[name.toLowerCase()] = typeof value === "object" ? [...value] : value;
  }
  if (parts.body !== undefined && headers["content-type"] === undefined) {
    headers["content-type"] = typeof parts.body === "string" ? "text/plain; charset=utf-8" : "application/octet-stream";
  }
  const status = parts.status ?? 200;
  if (contentLength !== undefined && status >= 200 && status !== 204 && status !== 304) {
    headers["content-length"] = contentLength;
  }
  return { status, headers };
}

/**
 * Writes a whole plain response (a handler's answer, a refusal, an error). Throws what
 * {@link toResponseParts} throws, or node's error for a bad status or header, before anything
 * is written.
 */
export function writeResponse(res: ServerResponse, parts: ResponseParts, extraHeaders: Readonly<Record<string, string>>): void {
  if (res.headersSent || res.destroyed) return;
  const checked = toResponseParts(parts);
  const bytes = bodyBytes(checked.body);
  const { status, headers } = responseHead(checked, extraHeaders, bytes.length);
  res.writeHead(status, headers);
  res.end(bytes);
}

/** Answers an upgrade request with a plain HTTP response on the raw socket, then closes it. */
export function rejectUpgrade(socket: Duplex, parts: ResponseParts): void {
  if (socket.destroyed) return;
  const bytes = bodyBytes(parts.body);
  const { status, headers } = responseHead(parts, { connection: "close" }, bytes.length);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(one)}`);
  }
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), bytes]));
}

const WS_KEY = /^[+/0-9A-Za-z]{22}==$/;

/**
 * What is wrong with a WebSocket upgrade request (RFC 6455 §4.2.1), or null. Checked before
 * the handler runs, so a malformed upgrade gets a 400 and never reaches application code.
 */
export function upgradeProblem(raw: IncomingMessage): string | null {
  if (raw.method !== "GET") return "a WebSocket upgrade must be a GET";
  const key = raw.headers["sec-websocket-key"];
  if (typeof key !== "string" || !WS_KEY.test(key.trim())) return "missing or invalid Sec-WebSocket-Key";
  if (raw.headers["sec-websocket-version"] !== "13") return "unsupported Sec-WebSocket-Version (13 is required)";
  return null;
}
