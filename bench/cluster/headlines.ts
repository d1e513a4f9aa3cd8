// The cluster suite's headline measures for the summary (bench/cluster/results.json): at 1,000
// clients over 3 nodes, a wirechan topic on Redis and on NATS beside socket.io's Redis adapter.
import { headline, type Headline } from "../shared/results.js";
import type { ClusterImpl } from "./config.js";
import type { Row } from "./report.js";

export function clusterHeadlines(rows: readonly Row[]): Headline[] {
  const get = (impl: ClusterImpl, metric: "throughput" | "p99Ms"): number | undefined =>
    rows.find((r) => r.caseName === "1000" && r.impl === impl)?.median?.[metric];
  const engines = [
    ["redis", "Redis", "wirechan-redis"],
    ["nats", "NATS", "wirechan-nats"],
  ] as const;
  return engines.flatMap(([id, engine, impl]) => [
    headline(`1000-${id}-throughput`, `broadcasts across 3 nodes on ${engine}, max rate (1,000 WebSockets; socket.io: redis-adapter)`, "deliveries/s", "higher", get(impl, "throughput"), [
      ["socket.io", get("socketio-redis", "throughput")],
    ]),
    headline(`1000-${id}-p99`, `broadcasts across 3 nodes on ${engine}, latency p99 (1,000 WebSockets; socket.io: redis-adapter)`, "ms", "lower", get(impl, "p99Ms"), [
      ["socket.io", get("socketio-redis", "p99Ms")],
    ]),
  ]);
}
