// The facts of protocol v1 that both ends share (docs/protocol.md): transport names, endpoint
// paths, header names, the size of a packet in UTF-8 bytes, decoding a packet under the limits,
// and error frames both ways. The client and the server import these; neither writes them
// again. Pure and browser-safe.
import type { Codec } from "./codec.js";
import { type ControlFrame, type Frame, parsePacket } from "./frames.js";
import { ProtocolError } from "./protocol-error.js";

export { PROTOCOL_VERSION } from "./frames.js";

/** The three ways a session's client reaches the server, in the client's default order. */
export type TransportName = "websocket" | "sse" | "longpoll";

export const TRANSPORT_NAMES: readonly TransportName[] = ["websocket", "sse", "longpoll"];

/** Whether `name` is one of {@link TRANSPORT_NAMES}. */
export function isTransportName(name: unknown): name is TransportName {
  return name === "websocket" || name === "sse" || name === "longpoll";
}

/** The headers of the HTTP transports (lower case, as node:http reads them; HTTP ignores case). */
export const HEADERS = {
  /** The session id, on every request after `open`. */
  session: "x-wirechan-session",
  /** The session's secret: in a header, never a cookie or the URL. */
  secret: "x-wirechan-secret",
  /** The highest server sequence number the client received in order. */
  recv: "x-wirechan-recv",
} as const;

/** The endpoints under the server's `path`: the WebSocket is `path` itself. */
export const ENDPOINTS = { open: "open", sse: "sse", poll: "poll", send: "send" } as const;

export type EndpointName = keyof typeof ENDPOINTS;

/** `path/open` and so on. */
export function endpointPath(path: string, endpoint: EndpointName): string {
  return `${path}/${ENDPOINTS[endpoint]}`;
}

/** Defaults both ends use unless told otherwise (the server's options, and what `connect` assumes). */
export const protocolDefaults = {
  /** Where the server mounts the protocol. */
  path: "/wirechan",
  /** Largest packet, in UTF-8 bytes, either way. */
  maxMessageSize: 1024 * 1024,
  /** Unacknowledged frames one side keeps for replay. */
  replayMessages: 10_000,
  /** Their size, in UTF-8 bytes plus {@link REPLAY_ENTRY_OVERHEAD} per frame. */
  replayBytes: 8 * 1024 * 1024,
} as const;

/**
 * The WebSocket close code of a slow consumer: the server closes a connection whose unsent
 * bytes passed its `maxBufferedBytes` with it (reason "slow consumer"), and reports it as the
 * connection's close status on every transport (docs/protocol.md section 7). In the
 * application range (4000-4999) rather than 1008 "policy violation", so that a client can tell
 * it from every other policy close. A session's client resumes after it as after any cut, and
 * hears `ERR_SLOW_CONSUMER` (not fatal) on the new link.
 */
export const SLOW_CONSUMER_CLOSE_CODE = 4008;

/**
 * What one kept frame costs besides its text, in bytes: the entry object, its slot in the ring,
 * the string's header. Counted in the replay budget so that many tiny frames (answers to puts
 * nobody acknowledges) cannot hide behind a small sum of characters.
 */
export const REPLAY_ENTRY_OVERHEAD = 96;

/**
 * Most arrays and objects one packet may hold, its own and its frames' included. Parsing is
 * bounded by `maxMessageSize`, but not its cost: measured here, a megabyte of tiny objects
 * took about 100 ms to parse and walk, and 750 KB of `[]` 55 ms to parse alone, against a few
 * ms for a megabyte of text, stalling every other client of the process meanwhile. Past this
 * bound the packet is refused before it is parsed (`ERR_VALUE_TOO_COMPLEX`), and a sender
 * refuses such a value before sending it; 20,000 leaves room for a chart of 5,000 points or a
 * history of a thousand chat lines in one value.
 */
export const MAX_PACKET_NODES = 20_000;

const NOT_ASCII = /[^\0-\x7f]/;

/**
 * The UTF-8 length of `text` in bytes: what a WebSocket frame or an HTTP body of it takes, and
 * what every size limit counts. A lone surrogate counts 3 (it is sent as U+FFFD).
 */
export function utf8Length(text: string): number {
  const length = text.length;
  let bytes = length;
  // Most texts are ASCII, one byte per unit: a regular expression finds the first unit that is
  // not (-1 for none) at a third of the cost of this loop (every put and answer frame is measured).
  for (let i = text.search(NOT_ASCII); i >= 0 && i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // A surrogate pair: two UTF-16 units, four bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** The text of a packet that may have gone over the limit: a bound on its bytes, counted only when it could matter. */
export function fitsInBytes(text: string, limit: number): boolean {
  // Each UTF-16 unit is at most three bytes, so short texts need no count.
  if (text.length * 3 <= limit) return true;
  if (text.length > limit) return false;
  return utf8Length(text) <= limit;
}

/**
 * Decodes and validates one packet. Throws a {@link ProtocolError}: `ERR_MESSAGE_TOO_LARGE`
 * past `maxMessageSize` bytes, `ERR_BAD_FRAME` for text the codec cannot read or a frame of the
 * wrong shape.
 */
export function decodePacket(text: string, options: { codec: Codec; maxMessageSize: number }): Frame[] {
  if (!fitsInBytes(text, options.maxMessageSize)) {
    throw new ProtocolError("ERR_MESSAGE_TOO_LARGE", `a message of ${utf8Length(text)} bytes is over maxMessageSize (${options.maxMessageSize} bytes)`);
  }
  let packet: unknown;
  try {
    packet = options.codec.decodePacket(text);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    throw new ProtocolError("ERR_BAD_FRAME", `a message is not a ${options.codec.name} packet: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parsePacket(packet);
}

/** The `error` frame that tells the peer about `error`. */
export function errorFrame(error: ProtocolError): ControlFrame {
  return { kind: "error", code: error.code, message: error.message, fatal: error.fatal };
}

/** The error an `error` frame from the peer reports, its code checked (see {@link ProtocolError.fromPeer}). */
export function peerError(frame: { code: string; message: string; fatal: boolean }): ProtocolError {
  return ProtocolError.fromPeer(frame.code, frame.message, frame.fatal);
}
