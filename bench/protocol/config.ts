// What the protocol benchmark measures, in one place. The child processes get every count
// through their IPC commands, so nothing here is repeated in the .mjs files.

export type RowName =
  | "ws"
  | "ws-json"
  | "ws-json-chan"
  | "socketio-ws"
  | "socketio-polling"
  | "wirechan-ws"
  | "wirechan-sse"
  | "wirechan-longpoll"
  | "wirechan-connection";
/** The server process a row runs against (the three session rows share one kind of server). */
export type ServerKind = "ws" | "socketio-ws" | "socketio-polling" | "wirechan" | "wirechan-connection";
export type Variant = "send" | "emit" | "emitWithAck" | "put" | "awaited";

export interface RowSpec {
  readonly name: RowName;
  readonly label: string;
  readonly server: ServerKind;
  /** Slow rows (HTTP transports) measure fewer round trips. */
  readonly slow: boolean;
  /** The throughput methods measured on this row, in order. */
  readonly variants: readonly Variant[];
  /** How a round trip is made, for the README. */
  readonly rttMethod: string;
}

export const ROWS: readonly RowSpec[] = [
  {
    name: "ws",
    label: "raw ws",
    server: "ws",
    slow: false,
    variants: ["send"],
    rttMethod:
      "a `ws` server (`perMessageDeflate: false`) sends every message back as it came; the client (`ws`) does `ws.send(\"e\" + n)` and awaits the next message",
  },
  {
    name: "ws-json",
    label: "raw ws + JSON frames",
    server: "ws",
    slow: false,
    variants: [],
    rttMethod:
      "not a library but a floor: raw ws carrying the very packets of a wirechan round trip, with none of the protocol's work. The client sends `JSON.stringify([[s, \"a\", s, 1], [s + 1, \"p\", \"n:echo\", { reply: { \"~c\": \"c.1\" }, n }]])`; the server `JSON.parse`s it and answers `JSON.stringify([[t, \"a\", s + 1, 1], [t + 1, \"p\", \"c.1\", n]])`, which the client parses for `n`",
  },
  {
    name: "ws-json-chan",
    label: "raw ws + JSON frames + channels",
    server: "ws",
    slow: false,
    variants: [],
    rttMethod:
      "a second floor: the packets of raw ws + JSON frames, with wirechan's channels where wirechan has them and none of the session's work (sequence numbers, replay, credit, references, answers kept). The server puts each packet's value into an `echo` channel, a loop `for await`s it and puts the number into a channel that a second loop takes from to write the answer packet; the client puts each answer's number into `reply = chan(1)` and the round trip awaits `reply.take()`",
  },
  {
    name: "socketio-ws",
    label: "socket.io (websocket)",
    server: "socketio-ws",
    slow: false,
    variants: ["emit", "emitWithAck"],
    rttMethod:
      "`await socket.emitWithAck(\"echo\", n)`; the server's handler is `(value, ack) => ack(value)`; client and server both `transports: [\"websocket\"]`",
  },
  {
    name: "socketio-polling",
    label: "socket.io (polling)",
    server: "socketio-polling",
    slow: true,
    variants: ["emit", "emitWithAck"],
    rttMethod: "as socket.io (websocket), with `transports: [\"polling\"]` on both sides (HTTP long-polling, no upgrade)",
  },
  {
    name: "wirechan-ws",
    label: "wirechan (websocket)",
    server: "wirechan",
    slow: false,
    variants: ["put", "awaited"],
    rttMethod:
      "the server runs `for await (const { reply, n } of server.channel(\"echo\")) await reply.put(n)`; the client made `reply = chan(1)` once and per round trip does `echo.put({ reply, n })` (not awaited) then `await reply.take()`",
  },
  {
    name: "wirechan-sse",
    label: "wirechan (sse)",
    server: "wirechan",
    slow: true,
    variants: ["put"],
    rttMethod: "as wirechan (websocket), over SSE downstream and POST upstream",
  },
  {
    name: "wirechan-longpoll",
    label: "wirechan (longpoll)",
    server: "wirechan",
    slow: true,
    variants: ["put"],
    rttMethod: "as wirechan (websocket), over long-polling downstream and POST upstream",
  },
  {
    name: "wirechan-connection",
    label: "wirechan Connection (websocket)",
    server: "wirechan-connection",
    slow: false,
    variants: ["send"],
    rttMethod:
      "wirechan's message layer, without a session: `createServer().route(\"*\", (req) => withChannel(req, (conn) => conn.onReceive((m) => conn.send(m))))`, default options; the client is raw ws's, on the same messages",
  },
];

export const VARIANT_DESCRIPTIONS: Readonly<Record<Variant, string>> = {
  send: "raw ws's client: `ws.send(\"v\" + i)` for every value (no acknowledgement), in chunks of 1,000 between `setImmediate`s; the server (raw ws, or wirechan's Connection) counts messages",
  emit: "socket.io: `socket.emit(\"v\", i)` for every value (no acknowledgement), in chunks of 1,000 between `setImmediate`s",
  emitWithAck:
    "socket.io: `socket.emitWithAck(\"v\", i)` with at most 256 unanswered; the server's handler counts and calls `ack(true)`",
  awaited: "wirechan: `await sink.put(i)` in a loop, one put at a time: each waits for the server's answer, so the rate is round trips per second (compared with raw ws's echo round trips per second)",
  put: "wirechan: `sink.put(i)` (sink = `session.serverChan(\"sink\")`) with at most 256 unresolved puts; each resolves once the server's loop `for await (const v of server.channel(\"sink\"))` took it. The proxy itself keeps at most `window` (server default 256) on the wire; the rest wait in the proxy",
};

/** Round trips: un-measured warm-up, then measured, per row; slow rows fewer. */
export const RTT_WARMUP = 10_000;
export const RTT_COUNT = 5_000;
export const RTT_WARMUP_SLOW = 200;
export const RTT_COUNT_SLOW = 1_000;
/** A row's measured round trips stop after this long even if fewer than the count were made. */
export const RTT_TIME_LIMIT_MS = 6_000;

/** Throughput: values one client sends to the server's sink. */
export const THROUGHPUT_VALUES = 100_000;
/** Sending stops after this long; the rate is then over what arrived, and the row says so. */
export const THROUGHPUT_TIME_LIMIT_MS = 12_000;

/** A row (both processes, every phase) that takes longer is killed and fails. */
export const ROW_TIMEOUT_MS = 60_000;
/** No round starts once this much time has gone, so the run ends in time with what it has. */
export const ROUNDS_BUDGET_MS = 4 * 60_000;
/** The whole benchmark gives up after this long, killing whatever still runs. */
export const TOTAL_TIMEOUT_MS = 5 * 60_000;

export const DEFAULT_RUNS = 5;

/** Targets from the issue. */
export const TARGETS = {
  /** wirechan over websocket: RTT p50 at most this times raw ws... */
  wsRttVsRawWs: 1.3,
  /** ...and below socket.io over websocket (ratio under this). */
  wsRttVsSocketIo: 1.0,
  /** wirechan over websocket: a loop of awaited puts, at least this times raw ws's echo round trips/s. */
  awaitedPutsVsRawWsRoundTrips: 0.5,
  /** wirechan over long-polling: RTT p50 under this many ms. */
  longpollRttMs: 1.0,
  /** wirechan over long-polling: throughput at least this times socket.io's polling. */
  longpollThroughputVsSocketIo: 3.0,
} as const;

export function rowSpec(name: RowName): RowSpec {
  const spec = ROWS.find((r) => r.name === name);
  if (spec === undefined) throw new Error(`unknown row ${name}`);
  return spec;
}
