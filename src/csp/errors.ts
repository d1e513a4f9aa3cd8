/**
 * Every code a wirechan error carries, in one registry for every layer (it lives in the lowest
 * layer so that each layer can name its own). `code` is typed with it, so a code that is not
 * listed here does not compile. docs/protocol.md section 8 says when each protocol code is sent.
 */
export type ErrorCode =
  // Channels (csp/).
  | "ERR_TOO_MANY_PENDING_PUTS"
  | "ERR_TOO_MANY_PENDING_TAKES"
  | "ERR_UNDEFINED_PUT"
  | "ERR_XFORM_NEEDS_BUFFER"
  | "ERR_BUFFER_SIZE"
  | "ERR_TIMEOUT_DELAY"
  | "ERR_SOLO_MODE"
  | "ERR_PIPELINE_PARALLELISM"
  | "ERR_NOT_ITERABLE"
  | "ERR_INVALID_COUNT"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_ALTS_SAME_CHANNEL"
  | "ERR_ALTS_NO_OPERATIONS"
  | "ERR_NO_INIT"
  // Values and packets on the wire (wire/, session/): sent as protocol errors too.
  | ProtocolErrorCode
  | "ERR_WIRE_VALUE"
  // The client (client/).
  | "ERR_CONNECT_OPTION"
  | "ERR_CONNECT_URL"
  | "ERR_TRANSPORT"
  // The server (server/).
  | "ERR_SERVER_OPTION"
  | "ERR_CORS_OPTION"
  | "ERR_CHANNEL_NAME"
  | "ERR_CHANNEL_STORE_OPTION"
  | "ERR_GROUP_LIMIT"
  | "ERR_SEND_DATA"
  | "ERR_WS_SEND_DATA"
  | "ERR_SSE_FIELD"
  | "ERR_SSE_HEARTBEAT"
  | "ERR_PAYLOAD_TOO_LARGE"
  | "ERR_BODY_CONSUMED"
  | "ERR_BODY_ABORTED"
  | "ERR_BODY_TIMEOUT"
  | "ERR_ALREADY_LISTENING"
  | "ERR_WITH_CHANNEL"
  | "ERR_TOPIC_OPTION"
  | "ERR_TOO_MANY_SUBSCRIBERS"
  | "ERR_TOO_MANY_SUBSCRIPTIONS"
  | "ERR_SUBSCRIBER_BEHIND"
  | "ERR_SUBSCRIBER_FAILED"
  | "ERR_TOPIC_CLOSED"
  | "ERR_TOO_MANY_LISTENERS"
  | "ERR_PRESENCE_OPTION"
  // Servers sharing work (backplane/).
  | "ERR_BACKPLANE_OPTION"
  | "ERR_BACKPLANE_FULL"
  | "ERR_BACKPLANE_CLOSED"
  | "ERR_BACKPLANE_SUBJECT"
  | "ERR_BACKPLANE_TOO_LARGE"
  | "ERR_BACKPLANE_DISCONNECTED"
  | "ERR_BACKPLANE_CONNECT"
  | "ERR_MEMORY_BUS_FULL"
  | "ERR_NATS_BUFFER_FULL";

/**
 * The codes of protocol errors: what one side of a session tells the other in an `error`
 * frame (docs/protocol.md section 8). A code from the wire that is not one of these is read as
 * `ERR_PROTOCOL`, never trusted as it is.
 */
export type ProtocolErrorCode =
  | "ERR_BAD_FRAME"
  | "ERR_VERSION"
  | "ERR_NO_SESSION"
  | "ERR_SESSION_LOST"
  | "ERR_UNAUTHORIZED"
  | "ERR_FOREIGN_REFERENCE"
  | "ERR_UNKNOWN_CHANNEL"
  | "ERR_FORBIDDEN"
  | "ERR_TOO_MANY_CHANNELS"
  | "ERR_TOO_MANY_SESSIONS"
  | "ERR_RATE_LIMITED"
  | "ERR_MESSAGE_TOO_LARGE"
  | "ERR_VALUE_TOO_COMPLEX"
  | "ERR_SEQUENCE"
  | "ERR_CREDIT"
  | "ERR_HANDSHAKE_TIMEOUT"
  | "ERR_BODY_TIMEOUT"
  | "ERR_SERVER_CLOSED"
  | "ERR_TOO_MANY_CONNECTIONS"
  | "ERR_UNAVAILABLE"
  | "ERR_ORIGIN"
  | "ERR_HOST"
  | "ERR_SLOW_CONSUMER"
  | "ERR_PROTOCOL";

/** The protocol codes as a set, to check a code read from the wire. */
export const PROTOCOL_ERROR_CODES: ReadonlySet<string> = new Set<ProtocolErrorCode>([
  "ERR_BAD_FRAME",
  "ERR_VERSION",
  "ERR_NO_SESSION",
  "ERR_SESSION_LOST",
  "ERR_UNAUTHORIZED",
  "ERR_FOREIGN_REFERENCE",
  "ERR_UNKNOWN_CHANNEL",
  "ERR_FORBIDDEN",
  "ERR_TOO_MANY_CHANNELS",
  "ERR_TOO_MANY_SESSIONS",
  "ERR_RATE_LIMITED",
  "ERR_MESSAGE_TOO_LARGE",
  "ERR_VALUE_TOO_COMPLEX",
  "ERR_SEQUENCE",
  "ERR_CREDIT",
  "ERR_HANDSHAKE_TIMEOUT",
  "ERR_BODY_TIMEOUT",
  "ERR_SERVER_CLOSED",
  "ERR_TOO_MANY_CONNECTIONS",
  "ERR_UNAVAILABLE",
  "ERR_ORIGIN",
  "ERR_HOST",
  "ERR_SLOW_CONSUMER",
  "ERR_PROTOCOL",
]);

/**
 * Errors thrown by wirechan carry a machine-readable `code` next to a message that says what
 * happened and how to change it. Every later layer (wire, session, server, client) extends
 * {@link WirechanError}, so `err instanceof WirechanError` catches any of ours.
 */
export class WirechanError extends Error {
  /** A stable identifier such as `ERR_TOO_MANY_PENDING_PUTS`, safe to switch on. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown synchronously by `put`, `take` and `alts` when a channel already has the maximum
 * number of pending (parked) operations of that kind. Like core.async, the limit is fixed:
 * a producer that outruns its consumer needs a buffer (a windowed one, `slidingBuffer` or
 * `droppingBuffer`, when losing values is acceptable), not an ever-growing queue of promises.
 */
export class TooManyPendingError extends WirechanError {
  /** The limit that was hit. */
  readonly limit: number;
  /** Which queue was full. */
  readonly kind: "puts" | "takes";

  constructor(kind: "puts" | "takes", limit: number) {
    super(
      kind === "puts" ? "ERR_TOO_MANY_PENDING_PUTS" : "ERR_TOO_MANY_PENDING_TAKES",
      `No more than ${limit} pending ${kind} are allowed on a single channel. ` +
        (kind === "puts"
          ? "Give the channel a buffer, or a windowed one (slidingBuffer(n) or droppingBuffer(n)) if values may be dropped, or await each put before the next."
          : // The spec asks both messages to suggest a windowed buffer; for readers it belongs on the taps.
            "Await each take before starting the next, or fan the channel out with mult() and tap() instead of piling up readers, giving a slow tap a windowed buffer (slidingBuffer(n) or droppingBuffer(n)) if it may miss values."),
    );
    this.kind = kind;
    this.limit = limit;
  }
}

/** A wrong argument of a type the call cannot use: a `TypeError` with a `code` to switch on. */
export class WirechanTypeError extends TypeError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "TypeError";
    this.code = code;
  }
}

/** An argument outside the accepted range: a `RangeError` with a `code` to switch on. */
export class WirechanRangeError extends RangeError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "RangeError";
    this.code = code;
  }
}

/** Any error wirechan throws or rejects with: a {@link WirechanError}, or one of its `TypeError` and `RangeError` kinds. */
export type AnyWirechanError = WirechanError | WirechanTypeError | WirechanRangeError;

/**
 * Whether `x` is an error of wirechan's, with a {@link ErrorCode} to switch on. With `code`,
 * whether it is that one: `isWirechanError(err, "ERR_SESSION_LOST")`.
 */
export function isWirechanError(x: unknown, code?: ErrorCode): x is AnyWirechanError {
  const ours = x instanceof WirechanError || x instanceof WirechanTypeError || x instanceof WirechanRangeError;
  return ours && (code === undefined || x.code === code);
}
