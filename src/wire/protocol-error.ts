import { WirechanError } from "../csp/errors.js";

/** The codes of protocol errors; docs/protocol.md section 8 says when each is sent. */
export type ProtocolErrorCode =
  | "ERR_BAD_FRAME"
  | "ERR_VERSION"
  | "ERR_NO_SESSION"
  | "ERR_SESSION_LOST"
  | "ERR_UNAUTHORIZED"
  | "ERR_FOREIGN_REFERENCE"
  | "ERR_UNKNOWN_CHANNEL"
  | "ERR_TOO_MANY_CHANNELS"
  | "ERR_TOO_MANY_SESSIONS"
  | "ERR_MESSAGE_TOO_LARGE"
  | "ERR_SEQUENCE"
  | "ERR_CREDIT";

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
  ) {
    super(code, message);
  }
}
