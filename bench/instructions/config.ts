// What the instructions suite counts, in one place.

export interface InstructionRow {
  /** The row's name in children/echo.mjs, as in bench:protocol. */
  readonly name: "ws" | "ws-json-chan" | "socketio-ws" | "wirechan-ws";
  /** As bench:protocol labels it. */
  readonly label: string;
}

export const INSTRUCTION_ROWS: readonly InstructionRow[] = [
  { name: "ws", label: "raw ws" },
  { name: "ws-json-chan", label: "raw ws + JSON frames + channels" },
  { name: "socketio-ws", label: "socket.io (websocket)" },
  { name: "wirechan-ws", label: "wirechan (websocket)" },
];

/**
 * Round trips per run. The warm-up is long because every function of both sides must be
 * compiled before the measured ones start: a first try with 6,000 counted a third more per
 * round trip for wirechan than these counts do, V8's optimizing compiler still at work in the
 * difference.
 */
export const COUNTS = { warmup: 12_000, short: 4_000, long: 12_000 } as const;
