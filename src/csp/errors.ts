/**
 * Errors thrown by wirechan carry a machine-readable `code` next to a message that says what
 * happened and how to change it. Every later layer (wire, session, server, client) extends
 * {@link WirechanError}, so `err instanceof WirechanError` catches any of ours.
 */
export class WirechanError extends Error {
  /** A stable identifier such as `ERR_TOO_MANY_PENDING_PUTS`, safe to switch on. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
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
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "TypeError";
    this.code = code;
  }
}

/** An argument outside the accepted range: a `RangeError` with a `code` to switch on. */
export class WirechanRangeError extends RangeError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "RangeError";
    this.code = code;
  }
}
