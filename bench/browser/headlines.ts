// The browser suite's headline measures for the summary (bench/browser/results.json): the
// bundles beside socket.io-client's, and what a page sees (no peer measured in Chromium yet).
import type { SizeReport } from "../../scripts/bundle-size.js";
import { headline, type Headline } from "../shared/results.js";

export interface BrowserNumbers {
  /** Navigation to the first chat line shown, p50 ms, per transport. */
  readonly firstLineP50: ReadonlyMap<string, number>;
  /** The dashboard's delivery latency, p99 ms. */
  readonly dashboardP99: number;
  readonly sizes: SizeReport;
}

export function browserHeadlines(n: BrowserNumbers): Headline[] {
  const kb = (bytes: number): number => bytes / 1000;
  const socketIo = kb(n.sizes.socketIoClient.gzip);
  return [
    headline("bundle-served", "/wirechan/client.js min+gzip (socket.io-client: its `io` bundled alike)", "KB", "lower", kb(n.sizes.servedClient.gzip), [["socket.io", socketIo]]),
    headline("bundle-minimal", "a minimal app's bundle (chan + connect) min+gzip", "KB", "lower", kb(n.sizes.minimalApp.gzip), [["socket.io", socketIo]]),
    ...[...n.firstLineP50].map(([transport, ms]) =>
      headline(`first-line-${transport}`, `Chromium: navigation to the first chat line, p50 (${transport})`, "ms", "lower", ms, []),
    ),
    headline("dashboard-p99", "Chromium: the dashboard's delivery latency p99", "ms", "lower", n.dashboardP99, []),
  ];
}
