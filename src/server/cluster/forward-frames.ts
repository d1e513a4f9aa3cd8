// What crosses the backplane between the node a client's request reached (the edge) and the
// node that holds its session (the owner), pure (docs/api.md "No sticky sessions"). One header
// line, `<kind> <from> <tunnel>`, then the payload as it is: a packet's text is never parsed and
// written again on its way through. Anything else on a node's subject is dropped by the reader.
import type { ResponseParts } from "../connection.js";
import type { TransportName } from "../../wire/protocol.js";
import { isNodeTag } from "./node-tag.js";

/**
 * Edge to owner: `socket` (a WebSocket's hello; the tunnel then carries the socket), `up` (a
 * packet from the socket), `open` (a `POST open` with a hello), `attach` (an SSE stream or a
 * long-poll asks for the session's downstream), `send` (a `POST send`), `close` (the client's
 * connection closed). Owner to edge: `ok` (the downstream is attached), `down` (a packet for
 * the client), `answer` (an HTTP answer: the tunnel's last message), `drop` (close the client's
 * connection: the owner dropped the link).
 */
export type ForwardKind = "socket" | "up" | "open" | "attach" | "send" | "close" | "ok" | "down" | "answer" | "drop";

const KINDS: ReadonlySet<string> = new Set<ForwardKind>(["socket", "up", "open", "attach", "send", "close", "ok", "down", "answer", "drop"]);

/** A tunnel id: what the edge numbers its tunnels with (base 36), unique on the edge. */
const TUNNEL_ID = /^[0-9a-z]{1,16}$/;

export interface ForwardMessage {
  readonly kind: ForwardKind;
  /** The tag of the node that sent it: where the answer goes. */
  readonly from: string;
  /** The tunnel on the edge it belongs to. */
  readonly tunnel: string;
  readonly payload: string;
}

/** The text of one message. `from` is a node tag and `tunnel` a tunnel id (the caller's own: not checked). */
export function writeForward(kind: ForwardKind, from: string, tunnel: string, payload: string): string {
  return `${kind} ${from} ${tunnel}\n${payload}`;
}

/** The message in `text`, or null when it is not one (another version, a program that is not a node). */
export function readForward(text: string): ForwardMessage | null {
  const end = text.indexOf("\n");
  if (end < 0 || end > 64) return null;
  const [kind, from, tunnel, extra] = text.slice(0, end).split(" ");
  if (extra !== undefined || kind === undefined || from === undefined || tunnel === undefined) return null;
  if (!KINDS.has(kind) || !isNodeTag(from) || !TUNNEL_ID.test(tunnel)) return null;
  return { kind: kind as ForwardKind, from, tunnel, payload: text.slice(end + 1) };
}

/** Who a forwarded hello comes from: what the edge's `authenticate` returned (as JSON), and the address. */
export interface ForwardedHello {
  /** The hello packet, as the client sent it. */
  readonly hello: string;
  readonly principal: unknown;
  readonly address: string;
}

/** An SSE stream or a long-poll that reached the edge, asking for the session's downstream. */
export interface AttachRequest {
  readonly sid: string;
  readonly secret: string;
  /** The client's `X-Wirechan-Recv` (-1 when absent or malformed: the owner refuses it). */
  readonly recv: number;
  readonly transport: Exclude<TransportName, "websocket">;
}

/** A `POST send` that reached the edge. */
export interface SendRequest {
  readonly sid: string;
  readonly secret: string;
  readonly text: string;
}

/** An HTTP answer as it crosses: its body is text (every protocol answer is). */
export interface ForwardedAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Thrown by the readers below for a payload not of the shape its kind says. */
export class MalformedForward extends Error {}

export function readForwardedHello(payload: string): ForwardedHello {
  const value = record(payload);
  if (typeof value.hello !== "string" || typeof value.address !== "string") throw new MalformedForward("a forwarded hello needs hello and address");
  return { hello: value.hello, principal: value.principal ?? null, address: value.address };
}

export function readAttachRequest(payload: string): AttachRequest {
  const value = record(payload);
  const { sid, secret, recv, transport } = value;
  if (typeof sid !== "string" || typeof secret !== "string" || typeof recv !== "number" || !Number.isSafeInteger(recv) || (transport !== "sse" && transport !== "longpoll")) {
    throw new MalformedForward("an attach needs sid, secret, recv and transport sse or longpoll");
  }
  return { sid, secret, recv, transport };
}

export function readSendRequest(payload: string): SendRequest {
  const value = record(payload);
  if (typeof value.sid !== "string" || typeof value.secret !== "string" || typeof value.text !== "string") throw new MalformedForward("a send needs sid, secret and text");
  return { sid: value.sid, secret: value.secret, text: value.text };
}

/**
 * An answer's text: `<status> <headers as JSON>\n<body>`, the body (a long-poll's packet) as it
 * is, never escaped into JSON and parsed again on its way. Its body must be text (a protocol
 * answer always is); headers' values are written as text.
 */
export function writeAnswer(parts: ResponseParts): string {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) headers[name] = Array.isArray(value) ? value.join(", ") : String(value);
  const body = typeof parts.body === "string" ? parts.body : parts.body === undefined ? "" : new TextDecoder().decode(parts.body);
  // JSON.stringify writes no line break: the first one ends the head.
  return `${parts.status ?? 200} ${JSON.stringify(headers)}\n${body}`;
}

export function readAnswer(payload: string): ForwardedAnswer {
  const end = payload.indexOf("\n");
  const space = payload.indexOf(" ");
  if (end < 0 || space < 0 || space > end) throw new MalformedForward("an answer needs a status, headers and a body");
  const status = Number(payload.slice(0, space));
  if (!Number.isInteger(status) || status < 100 || status > 599) throw new MalformedForward("an answer's status must be an HTTP status");
  const headers = record(payload.slice(space + 1, end));
  const clean: Record<string, string> = {};
  for (const [name, header] of Object.entries(headers)) {
    if (typeof header === "string") clean[name] = header;
  }
  return { status, headers: clean, body: payload.slice(end + 1) };
}

function record(payload: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    throw new MalformedForward("a payload that is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new MalformedForward("a payload that is not an object");
  return value as Record<string, unknown>;
}
