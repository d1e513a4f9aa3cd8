// The csp suite's headline measures for the summary (bench/csp/results.json): each case's
// median rate, wirechan beside the three core.async ports.
import { headline, type Headline } from "../shared/results.js";
import { CASES, LIBS } from "./config.js";
import type { ResultTable } from "./stats.js";

export function cspHeadlines(table: ResultTable): Headline[] {
  const peers = LIBS.filter((lib) => lib.name !== "wirechan");
  return CASES.map((spec) => {
    const cells = table.get(spec.name);
    return headline(
      spec.name,
      `${spec.name}: in-process channel ${spec.capacity === 0 ? "ping-pong" : `transfers, buffer ${spec.capacity}`}`,
      spec.unit,
      "higher",
      cells?.get("wirechan")?.median,
      peers.map((lib) => [lib.label, cells?.get(lib.name)?.median] as const),
    );
  });
}
