// Runs one (case, implementation) measurement with bench/shared/broadcast-measure.ts: a fresh
// server process, fresh load-generator processes, connect (and subscribe) → idle RSS → fixed
// rate → max rate, every message checked once and in order; adds the load generators' CPU per
// delivery (children/client-cpu.mjs) and the server's HTTP requests per delivery
// (children/http-traffic.mjs).
import { fileURLToPath } from "node:url";
import { type BroadcastResult, casePhases, num, runBroadcastRow } from "../shared/broadcast-measure.js";
import { cpuProfileFlags } from "../shared/profile.js";
import { LOADGENS, PHASES, type CaseSpec, type LongpollImpl } from "./config.js";

const SERVER_ENTRY = fileURLToPath(new URL("./children/server.mjs", import.meta.url));
const LOADGEN_ENTRY = fileURLToPath(new URL("./children/loadgen.mjs", import.meta.url));

export interface Measurement {
  readonly caseName: CaseSpec["name"];
  readonly impl: LongpollImpl;
  readonly throughput: number;
  readonly maxRounds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU µs per delivery, fixed rate and max rate. */
  readonly serverUsFixed: number;
  readonly serverUsMax: number;
  /** Load generators' CPU µs per delivery (both processes summed), fixed rate and max rate. */
  readonly clientUsFixed: number;
  readonly clientUsMax: number;
  /** HTTP requests the server got per delivery, and the GETs (polls) among them, fixed and max rate. */
  readonly requestsFixed: number;
  readonly pollsFixed: number;
  readonly requestsMax: number;
  readonly pollsMax: number;
}

export type Outcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly caseName: CaseSpec["name"]; readonly impl: LongpollImpl; readonly reason: string };

/** The load generators' CPU per delivery in each window (client-cpu.mjs says what a window is). */
function clientCpu(result: BroadcastResult): { fixed: number; max: number } {
  let fixedMicros = 0;
  let fixedDeliveries = 0;
  let maxMicros = 0;
  let maxDeliveries = 0;
  for (const r of result.reports) {
    fixedMicros += num(r, "cpuFixedMicros");
    fixedDeliveries += (r["received"] as number[])[1] ?? 0;
    maxMicros += num(r, "cpuMaxMicros");
    maxDeliveries += num(r, "maxDeliveriesTimed");
  }
  return { fixed: fixedMicros / fixedDeliveries, max: maxMicros / maxDeliveries };
}

/** One measurement with every child stopped afterwards, whatever happened; never rejects. */
export async function runCase(spec: CaseSpec, impl: LongpollImpl, profileDir: string | null): Promise<Outcome> {
  const row = `${impl}-${spec.name}`;
  const outcome = await runBroadcastRow(
    {
      serverEntry: SERVER_ENTRY,
      serverArgs: [impl],
      loadgenEntry: LOADGEN_ENTRY,
      loadgenArgs: [impl],
      label: row,
      clients: spec.clients,
      loadgens: LOADGENS,
      url: (port) => `http://127.0.0.1:${port}`,
      nodeFlags: (role, index) => cpuProfileFlags(profileDir, row, `${role}${index + 1}`),
    },
    casePhases(PHASES, spec),
  );
  if (!outcome.ok) return { ok: false, caseName: spec.name, impl, reason: outcome.reason };
  const r = outcome.result;
  const client = clientCpu(r);
  return {
    ok: true,
    measurement: {
      caseName: spec.name,
      impl,
      throughput: r.throughput,
      maxRounds: r.maxRounds,
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      serverUsFixed: r.cpuUsPerDelivery,
      serverUsMax: r.cpuUsPerDeliveryMax,
      clientUsFixed: client.fixed,
      clientUsMax: client.max,
      // http-traffic.mjs counts every request as "received" and the GETs as "sent".
      requestsFixed: r.traffic.fixed.received,
      pollsFixed: r.traffic.fixed.sent,
      requestsMax: r.traffic.max.received,
      pollsMax: r.traffic.max.sent,
    },
  };
}
