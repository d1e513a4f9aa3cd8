// The long-polling suite's headline measures for the summary (bench/longpoll/results.json):
// fan-out from one server to 1,000 long-polling sessions beside socket.io's polling transport,
// with the server's and the clients' CPU per delivery (issue 12, item 4).
import { headline, type Headline } from "../shared/results.js";
import type { LongpollImpl } from "./config.js";
import type { Metric, Row } from "./report.js";

export function longpollHeadlines(rows: readonly Row[]): Headline[] {
  const of = (impl: LongpollImpl, metric: Metric): number | undefined => rows.find((r) => r.impl === impl)?.median?.[metric];
  const row = (id: string, label: string, unit: string, better: "lower" | "higher", metric: Metric): Headline =>
    headline(id, label, unit, better, of("topic", metric), [["socket.io", of("socketio", metric)]]);
  return [
    row("1000-throughput", "topic fan-out to 1,000 long-polling sessions at the max rate", "deliveries/s", "higher", "throughput"),
    row("1000-p50", "the same at a fixed rate, latency p50", "ms", "lower", "p50Ms"),
    row("1000-server-cpu-fixed", "the same, server CPU per delivery (fixed rate)", "µs", "lower", "serverUsFixed"),
    row("1000-client-cpu-fixed", "the same, clients' CPU per delivery (fixed rate)", "µs", "lower", "clientUsFixed"),
    row("1000-server-cpu-max", "the same, server CPU per delivery (max rate)", "µs", "lower", "serverUsMax"),
    row("1000-client-cpu-max", "the same, clients' CPU per delivery (max rate)", "µs", "lower", "clientUsMax"),
    row("1000-requests-fixed", "the same, HTTP requests per delivery (fixed rate)", "requests", "lower", "requestsFixed"),
  ];
}
