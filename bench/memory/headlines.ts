// The memory suite's headline measures for the summary (bench/memory/results.json): server
// memory per idle client, a wirechan Connection and a protocol session beside raw ws.
import { headline, type Headline } from "../shared/results.js";
import { median } from "../shared/stats.js";
import type { Impl, MemoryPerClient } from "./measure.js";

export function memoryHeadlines(memory: ReadonlyMap<Impl, readonly MemoryPerClient[]>): Headline[] {
  const kib = (impl: Impl, key: "rss" | "heapUsed"): number | undefined => {
    const runs = memory.get(impl);
    return runs === undefined || runs.length === 0 ? undefined : median(runs.map((r) => r[key])) / 1024;
  };
  const row = (id: string, label: string, impl: Impl, key: "rss" | "heapUsed"): Headline =>
    headline(id, label, "KiB", "lower", kib(impl, key), [["raw ws", kib("raw-ws", key)]]);
  return [
    row("connection-rss", "server RSS per idle Connection over WebSocket (5,000)", "connection", "rss"),
    row("session-rss", "server RSS per idle protocol session over WebSocket (5,000)", "session", "rss"),
    row("connection-heap", "server heap used per idle Connection over WebSocket (5,000)", "connection", "heapUsed"),
    row("session-heap", "server heap used per idle protocol session over WebSocket (5,000)", "session", "heapUsed"),
  ];
}
