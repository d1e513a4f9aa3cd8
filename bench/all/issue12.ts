// The rows of issue 12's table, each pointing at the suite headline that measures it (or saying
// that none does yet), with the issue's target. Their numbers come from the suites' results.json.
import type { SuiteName } from "./suites.js";

export interface IssueRow {
  /** The measure as the issue words it. */
  readonly measure: string;
  readonly target: string;
  /** The headline that measures it, or null when no suite does yet. */
  readonly from: { readonly suite: SuiteName; readonly id: string } | null;
  /** Said beside the row: how the headline differs from the issue's wording, or what is missing. */
  readonly note?: string;
}

export const ISSUE_12_ROWS: readonly IssueRow[] = [
  {
    measure: "a loop of `await proxy.put(v)`, puts/s (one client, WebSocket)",
    target: "at least half of raw ws's echo round trips/s",
    from: { suite: "protocol", id: "awaited-put-loop" },
    note: "raw ws and socket.io: their echo round trips/s, one at a time",
  },
  {
    measure: "echo through a server channel, RTT p50 (WebSocket), ms",
    target: "at most 1.3x raw ws, below socket.io",
    from: { suite: "protocol", id: "rtt-p50-ws" },
  },
  {
    measure: "server RSS per idle connection, N=5000: Connection over WebSocket, KiB",
    target: "at most 1.1x raw ws",
    from: { suite: "memory", id: "connection-rss" },
  },
  {
    measure: "the same, a protocol session over WebSocket, KiB",
    target: "at most 1.5x raw ws",
    from: { suite: "memory", id: "session-rss" },
  },
  {
    measure: "fan-out to 1,000 long-polling protocol clients, deliveries/s",
    target: "at least socket.io's (polling)",
    from: { suite: "longpoll", id: "1000-throughput" },
  },
  {
    measure: "the same at a fixed rate, latency p50, ms",
    target: "below socket.io's (polling)",
    from: { suite: "longpoll", id: "1000-p50" },
  },
  {
    measure: "the same, server CPU per delivery (fixed rate), µs",
    target: "reported",
    from: { suite: "longpoll", id: "1000-server-cpu-fixed" },
  },
  {
    measure: "the same, clients' CPU per delivery (fixed rate), µs",
    target: "reported",
    from: { suite: "longpoll", id: "1000-client-cpu-fixed" },
  },
  {
    measure: "`ChannelStore.broadcastEncoded` fan-out, server CPU per delivery (N=5000, 10/s), µs",
    target: "at most 0.8x raw ws",
    from: { suite: "server", id: "ws-5000-cpu" },
  },
  {
    measure: "fixed rate, N=5000 at 10 broadcasts/s over WebSocket (Connection), latency p99, ms",
    target: "at most raw ws's",
    from: { suite: "server", id: "ws-5000-p99" },
  },
];
