// Which failures end a session and which a reconnect can cure (docs/protocol.md section 6).
// Sending the same frames again cannot cure a packet over a limit, a session the server no
// longer has, or credentials it refuses: those end the session as `lost` with their error, so
// a client never reconnects in a loop against a refusal that will never change. Anything
// else (a cut, a timeout, a busy server, a proxy's 502) is worth another try, with backoff.
// Pure and browser-safe.
import type { ProtocolErrorCode } from "../csp/errors.js";
import { jsonCodec } from "../wire/codec.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { decodePacket, peerError } from "../wire/protocol.js";

/** Refusals a later try can pass: the server is busy now, or the network was slow. */
const TRANSIENT_CODES: ReadonlySet<ProtocolErrorCode> = new Set<ProtocolErrorCode>(["ERR_TOO_MANY_CONNECTIONS", "ERR_UNAVAILABLE", "ERR_TOO_MANY_SESSIONS", "ERR_RATE_LIMITED", "ERR_HANDSHAKE_TIMEOUT", "ERR_BODY_TIMEOUT"]);

/** Refusals that say the server no longer has the session: a `bye` would have nothing to end. */
const GONE_CODES: ReadonlySet<ProtocolErrorCode> = new Set<ProtocolErrorCode>(["ERR_SESSION_LOST", "ERR_NO_SESSION", "ERR_SERVER_CLOSED"]);

/** Whether a refusal with `error`'s code ends the session (else: reconnect with backoff). */
export function endsSession(error: ProtocolError): boolean {
  return !TRANSIENT_CODES.has(error.code);
}

/** Whether `error` says the server already ended the session, so there is nobody to tell. */
export function sessionGone(error: ProtocolError): boolean {
  return GONE_CODES.has(error.code);
}

/**
 * What an HTTP status means when the answer carries no error packet (a proxy's refusal, or the
 * server's plain-text ones in front of every route): only statuses that no resend can change.
 */
const STATUS_CODES: Readonly<Partial<Record<number, { code: ProtocolErrorCode; meaning: string }>>> = {
  401: { code: "ERR_UNAUTHORIZED", meaning: "unauthorized" },
  403: { code: "ERR_UNAUTHORIZED", meaning: "forbidden" },
  410: { code: "ERR_SESSION_LOST", meaning: "gone" },
  413: { code: "ERR_MESSAGE_TOO_LARGE", meaning: "payload too large" },
};

/** How much of an answer's body is read for an error packet: a refusal is short, a proxy's HTML page need not be parsed. */
const REFUSAL_BYTES = 64 * 1024;

/**
 * The refusal in a non-2xx HTTP answer: the server's error packet, else the error its status
 * means (401, 403, 410, 413), else null (a later try may pass). A 408 is never a refusal: a
 * request that was too slow was not a wrong one.
 */
export function httpRefusal(status: number, body: string): ProtocolError | null {
  if (status === 408) return null;
  const coded = errorIn(body);
  if (coded !== null) return coded;
  const known = STATUS_CODES[status];
  if (known === undefined) return null;
  const text = body.trim().slice(0, 200);
  return new ProtocolError(known.code, `the server answered HTTP ${status} (${known.meaning})${text === "" ? "" : `: ${text}`}`);
}

/** The error frame of a refusal packet, its code checked; null when `body` is not one. */
function errorIn(body: string): ProtocolError | null {
  try {
    const frame = decodePacket(body, { codec: jsonCodec, maxMessageSize: REFUSAL_BYTES }).find((f) => f.kind === "error");
    return frame?.kind === "error" ? peerError(frame) : null;
  } catch {
    return null;
  }
}

/**
 * What a WebSocket close code means when no resend can change it: 1009, a message over the
 * server's limit; 1002, 1003 and 1007, data the server cannot read. Null for the others (1000,
 * 1001 going away, 1006 a cut, 1008 a policy, 1011 a server error, 4008 a slow consumer
 * (`SLOW_CONSUMER_CLOSE_CODE`: the session resumes, and hears `ERR_SLOW_CONSUMER`), 4xxx):
 * reconnect.
 */
export function closeRefusal(code: number, reason: string): ProtocolError | null {
  const said = reason === "" ? "" : `: ${reason}`;
  switch (code) {
    case 1009:
      return new ProtocolError("ERR_MESSAGE_TOO_LARGE", `the server closed the WebSocket with 1009 (message too big)${said}; a packet was over its maxMessageSize`);
    case 1002:
    case 1003:
    case 1007:
      return new ProtocolError("ERR_BAD_FRAME", `the server closed the WebSocket with ${code} (it cannot read what the client sent)${said}`);
    default:
      return null;
  }
}
