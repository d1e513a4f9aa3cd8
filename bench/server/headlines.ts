// The server suite's headline measures for the summary (bench/server/results.json): the
// Connection layer's fan-out at 5,000 WebSockets (issue 12's rows for CPU per delivery, p99 at
// a fixed rate and memory per idle connection), throughput at 1,000, and SSE beside plain SSE.
import { headline, type Headline } from "../shared/results.js";
import { FIXED_HZ, type CaseName, type ServerImpl } from "./config.js";
import type { Metric, Row } from "./report.js";

export function serverHeadlines(rows: readonly Row[]): Headline[] {
  const get = (caseName: CaseName, impl: ServerImpl, metric: Metric): number | undefined =>
    rows.find((r) => r.caseName === caseName && r.impl === impl)?.median?.[metric];
  const kib = (v: number | undefined): number | undefined => (v === undefined ? undefined : v / 1024);
  const ws = (caseName: CaseName, metric: Metric, scale: (v: number | undefined) => number | undefined = (v) => v) =>
    [scale(get(caseName, "wirechan-ws", metric)), [["raw ws", scale(get(caseName, "ws", metric))], ["socket.io", scale(get(caseName, "socketio", metric))]]] as const;
  const sse = (metric: Metric) => [get("sse-1000", "wirechan-sse", metric), [["plain SSE", get("sse-1000", "http-sse", metric)]]] as const;
  return [
    headline("ws-5000-cpu", `broadcastEncoded fan-out, server CPU per delivery (5,000 WebSockets, ${FIXED_HZ}/s)`, "µs", "lower", ...ws("ws-5000", "cpuUsPerDelivery")),
    headline("ws-5000-p99", `fan-out latency p99 (5,000 WebSockets, ${FIXED_HZ}/s)`, "ms", "lower", ...ws("ws-5000", "p99Ms")),
    headline("ws-5000-rss", "server RSS per idle Connection (5,000 WebSockets)", "KiB", "lower", ...ws("ws-5000", "rssPerClient", kib)),
    headline("ws-1000-throughput", "fan-out at the max rate (1,000 WebSockets)", "deliveries/s", "higher", ...ws("ws-1000", "throughput")),
    headline("ws-5000-throughput", "fan-out at the max rate (5,000 WebSockets)", "deliveries/s", "higher", ...ws("ws-5000", "throughput")),
    headline("sse-1000-throughput", "serveChannel fan-out at the max rate (1,000 SSE streams)", "deliveries/s", "higher", ...sse("throughput")),
    headline("sse-1000-cpu", `serveChannel fan-out, server CPU per delivery (1,000 SSE streams, ${FIXED_HZ}/s)`, "µs", "lower", ...sse("cpuUsPerDelivery")),
  ];
}
