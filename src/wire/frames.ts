// The frames of protocol v1 (docs/protocol.md section 2) as data: builders for the sender and
// a validator that turns a decoded packet into typed frames or a ProtocolError. Pure.
import { ProtocolError } from "./protocol-error.js";

export const PROTOCOL_VERSION = 1;

export interface HelloBody {
  sid: string | null;
  secret: string | null;
  /** Highest server sequence number the client received in order. */
  recv: number;
  /**
   * The largest packet the client accepts, in UTF-8 bytes, when smaller than what a server may
   * send: the server then packs under it (never under 64 KiB). Absent: the server's own
   * `maxMessageSize`.
   */
  maxMessageSize?: number;
  /**
   * True: the client reads a put's lazy flag (`[seq, "p", target, value, 1]`), so the server may
   * send such puts. Absent (an older client): every put the server sends it is prompt.
   */
  lazyAnswers?: boolean;
}

export interface WelcomeBody {
  sid: string;
  /** Only on a new session. */
  secret: string | null;
  /** Highest client sequence number the server received in order. */
  recv: number;
  resumed: boolean;
  /** Ping interval in ms. */
  heartbeat: number;
  /** Puts in flight to one target per session (credit). */
  window: number;
  limits: { maxMessageSize: number; maxChannels: number };
  /** True: the server reads a put's lazy flag, so the client may send such puts (see {@link HelloBody.lazyAnswers}). */
  lazyAnswers?: boolean;
}

export type ControlFrame =
  | { kind: "hello"; version: number; body: HelloBody }
  | { kind: "welcome"; version: number; body: WelcomeBody }
  | { kind: "ack"; seq: number }
  | { kind: "ping"; token: unknown }
  | { kind: "pong"; token: unknown }
  | { kind: "error"; code: string; message: string; fatal: boolean }
  | { kind: "bye"; reason: string };

/** The operation of a sequenced frame. */
export type Operation =
  /**
   * A put. `lazy`: its sender does not wait on the answer soon (a fan-out with credit to
   * spare), so the receiver may hold the answer and the acknowledgement for a ride or for its
   * acknowledgement delay instead of sending them at the end of the turn (docs/protocol.md
   * section 4). Only sent to a peer that said it reads the flag (`lazyAnswers`).
   */
  | { op: "p"; target: string; value: unknown; lazy?: boolean }
  | { op: "a"; putSeq: number; ok: boolean }
  | { op: "c"; ref: string }
  | { op: "r"; ref: string; count: number };

export type SequencedFrame = { kind: "seq"; seq: number } & Operation;

export type Frame = ControlFrame | SequencedFrame;

/** The wire form of a sequenced frame. */
export function sequencedFrame(seq: number, operation: Operation): unknown[] {
  switch (operation.op) {
    case "p":
      return operation.lazy === true ? [seq, "p", operation.target, operation.value, 1] : [seq, "p", operation.target, operation.value];
    case "a":
      return [seq, "a", operation.putSeq, operation.ok ? 1 : 0];
    case "c":
      return [seq, "c", operation.ref];
    case "r":
      return [seq, "r", operation.ref, operation.count];
  }
}

/** The wire form of a control frame. */
export function controlFrame(frame: ControlFrame): unknown[] {
  switch (frame.kind) {
    case "hello":
    case "welcome":
      return [frame.kind, frame.version, frame.body];
    case "ack":
      return ["ack", frame.seq];
    case "ping":
    case "pong":
      return [frame.kind, frame.token];
    case "error":
      return ["error", frame.code, frame.message, frame.fatal ? 1 : 0];
    case "bye":
      return ["bye", frame.reason];
  }
}

/** Most frames one packet may hold: a packet is read whole, so this bounds the work per message. */
export const MAX_FRAMES_PER_PACKET = 4096;

/** Validates a decoded packet. Throws a {@link ProtocolError} (`ERR_BAD_FRAME`) naming the first problem. */
export function parsePacket(packet: unknown): Frame[] {
  if (!Array.isArray(packet)) throw bad("a packet must be an array of frames");
  if (packet.length > MAX_FRAMES_PER_PACKET) throw bad(`a packet may hold at most ${MAX_FRAMES_PER_PACKET} frames`);
  return packet.map(parseFrame);
}

export function parseFrame(frame: unknown): Frame {
  if (!Array.isArray(frame) || frame.length === 0) throw bad("a frame must be a non-empty array");
  const head: unknown = frame[0];
  if (typeof head === "number") return parseSequenced(frame, head);
  switch (head) {
    case "hello":
      return { kind: "hello", version: version(frame), body: helloBody(frame[2]) };
    case "welcome":
      return { kind: "welcome", version: version(frame), body: welcomeBody(frame[2]) };
    case "ack":
      return { kind: "ack", seq: seqNumber(frame[1], "ack") };
    case "ping":
    case "pong":
      if (frame.length !== 2) throw bad(`${head} takes one token`);
      return { kind: head, token: primitive(frame[1], head) };
    case "error":
      return { kind: "error", code: text(frame[1], "error code", 64), message: text(frame[2], "error message", 1024), fatal: frame[3] === 1 };
    case "bye":
      return { kind: "bye", reason: text(frame[1], "bye reason", 1024) };
    default:
      throw bad(`unknown frame ${describe(head)}`);
  }
}

function parseSequenced(frame: unknown[], head: number): SequencedFrame {
  const seq = seqNumber(head, "sequence number");
  const op: unknown = frame[1];
  switch (op) {
    case "p": {
      // The fifth item, the lazy flag, is 1 or absent: a 0 would be a second way to say prompt.
      if (frame.length !== 4 && (frame.length !== 5 || frame[4] !== 1)) throw bad("a put frame is [seq, \"p\", target, value, 1?]");
      const target = text(frame[2], "put target", 1024);
      return frame.length === 5 ? { kind: "seq", seq, op: "p", target, value: frame[3], lazy: true } : { kind: "seq", seq, op: "p", target, value: frame[3] };
    }
    case "a":
      if (frame.length !== 4 || (frame[3] !== 0 && frame[3] !== 1)) throw bad("an accepted frame is [seq, \"a\", putSeq, 0 | 1]");
      return { kind: "seq", seq, op: "a", putSeq: seqNumber(frame[2], "put sequence number"), ok: frame[3] === 1 };
    case "c":
      if (frame.length !== 3) throw bad("a closed frame is [seq, \"c\", ref]");
      return { kind: "seq", seq, op: "c", ref: text(frame[2], "reference", 1024) };
    case "r":
      if (frame.length !== 4) throw bad("a release frame is [seq, \"r\", ref, count]");
      return { kind: "seq", seq, op: "r", ref: text(frame[2], "reference", 1024), count: seqNumber(frame[3], "release count") };
    default:
      throw bad(`unknown operation ${describe(op)}`);
  }
}

function version(frame: unknown[]): number {
  const v: unknown = frame[1];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw bad("a protocol version must be an integer");
  if (frame.length !== 3) throw bad(`${describe(frame[0])} is [kind, version, body]`);
  return v;
}

function helloBody(body: unknown): HelloBody {
  const b = record(body, "hello");
  const hello: HelloBody = { sid: optionalText(b.sid, "sid"), secret: optionalText(b.secret, "secret"), recv: count(b.recv, "recv") };
  if (b.maxMessageSize !== undefined) hello.maxMessageSize = count(b.maxMessageSize, "maxMessageSize");
  if (b.lazyAnswers === true) hello.lazyAnswers = true;
  return hello;
}

function welcomeBody(body: unknown): WelcomeBody {
  const b = record(body, "welcome");
  const limits = record(b.limits, "welcome limits");
  if (typeof b.resumed !== "boolean") throw bad("welcome resumed must be a boolean");
  const welcome: WelcomeBody = {
    sid: text(b.sid, "sid", 64),
    secret: optionalText(b.secret, "secret"),
    recv: count(b.recv, "recv"),
    resumed: b.resumed,
    heartbeat: count(b.heartbeat, "heartbeat"),
    window: seqNumber(b.window, "window"),
    limits: { maxMessageSize: count(limits.maxMessageSize, "maxMessageSize"), maxChannels: count(limits.maxChannels, "maxChannels") },
  };
  if (b.lazyAnswers === true) welcome.lazyAnswers = true;
  return welcome;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(`${what} body must be an object`);
  return value as Record<string, unknown>;
}

function text(value: unknown, what: string, max: number): string {
  if (typeof value !== "string") throw bad(`${what} must be a string`);
  if (value.length > max) throw bad(`${what} longer than ${max} characters`);
  return value;
}

function optionalText(value: unknown, what: string): string | null {
  return value === null || value === undefined ? null : text(value, what, 64);
}

/** A positive integer: sequence numbers start at 1. */
function seqNumber(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) throw bad(`${what} must be a positive integer`);
  return value;
}

/** A non-negative integer. */
function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw bad(`${what} must be a non-negative integer`);
  return value;
}

function primitive(value: unknown, what: string): unknown {
  if (typeof value === "object" && value !== null) throw bad(`${what} token must be a number or string`);
  if (typeof value === "string" && value.length > 64) throw bad(`${what} token longer than 64 characters`);
  return value;
}

/** A frame part for an error message, without calling anything on it (it came from the wire). */
function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 32)) : typeof value === "object" ? (value === null ? "null" : Array.isArray(value) ? "an array" : "an object") : typeof value;
}

function bad(message: string): ProtocolError {
  return new ProtocolError("ERR_BAD_FRAME", message);
}
