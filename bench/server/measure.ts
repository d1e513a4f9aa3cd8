// Runs one (case, implementation) measurement with bench/shared/broadcast-measure.ts: a fresh
// server process, fresh load-generator processes, then connect → idle RSS → fixed rate → max
// rate, and checks every delivery arrived.
import { fileURLToPath } from "node:url";
import { type BroadcastPhases, type BroadcastResult, runBroadcastRow } from "../shared/broadcast-measure.js";
import {
  CASE_TIMEOUT_MS,
  CONNECT_CONCURRENCY,
  WARMUP_CLIENTS,
  FIXED_HZ,
  FIXED_ROUNDS,
  FIXED_WARMUP_ROUNDS,
  IDLE_SETTLE_MS,
  MAX_MEASURE_MS,
  MAX_ROUNDS,
  MAX_WARMUP_MS,
  MAX_WINDOW,
  implSpec,
  type CaseSpec,
  type ServerImpl,
} from "./config.js";

const SERVER_ENTRY = fileURLToPath(new URL("./children/server.mjs", import.meta.url));
const LOADGEN_ENTRY = fileURLToPath(new URL("./children/loadgen.mjs", import.meta.url));

export interface Measurement extends BroadcastResult {
  readonly caseName: CaseSpec["name"];
  readonly impl: ServerImpl;
}

export type Outcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly caseName: CaseSpec["name"]; readonly impl: ServerImpl; readonly reason: string };

const PHASES: BroadcastPhases = {
  connectConcurrency: CONNECT_CONCURRENCY,
  warmupClients: WARMUP_CLIENTS,
  idleSettleMs: IDLE_SETTLE_MS,
  fixedHz: FIXED_HZ,
  fixedWarmupRounds: FIXED_WARMUP_ROUNDS,
  fixedRounds: FIXED_ROUNDS,
  maxWindow: MAX_WINDOW,
  maxWarmupMs: MAX_WARMUP_MS,
  maxMeasureMs: MAX_MEASURE_MS,
  maxRounds: MAX_ROUNDS,
  connectTimeoutMs: 60_000,
  rowTimeoutMs: CASE_TIMEOUT_MS,
};

/** One measurement with every child stopped afterwards, whatever happened; never rejects. */
export async function runCase(spec: CaseSpec, impl: ServerImpl, loadgenCount: number): Promise<Outcome> {
  const client = implSpec(impl).client;
  const outcome = await runBroadcastRow(
    {
      serverEntry: SERVER_ENTRY,
      serverArgs: [impl],
      loadgenEntry: LOADGEN_ENTRY,
      loadgenArgs: [client],
      label: `${impl} (${client})`,
      clients: spec.clients,
      loadgens: loadgenCount,
      url: (port) => (client === "sse" ? `http://127.0.0.1:${port}/sse` : client === "ws" ? `ws://127.0.0.1:${port}/` : `http://127.0.0.1:${port}`),
    },
    PHASES,
  );
  if (!outcome.ok) return { ok: false, caseName: spec.name, impl, reason: outcome.reason };
  return { ok: true, measurement: { ...outcome.result, caseName: spec.name, impl } };
}
