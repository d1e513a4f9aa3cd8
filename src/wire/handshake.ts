// The handshake of protocol v1 (docs/protocol.md sections 2 and 3): the client's `hello`, the
// server's `welcome` or refusal. Both halves live here, so what one side writes is what the
// other reads. Always JSON: the codec is not agreed yet when these travel. Pure.
import { jsonCodec } from "./codec.js";
import { controlFrame, type Frame, type HelloBody, PROTOCOL_VERSION, type WelcomeBody } from "./frames.js";
import { ProtocolError } from "./protocol-error.js";
import { decodePacket, errorFrame, peerError } from "./protocol.js";

// The client's half.

/** The packet that opens or resumes a session: `[["hello", 1, body]]`. */
export function helloPacket(hello: HelloBody): string {
  return jsonCodec.joinPacket([jsonCodec.encodeFrame(controlFrame({ kind: "hello", version: PROTOCOL_VERSION, body: hello }))]);
}

/** What the server answered a hello with. */
export type HelloAnswer = { kind: "welcome"; welcome: WelcomeBody } | { kind: "refused"; error: ProtocolError };

/**
 * Reads the server's answer to a hello: its welcome, or the protocol error it refused with
 * (its code checked, see {@link peerError}). Throws a {@link ProtocolError} (`ERR_BAD_FRAME`,
 * `ERR_MESSAGE_TOO_LARGE`) for text that is neither.
 */
export function readHelloAnswer(text: string, maxMessageSize: number): HelloAnswer {
  const frame = decodePacket(text, { codec: jsonCodec, maxMessageSize })[0];
  if (frame?.kind === "welcome") return { kind: "welcome", welcome: frame.body };
  if (frame?.kind === "error") return { kind: "refused", error: peerError(frame) };
  throw new ProtocolError("ERR_BAD_FRAME", "the server did not answer the hello with a welcome");
}

// The server's half.

/** A hello of this protocol version, and the frames that came after it in the same packet (a WebSocket may carry both). */
export interface Hello {
  body: HelloBody;
  rest: Frame[];
}

/**
 * Reads the packet that must start a link with a hello. Throws a {@link ProtocolError}:
 * `ERR_NO_SESSION` when it starts with anything else, `ERR_VERSION` for a version this server
 * does not speak, and what {@link decodePacket} throws.
 */
export function readHello(text: string, maxMessageSize: number): Hello {
  const [first, ...rest] = decodePacket(text, { codec: jsonCodec, maxMessageSize });
  if (first?.kind !== "hello") throw new ProtocolError("ERR_NO_SESSION", "a link must start with a hello packet");
  if (first.version !== PROTOCOL_VERSION) {
    throw new ProtocolError("ERR_VERSION", `this server speaks wirechan protocol ${PROTOCOL_VERSION}, not ${first.version}`);
  }
  return { body: first.body, rest };
}

/** The packet answering a hello: `[["welcome", 1, body]]`. */
export function welcomePacket(body: WelcomeBody): string {
  return jsonCodec.joinPacket([jsonCodec.encodeFrame(controlFrame({ kind: "welcome", version: PROTOCOL_VERSION, body }))]);
}

/** The packet of a refusal: `[["error", code, message, fatal]]`. */
export function refusalPacket(error: ProtocolError): string {
  return jsonCodec.joinPacket([jsonCodec.encodeFrame(controlFrame(errorFrame(error)))]);
}
