// One message for many connections (a group broadcast): its bytes made once, and each framed
// form a transport writes made once too, the first time a member of that transport needs it.
import type { ResponseParts } from "./connection.js";
import { encodeSseEvent } from "./sse-codec.js";

/** @internal The head of every long-poll answer a broadcast gives: http-kit's store answers in JSON. */
export const jsonHeaders: Readonly<Record<string, string>> = { "content-type": "application/json; charset=utf-8" };

/** WebSocket opcodes (RFC 6455 section 5.2), with the FIN bit set: one whole message per frame. */
const FIN_TEXT = 0x81;
const FIN_BINARY = 0x82;

/**
 * @internal A payload a `ChannelStore` broadcast sends to every member, made once per
 * broadcast and shared by all of them, so that N members cost N writes of the same bytes, not
 * N encodings:
 *
 * - {@link bytes}: a string's UTF-8 bytes, made here once (bytes are taken as they are, not
 *   copied: the caller must not change them after the broadcast). Limits are checked against
 *   their length, once.
 * - {@link wsFrame}: a whole unmasked server-to-client WebSocket frame, header and payload in
 *   one buffer (a text frame for a string, binary for bytes), written as it is to the socket of
 *   every WebSocket member whose `ws` has nothing of its own queued and no extension (see
 *   `WsConnection.sendEncoded`). Without that, `ws` would turn the string into UTF-8 and build a
 *   header for every socket.
 * - {@link sseEvent}: the SSE event `data: …\n\n` as UTF-8 bytes, for every SSE member.
 * - {@link longPollAnswer}: one `{ status: 200, headers, body: bytes }` for every long-poll.
 *
 * Every form but `bytes` is made only when a member needs it: a group of WebSocket members
 * never frames an SSE event.
 */
export class EncodedMessage {
  /** Whether the payload is text (a TEXT frame) rather than bytes (a BINARY frame). */
  readonly isText: boolean;
  /** The payload's bytes: UTF-8 for text. */
  readonly bytes: Buffer;
  private textForm: string | undefined;
  private frameForm: Buffer | undefined;
  private sseForm: Buffer | undefined;
  private answer: ResponseParts | undefined;

  constructor(payload: string | Uint8Array) {
    if (typeof payload === "string") {
      this.isText = true;
      this.textForm = payload;
      this.bytes = Buffer.from(payload, "utf8");
    } else {
      this.isText = false;
      this.bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    }
  }

  /** The payload as text: the caller's string itself, or bytes decoded as UTF-8 (for SSE). */
  get text(): string {
    this.textForm ??= this.bytes.toString("utf8");
    return this.textForm;
  }

  /** The whole WebSocket frame: see {@link EncodedMessage}. */
  get wsFrame(): Buffer {
    this.frameForm ??= webSocketFrame(this.isText ? FIN_TEXT : FIN_BINARY, this.bytes);
    return this.frameForm;
  }

  /** The SSE event carrying the payload as its data, framed and UTF-8 encoded once. */
  get sseEvent(): Buffer {
    this.sseForm ??= Buffer.from(encodeSseEvent({ data: this.text }), "utf8");
    return this.sseForm;
  }

  /** The answer every long-poll member gets: 200, JSON, the payload's bytes as the body. */
  get longPollAnswer(): ResponseParts {
    this.answer ??= { status: 200, headers: jsonHeaders, body: this.bytes };
    return this.answer;
  }
}

/**
 * One unfragmented, unmasked frame (a server never masks, RFC 6455 section 5.1): the first
 * byte, then the length in 7 bits, or 126 and 16 bits, or 127 and 64 bits (big-endian), then
 * the payload, copied once into the same buffer so that each socket gets a single write.
 */
function webSocketFrame(first: number, payload: Buffer): Buffer {
  const length = payload.byteLength;
  const headLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headLength + length);
  frame[0] = first;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    // The high 16 of the 64 bits stay zero: no buffer node can allocate reaches 2^48 bytes.
    frame.writeUInt16BE(0, 2);
    frame.writeUIntBE(length, 4, 6);
  }
  payload.copy(frame, headLength);
  return frame;
}
