// Runs one row once: a fresh server process and a fresh client process, then connect →
// round trips (warm-up, measured) → the same with both processes on one core → one throughput
// phase per variant → health check.
import { fileURLToPath } from "node:url";
import os from "node:os";
import { affinityOf, pinProcesses } from "../shared/affinity.js";
import { Child, type Reply } from "../shared/child.js";
import { runRowOfChildren } from "../shared/row-run.js";
import {
  ROW_TIMEOUT_MS,
  RTT_COUNT,
  RTT_COUNT_SLOW,
  RTT_TIME_LIMIT_MS,
  RTT_WARMUP,
  RTT_WARMUP_SLOW,
  THROUGHPUT_TIME_LIMIT_MS,
  THROUGHPUT_VALUES,
  type RowName,
  type RowSpec,
  type Variant,
} from "./config.js";

/** The children of a row (the allocation suite, bench/alloc, runs them too). */
export const SERVER_ENTRY = fileURLToPath(new URL("./children/server.mjs", import.meta.url));
export const CLIENT_ENTRY = fileURLToPath(new URL("./children/client.mjs", import.meta.url));

export interface RttResult {
  readonly roundTrips: number;
  readonly p50Ms: number;
  /** The p50 of the first and of the second half of the measured round trips, in the order made. */
  readonly firstHalfP50Ms: number;
  readonly secondHalfP50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Measured round trips / their wall time (one after another, never two at once). */
  readonly perSecond: number;
  /** CPU (user + system) per round trip, µs, of the server and of the client process. */
  readonly serverCpuUs: number;
  readonly clientCpuUs: number;
  /** Transport messages (or HTTP requests) per round trip, client to server and back (see the client's `traffic`). */
  readonly upPerRt: number;
  readonly downPerRt: number;
}

export interface ThroughputResult {
  readonly variant: Variant;
  /** Values the server's sink counted. */
  readonly values: number;
  /** False when sending stopped at the time limit before every value was sent. */
  readonly complete: boolean;
  /** values / (time the server counted the last one - time the client started sending). */
  readonly perSecond: number;
  readonly elapsedMs: number;
  readonly serverCpuUsPerValue: number;
  readonly clientCpuUsPerValue: number;
}

export interface Measurement {
  readonly row: RowName;
  readonly rtt: RttResult;
  /** The round trips again with server and client pinned to one core; null where taskset could not pin them. */
  readonly rttOneCore: RttResult | null;
  readonly throughput: readonly ThroughputResult[];
}

export type Outcome = { readonly ok: true; readonly measurement: Measurement } | { readonly ok: false; readonly row: RowName; readonly reason: string };

const num = (reply: Reply, key: string): number => {
  const value = reply[key];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`bad ${key} in ${JSON.stringify(reply).slice(0, 300)}`);
  return value;
};

async function serverCpu(server: Child): Promise<number> {
  const reply = await server.request({ cmd: "cpu" }, 5_000);
  return num(reply, "user") + num(reply, "system");
}

async function measureRtt(spec: RowSpec, server: Child, client: Child): Promise<RttResult> {
  const warmup = spec.slow ? RTT_WARMUP_SLOW : RTT_WARMUP;
  const count = spec.slow ? RTT_COUNT_SLOW : RTT_COUNT;
  await client.request({ cmd: "rtt", from: 0, count: warmup, timeLimitMs: RTT_TIME_LIMIT_MS }, RTT_TIME_LIMIT_MS + 10_000);
  const cpuBefore = await serverCpu(server);
  const r = await client.request({ cmd: "rtt", from: warmup, count, timeLimitMs: RTT_TIME_LIMIT_MS }, RTT_TIME_LIMIT_MS + 10_000);
  const cpuAfter = await serverCpu(server);
  const roundTrips = num(r, "roundTrips");
  if (roundTrips < 100) throw new Error(`only ${roundTrips} round trips in ${RTT_TIME_LIMIT_MS} ms`);
  return {
    roundTrips,
    p50Ms: num(r, "p50"),
    firstHalfP50Ms: num(r, "firstHalfP50"),
    secondHalfP50Ms: num(r, "secondHalfP50"),
    p99Ms: num(r, "p99"),
    meanMs: num(r, "mean"),
    perSecond: roundTrips / (num(r, "elapsedMs") / 1000),
    serverCpuUs: (cpuAfter - cpuBefore) / roundTrips,
    clientCpuUs: num(r, "clientCpuMicros") / roundTrips,
    upPerRt: num(r, "up") / roundTrips,
    // A negative count means the client could not count (SSE events over node:http).
    downPerRt: num(r, "down") < 0 ? Number.NaN : num(r, "down") / roundTrips,
  };
}

/**
 * The round trips with the server on CPU `serverCpu` and the client on `clientCpu`, then both
 * back on the CPUs they had for what follows; null where taskset cannot pin them.
 */
async function measureRttPinned(spec: RowSpec, server: Child, client: Child, serverCpu: string, clientCpu: string): Promise<RttResult | null> {
  const pids = [server.pid, client.pid];
  const cpus = affinityOf(server.pid);
  if (cpus === null || !pinProcesses([server.pid], serverCpu) || !pinProcesses([client.pid], clientCpu)) {
    if (cpus !== null) pinProcesses(pids, cpus);
    return null;
  }
  let result: RttResult;
  try {
    result = await measureRtt(spec, server, client);
  } finally {
    // Back where they were even when the round trips failed: a row's failure stays its own.
    pinProcesses(pids, cpus);
  }
  return result;
}

/**
 * The round trips on two cores as the issue measured them, the server on CPU 0 and the client
 * on CPU 1: left to the scheduler, the two sometimes shared a core and sometimes not, and a
 * row's p50 moved by 2x from round to round (0.025 to 0.056 ms for raw ws). Unpinned where
 * taskset cannot pin them, or on a single CPU.
 */
async function measureRttApart(spec: RowSpec, server: Child, client: Child): Promise<RttResult> {
  return (os.availableParallelism() >= 2 ? await measureRttPinned(spec, server, client, "0", "1") : null) ?? (await measureRtt(spec, server, client));
}

async function measureThroughput(variant: Variant, server: Child, client: Child): Promise<ThroughputResult> {
  const n = THROUGHPUT_VALUES;
  await server.request({ cmd: "expect", n }, 5_000);
  const cpuBefore = await serverCpu(server);
  // The server answers once it counted every value (or the values the client managed to send).
  const arrived = server.request({ cmd: "waitDone", timeoutMs: THROUGHPUT_TIME_LIMIT_MS + 15_000 }, THROUGHPUT_TIME_LIMIT_MS + 20_000);
  arrived.catch(() => {});
  const sent = await client.request({ cmd: "throughput", variant, n, timeLimitMs: THROUGHPUT_TIME_LIMIT_MS }, THROUGHPUT_TIME_LIMIT_MS + 20_000);
  const sentCount = num(sent, "sent");
  if (sentCount < n) await server.request({ cmd: "setExpected", n: sentCount }, 5_000);
  const done = await arrived;
  const cpuAfter = await serverCpu(server);
  const values = num(done, "count");
  if (done["done"] !== true) throw new Error(`${variant}: the server counted ${values} of the ${sentCount} values sent`);
  if (values !== sentCount) throw new Error(`${variant}: the server counted ${values} values, the client sent ${sentCount}`);
  const elapsedMs = num(done, "doneAt") - num(sent, "startAt");
  return {
    variant,
    values,
    complete: sentCount === n,
    perSecond: values / (elapsedMs / 1000),
    elapsedMs,
    serverCpuUsPerValue: (cpuAfter - cpuBefore) / values,
    clientCpuUsPerValue: num(sent, "clientCpuMicros") / values,
  };
}

/** `--cpu-prof` flags naming the profile after the row and the process, or none. */
function profileFlags(profileDir: string | null, role: string, row: RowName): string[] {
  if (profileDir === null) return [];
  return ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", `${row}.${role}.${Date.now()}.cpuprofile`];
}

async function measure(spec: RowSpec, profileDir: string | null, children: Child[]): Promise<Measurement> {
  const server = new Child(`server ${spec.server}`, SERVER_ENTRY, [spec.server], profileFlags(profileDir, "server", spec.name), 20_000);
  children.push(server);
  const client = new Child(`client ${spec.name}`, CLIENT_ENTRY, [spec.name], profileFlags(profileDir, "client", spec.name), 20_000);
  children.push(client);
  const [ready] = await Promise.all([server.ready, client.ready]);
  await client.request({ cmd: "connect", port: num(ready, "port") }, 20_000);
  const clients = num(await server.request({ cmd: "clients" }, 5_000), "clients");
  if (clients !== 1) throw new Error(`the server counts ${clients} clients, not 1`);

  const rtt = await measureRttApart(spec, server, client);
  const rttOneCore = await measureRttPinned(spec, server, client, "0", "0");
  const throughput: ThroughputResult[] = [];
  for (const variant of spec.variants) throughput.push(await measureThroughput(variant, server, client));

  const health = await client.request({ cmd: "health" }, 5_000);
  if (health["refused"] !== undefined && health["refused"] !== 0) throw new Error(`${String(health["refused"])} echo puts were refused`);
  if (health["stateChanges"] !== undefined && health["stateChanges"] !== "none") {
    throw new Error(`the session changed state during the row (${String(health["stateChanges"])})`);
  }
  await client.request({ cmd: "close" }, 5_000);
  return { row: spec.name, rtt, rttOneCore, throughput };
}

/**
 * One run of a row with both processes stopped afterwards, whatever happened; never rejects.
 * With a `profileDir`, both processes write a V8 CPU profile there when they exit.
 */
export async function runRow(spec: RowSpec, profileDir: string | null = null): Promise<Outcome> {
  // The children stop in reverse order: the client first, so the server does not see a dropped session while it still measures anything.
  const outcome = await runRowOfChildren(ROW_TIMEOUT_MS, (children) => measure(spec, profileDir, children));
  return outcome.ok ? { ok: true, measurement: outcome.value } : { ok: false, row: spec.name, reason: outcome.reason };
}
