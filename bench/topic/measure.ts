// Runs one (case, implementation) measurement with bench/shared/broadcast-measure.ts: a fresh
// server process, fresh load-generator processes, then connect (and subscribe) → idle RSS →
// fixed rate → max rate, and checks that every client got every message once and in order.
import { fileURLToPath } from "node:url";
import { type BroadcastPhases, type BroadcastResult, runBroadcastRow } from "../shared/broadcast-measure.js";
import {
  CONNECT_CONCURRENCY,
  CONNECT_TIMEOUT_MS,
  IDLE_SETTLE_MS,
  LOADGENS,
  MAX_MEASURE_MS,
  MAX_ROUNDS,
  MAX_WARMUP_MS,
  MAX_WINDOW,
  ROW_TIMEOUT_MS,
  type CaseSpec,
  type TopicImpl,
} from "./config.js";

const SERVER_ENTRY = fileURLToPath(new URL("./children/server.mjs", import.meta.url));
const LOADGEN_ENTRY = fileURLToPath(new URL("./children/loadgen.mjs", import.meta.url));

export interface Measurement extends BroadcastResult {
  readonly caseName: CaseSpec["name"];
  readonly impl: TopicImpl;
}

export type Outcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly caseName: CaseSpec["name"]; readonly impl: TopicImpl; readonly reason: string };

/** The phases of a case (its fixed rate is its own). */
export function phasesOf(spec: CaseSpec): BroadcastPhases {
  return {
    connectConcurrency: CONNECT_CONCURRENCY,
    idleSettleMs: IDLE_SETTLE_MS,
    fixedHz: spec.fixedHz,
    fixedWarmupRounds: spec.fixedWarmupRounds,
    fixedRounds: spec.fixedRounds,
    maxWindow: MAX_WINDOW,
    maxWarmupMs: MAX_WARMUP_MS,
    maxMeasureMs: MAX_MEASURE_MS,
    maxRounds: MAX_ROUNDS,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    rowTimeoutMs: ROW_TIMEOUT_MS,
  };
}

/** `--cpu-prof` flags naming the profile after the row and the process, or none. */
function profileFlags(profileDir: string | null, row: string, role: string, index: number): string[] {
  if (profileDir === null) return [];
  return ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${row}.${role}${index + 1}.${Date.now()}.cpuprofile`];
}

/**
 * One measurement with every child stopped afterwards, whatever happened; never rejects. With a
 * `profileDir`, every process writes a V8 CPU profile there when it exits.
 */
export async function runCase(spec: CaseSpec, impl: TopicImpl, profileDir: string | null): Promise<Outcome> {
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
      url: (port) => (impl === "ws" ? `ws://127.0.0.1:${port}/` : `http://127.0.0.1:${port}`),
      nodeFlags: (role, index) => profileFlags(profileDir, row, role, index),
    },
    phasesOf(spec),
  );
  if (!outcome.ok) return { ok: false, caseName: spec.name, impl, reason: outcome.reason };
  return { ok: true, measurement: { ...outcome.result, caseName: spec.name, impl } };
}
