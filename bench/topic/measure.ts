// Runs one (case, implementation) measurement with bench/shared/broadcast-measure.ts: a fresh
// server process, fresh load-generator processes, then connect (and subscribe) → idle RSS →
// fixed rate → max rate, and checks that every client got every message once and in order.
import { fileURLToPath } from "node:url";
import { type BroadcastResult, casePhases, runBroadcastRow } from "../shared/broadcast-measure.js";
import { cpuProfileFlags } from "../shared/profile.js";
import { LOADGENS, PHASES, type CaseSpec, type TopicImpl } from "./config.js";

const SERVER_ENTRY = fileURLToPath(new URL("./children/server.mjs", import.meta.url));
const LOADGEN_ENTRY = fileURLToPath(new URL("./children/loadgen.mjs", import.meta.url));

export interface Measurement extends BroadcastResult {
  readonly caseName: CaseSpec["name"];
  readonly impl: TopicImpl;
}

export type Outcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly caseName: CaseSpec["name"]; readonly impl: TopicImpl; readonly reason: string };

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
      nodeFlags: (role, index) => cpuProfileFlags(profileDir, row, `${role}${index + 1}`),
    },
    casePhases(PHASES, spec),
  );
  if (!outcome.ok) return { ok: false, caseName: spec.name, impl, reason: outcome.reason };
  return { ok: true, measurement: { ...outcome.result, caseName: spec.name, impl } };
}
