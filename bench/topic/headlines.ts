// The topic suite's headline measures for the summary (bench/topic/results.json): fan-out
// through a topic to 5,000 wirechan sessions beside raw ws sending the same message.
import { headline, type Headline } from "../shared/results.js";
import type { CaseName, TopicImpl } from "./config.js";
import type { Metric, Row } from "./report.js";

export function topicHeadlines(rows: readonly Row[]): Headline[] {
  const get = (impl: TopicImpl, metric: Metric): number | undefined => rows.find((r) => r.caseName === CASE && r.impl === impl)?.median?.[metric];
  const pair = (metric: Metric, scale: (v: number) => number = (v) => v) => {
    const of = (impl: TopicImpl): number | undefined => {
      const v = get(impl, metric);
      return v === undefined ? undefined : scale(v);
    };
    return [of("topic"), [["raw ws", of("ws")]]] as const;
  };
  return [
    headline("5000-cpu-fixed", "topic fan-out, server CPU per delivery (5,000 sessions, fixed rate)", "µs", "lower", ...pair("cpuUsPerDelivery")),
    headline("5000-cpu-max", "topic fan-out, server CPU per delivery (5,000 sessions, max rate)", "µs", "lower", ...pair("cpuUsPerDeliveryMax")),
    headline("5000-throughput", "topic fan-out at the max rate (5,000 sessions)", "deliveries/s", "higher", ...pair("throughput")),
    headline("5000-rss", "server RSS per idle session subscribed to a topic (5,000, WebSocket)", "KiB", "lower", ...pair("rssPerClient", (v) => v / 1024)),
  ];
}

/** The size: 5,000 clients. */
const CASE: CaseName = "5000";
