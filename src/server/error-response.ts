// What the server answers when serving a request failed: one mapping from an error to a
// response, for plain handlers (text) and for the protocol's requests under `path` (an error
// packet, docs/protocol.md sections 3 and 8, which a client reads instead of "not a packet").
import type { ProtocolErrorCode } from "../csp/errors.js";
import type { Logger } from "../session/logger.js";
import { refusalPacket } from "../wire/handshake.js";
import { ProtocolError } from "../wire/protocol-error.js";
import type { ResponseParts } from "./connection.js";
import { jsonHeaders } from "./protocol/links.js";
import { BodyAbortedError, BodyTimeoutError, PayloadTooLargeError } from "./request.js";

/** The HTTP status a refusal with each protocol code is sent with; a code not listed is 400. */
export const protocolStatusOf: Readonly<Partial<Record<ProtocolErrorCode, number>>> = Object.freeze({
  ERR_UNAUTHORIZED: 401,
  ERR_ORIGIN: 403,
  ERR_HOST: 403,
  ERR_HANDSHAKE_TIMEOUT: 408,
  ERR_SESSION_LOST: 410,
  ERR_NO_SESSION: 410,
  ERR_MESSAGE_TOO_LARGE: 413,
  ERR_VALUE_TOO_COMPLEX: 413,
  ERR_RATE_LIMITED: 429,
  ERR_TOO_MANY_SESSIONS: 503,
  ERR_TOO_MANY_CONNECTIONS: 503,
  ERR_UNAVAILABLE: 503,
  ERR_SERVER_CLOSED: 503,
});

/** The status of a refusal with `error`'s code: {@link protocolStatusOf}, else 400. */
export function statusOfProtocolError(error: ProtocolError): number {
  return protocolStatusOf[error.code] ?? 400;
}

/**
 * A refusal as the protocol's clients read it: `status` (default {@link statusOfProtocolError}),
 * JSON headers plus `headers`, and the packet `[["error", code, message, 1]]`. Always JSON: a
 * client refused before its handshake does not know the codec yet.
 */
export function protocolRefusal(
  error: ProtocolError,
  status = statusOfProtocolError(error),
  headers: Readonly<Record<string, string>> = {},
): ResponseParts {
  return { status, headers: { ...jsonHeaders, ...headers }, body: refusalPacket(error) };
}

/** Which kind of answer {@link errorResponse} makes. */
export interface ErrorResponseOptions {
  /** A request of the protocol (under `path`): the body is an error packet. Otherwise plain text. */
  readonly protocol: boolean;
  /** Where an unexpected error is reported. */
  readonly logger: Logger;
}

/** The failures a client caused, which are answered without a log line. */
type ClientFault = { status: number; code: ProtocolErrorCode; message: string; close: boolean };

function clientFault(error: unknown): ClientFault | null {
  // Past a limit the rest of the body is discarded as it comes: closing the connection after
  // the answer stops a client that keeps sending from holding it.
  if (error instanceof PayloadTooLargeError) return { status: 413, code: "ERR_MESSAGE_TOO_LARGE", message: error.message, close: true };
  if (error instanceof BodyTimeoutError) return { status: 408, code: "ERR_BODY_TIMEOUT", message: error.message, close: true };
  // The client went away mid-body: nobody reads the answer, and it is no failure of ours.
  if (error instanceof BodyAbortedError) return { status: 400, code: "ERR_BAD_FRAME", message: error.message, close: false };
  return null;
}

/**
 * The answer to a request whose serving threw `error`:
 *
 * - `PayloadTooLargeError`: 413 with `Connection: close` (protocol: `ERR_MESSAGE_TOO_LARGE`);
 * - `BodyTimeoutError`: 408 with `Connection: close` (protocol: `ERR_BODY_TIMEOUT`, which a client tries again);
 * - `BodyAbortedError`: 400, not logged (protocol: `ERR_BAD_FRAME`);
 * - `ProtocolError`: its status ({@link protocolStatusOf}) and its error packet, either way;
 * - anything else: 500, reported to `options.logger` (protocol: `ERR_BAD_FRAME`, "the server
 *   could not handle the request", never the error's own message).
 *
 * Plain bodies are the error's message as text (`"internal server error"` for a 500); protocol
 * bodies are an error packet (see {@link protocolRefusal}). Never throws.
 */
export function errorResponse(error: unknown, options: ErrorResponseOptions): ResponseParts {
  if (error instanceof ProtocolError) return protocolRefusal(error);
  const fault = clientFault(error);
  if (fault !== null) {
    const headers: Record<string, string> = fault.close ? { connection: "close" } : {};
    if (options.protocol) return protocolRefusal(new ProtocolError(fault.code, fault.message), fault.status, headers);
    return { status: fault.status, headers, body: fault.message };
  }
  options.logger.error(options.protocol ? "a protocol request failed:" : "a handler threw:", error);
  if (options.protocol) return protocolRefusal(new ProtocolError("ERR_BAD_FRAME", "the server could not handle the request"), 500);
  return { status: 500, body: "internal server error" };
}
