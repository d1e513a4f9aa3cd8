// Runs one (case, implementation) measurement: a fresh server process, fresh load-generator
// processes, then connect → idle RSS → fixed rate → max rate, and checks every delivery arrived.
import { fileURLToPath } from "node:url";
import { Child, type Reply } from "../shared/child.js";
import {
  CASE_TIMEOUT_MS,
  CONNECT_CONCURRENCY,
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

export interface Measurement {
  readonly caseName: CaseSpec["name"];
  readonly impl: ServerImpl;
  readonly clients: number;
  /** Max-rate phase: deliveries (messages received by a client) per second. */
  readonly throughput: number;
  readonly maxRounds: number;
  /** Fixed-rate phase, ms from the server's send timestamp to the client's receive callback. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Fixed-rate phase: server CPU (user + system) per delivery, µs. */
  readonly cpuUsPerDelivery: number;
  /** Max-rate phase: server CPU per delivery, µs (for reference; the target is on the fixed rate). */
  readonly cpuUsPerDeliveryMax: number;
  /** (RSS with every client connected and idle - RSS before any) / clients, bytes, after GC. */
  readonly rssPerClient: number;
}

export type Outcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly caseName: CaseSpec["name"]; readonly impl: ServerImpl; readonly reason: string };

const num = (reply: Reply, key: string): number => {
  const value = reply[key];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`bad ${key} in ${JSON.stringify(reply).slice(0, 300)}`);
  return value;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

async function measure(spec: CaseSpec, impl: ServerImpl, loadgenCount: number, children: Child[]): Promise<Measurement> {
  const n = spec.clients;
  const server = new Child(`server ${impl}`, SERVER_ENTRY, [impl], ["--expose-gc"], 20_000);
  children.push(server);
  const ready = await server.ready;
  const port = num(ready, "port");
  const rssBase = num(ready, "rssBase");

  const client = implSpec(impl).client;
  const loadgens = Array.from({ length: loadgenCount }, (_, i) => new Child(`loadgen ${i + 1} (${client})`, LOADGEN_ENTRY, [client], [], 20_000));
  children.push(...loadgens);
  await Promise.all(loadgens.map((l) => l.ready));

  const url = client === "sse" ? `http://127.0.0.1:${port}/sse` : client === "ws" ? `ws://127.0.0.1:${port}/` : `http://127.0.0.1:${port}`;
  const shares = split(n, loadgenCount);
  await Promise.all(
    loadgens.map((l, i) =>
      l.request({ cmd: "connect", url, n: shares[i], concurrency: CONNECT_CONCURRENCY, controlPort: num(ready, "controlPort") }, 60_000),
    ),
  );
  // Every client is open on its side; wait until the server has counted them all too.
  for (let waited = 0; ; waited += 50) {
    const clients = num(await server.request({ cmd: "clients" }, 5_000), "clients");
    if (clients === n) break;
    if (waited > 10_000) throw new Error(`server sees ${clients} of ${n} clients`);
    await sleep(50);
  }
  const rssIdle = num(await server.request({ cmd: "rss", settleMs: IDLE_SETTLE_MS }, 20_000), "rss");

  await Promise.all(loadgens.map((l, i) => l.request({ cmd: "expectLatencies", samples: (shares[i] ?? 0) * FIXED_ROUNDS }, 5_000)));
  const fixed = await server.request({ cmd: "fixed", hz: FIXED_HZ, warmupRounds: FIXED_WARMUP_ROUNDS, rounds: FIXED_ROUNDS, phase: 1 }, 30_000);
  const max = await server.request(
    { cmd: "max", window: MAX_WINDOW, warmupMs: MAX_WARMUP_MS, measureMs: MAX_MEASURE_MS, maxRounds: MAX_ROUNDS, loadgens: loadgenCount, phase: 2 },
    30_000,
  );
  // Max rate ends only once every round was acked, and each client receives in order, so by
  // now every message of every phase has arrived: the counts below must be exact.
  const reports = await Promise.all(loadgens.map((l) => l.request({ cmd: "report", withSamples: loadgenCount > 1 }, 30_000)));

  const received = [0, 0, 0];
  let samples: number[] = [];
  for (const r of reports) {
    const counts = r["received"] as number[];
    for (let p = 0; p < 3; p++) received[p]! += counts[p] ?? 0;
    if (num(r, "badMessages") !== 0) throw new Error(`${num(r, "badMessages")} unparsable messages`);
    if (loadgenCount > 1) samples = samples.concat(r["samples"] as number[]);
  }
  const maxTotalRounds = num(max, "totalRounds");
  const expected = [n * FIXED_WARMUP_ROUNDS, n * FIXED_ROUNDS, n * maxTotalRounds];
  for (let p = 0; p < 3; p++) {
    if (received[p] !== expected[p]) throw new Error(`phase ${p}: clients received ${received[p]} messages, expected ${expected[p]}`);
  }
  let p50: number;
  let p99: number;
  let maxMs: number;
  if (loadgenCount > 1) {
    samples.sort((a, b) => a - b);
    p50 = percentile(samples, 0.5);
    p99 = percentile(samples, 0.99);
    maxMs = samples[samples.length - 1] ?? NaN;
  } else {
    const only = reports[0]!;
    p50 = num(only, "p50");
    p99 = num(only, "p99");
    maxMs = num(only, "max");
  }
  const maxRounds = num(max, "rounds");
  return {
    caseName: spec.name,
    impl,
    clients: n,
    throughput: (maxRounds * n) / (num(max, "elapsedMs") / 1000),
    maxRounds,
    p50Ms: p50,
    p99Ms: p99,
    maxMs,
    cpuUsPerDelivery: num(fixed, "cpuMicros") / (num(fixed, "rounds") * n),
    cpuUsPerDeliveryMax: num(max, "cpuMicros") / (maxRounds * n),
    rssPerClient: (rssIdle - rssBase) / n,
  };
}

/** One measurement with every child killed afterwards, whatever happened; never rejects. */
export async function runCase(spec: CaseSpec, impl: ServerImpl, loadgenCount: number): Promise<Outcome> {
  const children: Child[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`killed after the ${CASE_TIMEOUT_MS / 1000} s case timeout`)), CASE_TIMEOUT_MS);
  });
  try {
    const measurement = await Promise.race([measure(spec, impl, loadgenCount, children), timeout]);
    return { ok: true, measurement };
  } catch (error) {
    return { ok: false, caseName: spec.name, impl, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
    await Promise.all(children.map((c) => c.kill()));
  }
}
