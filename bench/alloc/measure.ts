// One row of the allocation suite once: bench:protocol's two children for that row (a fresh
// server process and a fresh client process), the row's warm-up round trips, then measured round
// trips with V8's sampling heap profiler on in both processes (bench/shared/children/allocation.mjs).
import { Child, type Reply } from "../shared/child.js";
import { runRowOfChildren } from "../shared/row-run.js";
import { CLIENT_ENTRY, SERVER_ENTRY } from "../protocol/measure.js";
import type { RowSpec } from "../protocol/config.js";

/** Round trips before the measured ones, long enough for the optimizing compiler (its escape analysis removes allocations): fast rows, then HTTP rows. */
export const WARMUP = { fast: 10_000, slow: 1_000 } as const;
/** Measured round trips: megabytes of allocation either way, so that the sampled sum repeats. */
export const MEASURED = { fast: 2_000, slow: 300 } as const;
/** A row (both processes, every phase) that takes longer is killed and fails. */
const ROW_TIMEOUT_MS = 60_000;
const RTT_TIME_LIMIT_MS = 30_000;

export interface AllocationResult {
  readonly row: RowSpec["name"];
  readonly roundTrips: number;
  /** Bytes allocated per round trip, as sampled, by each process. */
  readonly serverBytes: number;
  readonly clientBytes: number;
}

export type AllocationOutcome = { readonly ok: true; readonly result: AllocationResult } | { readonly ok: false; readonly row: RowSpec["name"]; readonly reason: string };

function bytesOf(reply: Reply): number {
  const bytes = reply["bytes"];
  if (typeof bytes !== "number" || !Number.isFinite(bytes)) throw new Error(`no byte count in ${JSON.stringify(reply).slice(0, 200)}`);
  return bytes;
}

async function measure(spec: RowSpec, children: Child[]): Promise<AllocationResult> {
  const server = new Child(`server ${spec.server}`, SERVER_ENTRY, [spec.server], [], 20_000);
  children.push(server);
  const client = new Child(`client ${spec.name}`, CLIENT_ENTRY, [spec.name], [], 20_000);
  children.push(client);
  const [ready] = await Promise.all([server.ready, client.ready]);
  const port = ready["port"];
  if (typeof port !== "number") throw new Error("the server named no port");
  await client.request({ cmd: "connect", port }, 20_000);
  const pace = spec.slow ? "slow" : "fast";
  const timeout = RTT_TIME_LIMIT_MS + 10_000;
  await client.request({ cmd: "rtt", from: 0, count: WARMUP[pace], timeLimitMs: RTT_TIME_LIMIT_MS }, timeout);
  await Promise.all([server.request({ cmd: "allocStart" }, 5_000), client.request({ cmd: "allocStart" }, 5_000)]);
  const rtt = await client.request({ cmd: "rtt", from: WARMUP[pace], count: MEASURED[pace], timeLimitMs: RTT_TIME_LIMIT_MS }, timeout);
  const [serverBytes, clientBytes] = await Promise.all([server.request({ cmd: "allocStop" }, 10_000), client.request({ cmd: "allocStop" }, 10_000)]);
  const roundTrips = MEASURED[pace];
  if (rtt["roundTrips"] !== roundTrips) throw new Error(`${String(rtt["roundTrips"])} of ${roundTrips} round trips in ${RTT_TIME_LIMIT_MS} ms`);
  await client.request({ cmd: "close" }, 5_000);
  return { row: spec.name, roundTrips, serverBytes: bytesOf(serverBytes) / roundTrips, clientBytes: bytesOf(clientBytes) / roundTrips };
}

/** One run of a row, both processes stopped afterwards whatever happened; never rejects. */
export async function runAllocationRow(spec: RowSpec): Promise<AllocationOutcome> {
  const outcome = await runRowOfChildren(ROW_TIMEOUT_MS, (children) => measure(spec, children));
  return outcome.ok ? { ok: true, result: outcome.value } : { ok: false, row: spec.name, reason: outcome.reason };
}
