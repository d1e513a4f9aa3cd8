import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { ResponseParts } from "./connection.js";

/** The body as bytes and the content type it implies when the handler set none. */
function bodyOf(parts: ResponseParts): { bytes: Buffer; type: string } {
  const body = parts.body ?? "";
  if (typeof body === "string") return { bytes: Buffer.from(body, "utf8"), type: "text/plain; charset=utf-8" };
  return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength), type: "application/octet-stream" };
}

function hasHeader(headers: ResponseParts["headers"], name: string): boolean {
  return headers !== undefined && Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** Writes a whole plain response (a handler's answer, a refusal, an error). */
export function writeResponse(res: ServerResponse, parts: ResponseParts, extraHeaders: Readonly<Record<string, string>>): void {
  if (res.headersSent || res.destroyed) return;
  const { bytes, type } = bodyOf(parts);
  res.statusCode = parts.status ?? 200;
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(parts.headers ?? {})) res.setHeader(name, value as string | number | string[]);
  if (bytes.length > 0 && !hasHeader(parts.headers, "content-type")) res.setHeader("content-type", type);
  res.setHeader("content-length", bytes.length);
  res.end(bytes);
}

/** Answers an upgrade request with a plain HTTP response on the raw socket, then closes it. */
export function rejectUpgrade(socket: Duplex, parts: ResponseParts): void {
  if (socket.destroyed) return;
  const status = parts.status ?? 400;
  const { bytes, type } = bodyOf(parts);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`, "connection: close", `content-length: ${bytes.length}`];
  if (bytes.length > 0 && !hasHeader(parts.headers, "content-type")) lines.push(`content-type: ${type}`);
  for (const [name, value] of Object.entries(parts.headers ?? {})) {
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
