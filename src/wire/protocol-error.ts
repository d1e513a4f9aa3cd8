import { PROTOCOL_ERROR_CODES, type ProtocolErrorCode, WirechanError } from "../csp/errors.js";

export type { ProtocolErrorCode } from "../csp/errors.js";

/**
 * Something the other side sent breaks the protocol, or the session cannot go on. `fatal`
 * errors close the link (and, for `ERR_SESSION_LOST`, end the session); the others are
 * reported to the peer and the session continues.
 */
export class ProtocolError extends WirechanError {
  declare readonly code: ProtocolErrorCode;

  constructor(
    code: ProtocolErrorCode,
    message: string,
    readonly fatal = true,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  /**
   * The error an `error` frame from the peer reports. Its code is checked, never cast: one this
   * version does not know becomes `ERR_PROTOCOL`, with the peer's code in the message.
   */
  static fromPeer(code: string, message: string, fatal: boolean): ProtocolError {
    if (PROTOCOL_ERROR_CODES.has(code)) return new ProtocolError(code as ProtocolErrorCode, message, fatal);
    return new ProtocolError("ERR_PROTOCOL", `the peer reported ${JSON.stringify(code.slice(0, 64))}: ${message}`, fatal);
  }
}
