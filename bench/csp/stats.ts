// Turns individual runs into medians and wirechan-vs-peer ratios.
import { CASES, LIBS, TARGET_VS_FASTEST_PEER, TARGET_VS_JS_CSP, type CaseName, type LibName } from "./config.js";
import { median } from "../shared/stats.js";
import type { Measurement } from "./spawn-child.js";


export interface Cell {
  /** ops/s of every successful run, in run order. */
  readonly runs: readonly number[];
  /** Undefined when any run of this cell failed: a partial median would hide the failure. */
  readonly median: number | undefined;
}

export type ResultTable = ReadonlyMap<CaseName, ReadonlyMap<LibName, Cell>>;

export function buildTable(
  measurements: readonly Measurement[],
  failed: ReadonlySet<string>,
  libs: readonly LibName[],
): ResultTable {
  const table = new Map<CaseName, Map<LibName, Cell>>();
  for (const spec of CASES) {
    const row = new Map<LibName, Cell>();
    for (const lib of libs) {
      const runs = measurements.filter((m) => m.lib === lib && m.caseName === spec.name).map((m) => m.opsPerSec);
      const complete = !failed.has(cellKey(lib, spec.name)) && runs.length > 0;
      row.set(lib, { runs, median: complete ? median(runs) : undefined });
    }
    table.set(spec.name, row);
  }
  return table;
}

export function cellKey(lib: LibName, caseName: CaseName): string {
  return `${lib}/${caseName}`;
}

export interface CaseRatios {
  readonly caseName: CaseName;
  /** wirechan median / peer median, per peer that has a median. */
  readonly vsPeer: ReadonlyMap<LibName, number>;
  readonly fastestPeer: LibName | undefined;
  readonly vsFastestPeer: number | undefined;
  readonly vsJsCsp: number | undefined;
  readonly fastestPeerTargetMet: boolean | undefined;
  readonly jsCspTargetMet: boolean | undefined;
}

/** Ratios are only meaningful when wirechan and every peer produced a median. */
export function computeRatios(table: ResultTable): CaseRatios[] {
  const peers = LIBS.map((lib) => lib.name).filter((name) => name !== "wirechan");
  return CASES.map(function ratiosForCase(spec): CaseRatios {
    const row = table.get(spec.name);
    const ours = row?.get("wirechan")?.median;
    const vsPeer = new Map<LibName, number>();
    let fastestPeer: LibName | undefined;
    let fastestRate = 0;
    let allPeersPresent = true;
    for (const peer of peers) {
      const rate = row?.get(peer)?.median;
      if (rate === undefined) {
        allPeersPresent = false;
        continue;
      }
      if (ours !== undefined) vsPeer.set(peer, ours / rate);
      if (rate > fastestRate) {
        fastestRate = rate;
        fastestPeer = peer;
      }
    }
    const vsFastestPeer = ours !== undefined && allPeersPresent ? ours / fastestRate : undefined;
    const vsJsCsp = vsPeer.get("js-csp");
    return {
      caseName: spec.name,
      vsPeer,
      fastestPeer: allPeersPresent ? fastestPeer : undefined,
      vsFastestPeer,
      vsJsCsp,
      fastestPeerTargetMet: vsFastestPeer === undefined ? undefined : vsFastestPeer >= TARGET_VS_FASTEST_PEER,
      jsCspTargetMet: vsJsCsp === undefined ? undefined : vsJsCsp >= TARGET_VS_JS_CSP,
    };
  });
}
