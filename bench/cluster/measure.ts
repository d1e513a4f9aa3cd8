// One row of the cluster benchmark: a counter on the engine, NODES fresh node processes under a
// fresh prefix, one fresh load generator per node whose clients connect to that node directly,
// then a fixed rate and a max rate of broadcasts made on node 0 only (the phases of
// bench/shared/children/broadcast-server.mjs, acked by every load generator on node 0's control
// port), a check that every client got every message exactly once and in order, and what crossed
// the backplane per broadcast.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { type BackplaneCounter, type Counts, countDelta, natsCounter, otherDelta, redisCounter } from "./backplane-count.js";
import { soleProcessNamed, totalCpuMs } from "./process-cpu.js";
import { num } from "../shared/broadcast-measure.js";
import { Child, type Reply } from "../shared/child.js";
import { cpuProfileFlags } from "../shared/profile.js";
import { runRowOfChildren } from "../shared/row-run.js";
import {
  CONNECT_CONCURRENCY,
  CONNECT_TIMEOUT_MS,
  COUNT_QUIET_MS,
  FIXED_HZ,
  FIXED_ROUNDS,
  FIXED_WARMUP_ROUNDS,
  MAX_MEASURE_MS,
  MAX_ROUNDS,
  MAX_WARMUP_MS,
  MAX_WINDOW,
  NODES,
  ROW_TIMEOUT_MS,
  type CaseSpec,
  type ClusterImpl,
  implSpec,
} from "./config.js";

const NODE_ENTRY = fileURLToPath(new URL("./children/node.mjs", import.meta.url));

export interface EngineUrls {
  readonly redis: string;
  readonly nats: string;
}

/** What crossed the backplane in a phase, per broadcast made. */
export interface PhaseCount {
  readonly broadcasts: number;
  /** Messages on the broadcast's own channel or subject, per broadcast. */
  readonly perBroadcast: number;
  /** Messages on the row's other channels (heartbeats, requests), per second of the phase. */
  readonly otherPerSecond: number;
}

/** Who spent the machine's CPU during the max-rate phase. */
export const CPU_GROUPS = ["node0", "otherNodes", "loadgens", "engine", "harness"] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

/** Each group's CPU per delivery in the max-rate phase, µs; null where /proc could not say. */
export type CpuPerDelivery = Readonly<Record<CpuGroup, number | null>>;

export interface Measurement {
  readonly caseName: CaseSpec["name"];
  readonly impl: ClusterImpl;
  readonly clients: number;
  readonly clientsPerNode: readonly number[];
  /** Max-rate phase: deliveries (messages received by a client, all nodes) per second. */
  readonly throughput: number;
  readonly maxRounds: number;
  /** Fixed-rate phase, ms from node 0's send timestamp to the client's receive. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly count: { readonly fixed: PhaseCount; readonly max: PhaseCount };
  readonly cpuPerDelivery: CpuPerDelivery;
  /** CPU of every group together over the max-rate phase's wall time: how many cores were busy. */
  readonly busyCores: number | null;
  /** Redis only: the server's PUBLISH commands (every client of it) per broadcast in the max-rate phase. */
  readonly serverPublishesPerBroadcast: number | null;
}

export type Outcome =
  | { readonly ok: true; readonly measurement: Measurement }
  | { readonly ok: false; readonly caseName: CaseSpec["name"]; readonly impl: ClusterImpl; readonly reason: string };

function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** The CPU ms of every group now. */
function cpuReading(groups: Readonly<Record<CpuGroup, readonly number[]>>): Record<CpuGroup, number | null> {
  return Object.fromEntries(CPU_GROUPS.map((g) => [g, totalCpuMs(groups[g])])) as Record<CpuGroup, number | null>;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function nearestRank(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Waits until node i counts `expected[i]` clients of its own. */
async function awaitClients(nodes: readonly Child[], expected: readonly number[]): Promise<void> {
  for (let waited = 0; ; waited += 100) {
    const seen = await Promise.all(nodes.map(async (node) => num(await node.request({ cmd: "clients" }, 5_000), "clients")));
    if (seen.every((count, i) => count === expected[i])) return;
    if (waited > 15_000) throw new Error(`nodes see ${seen.join("/")} clients, expected ${expected.join("/")}`);
    await pause(100);
  }
}

/** A phase's counts between two snapshots: the broadcast's channel against the rest. */
function phaseCount(before: Counts, after: Counts, channel: string, broadcasts: number, wallMs: number): PhaseCount {
  return { broadcasts, perBroadcast: countDelta(before, after, channel) / broadcasts, otherPerSecond: otherDelta(before, after, channel) / (wallMs / 1000) };
}

/**
 * Every client's account, merged: exactly `expected[phase]` deliveries per phase, nothing
 * unparsable, out of order, twice or troubled; returns the fixed-rate latencies, sorted.
 */
function checkReports(reports: readonly Reply[], expected: readonly number[]): Float64Array {
  const got = [0, 0, 0];
  const latencies: number[] = [];
  for (const report of reports) {
    (report["received"] as number[]).forEach((count, phase) => (got[phase]! += count));
    for (const key of ["badMessages", "outOfOrder"]) if (num(report, key) !== 0) throw new Error(`clients counted ${num(report, key)} ${key}`);
    if (typeof report["problems"] === "string" && report["problems"] !== "") throw new Error(`clients: ${report["problems"]}`);
    latencies.push(...(report["samples"] as number[]));
  }
  got.forEach((count, phase) => {
    if (count !== expected[phase]) throw new Error(`phase ${phase}: clients received ${count} messages, expected ${expected[phase]} (exactly once each)`);
  });
  return Float64Array.from(latencies).sort();
}

async function measure(
  spec: CaseSpec,
  impl: ClusterImpl,
  urls: EngineUrls,
  profileDir: string | null,
  children: Child[],
  counters: BackplaneCounter[],
): Promise<Measurement> {
  const { engine, loadgen, broadcastChannel } = implSpec(impl);
  // Unique per row: nodes of two rows (or of anyone else on this Redis or NATS) never meet.
  const prefix = `wcbench_${randomBytes(6).toString("hex")}.`;
  const url = urls[engine];
  const counter = await (engine === "redis" ? redisCounter(url, prefix) : natsCounter(url, prefix));
  counters.push(counter);

  const row = `${impl}-${spec.name}`;
  const nodes = Array.from(
    { length: NODES },
    (_, i) => new Child(`node ${i} (${row})`, NODE_ENTRY, [impl, prefix, url], ["--expose-gc", ...cpuProfileFlags(profileDir, row, `node${i}`)], 20_000),
  );
  children.push(...nodes);
  const ready = await Promise.all(nodes.map((node) => node.ready));
  const loadgenEntry = fileURLToPath(new URL(loadgen.entry, import.meta.url));
  const loadgens = nodes.map((_, i) => new Child(`loadgen ${i} (${row})`, loadgenEntry, [loadgen.kind], cpuProfileFlags(profileDir, row, `loadgen${i}`), 20_000));
  children.push(...loadgens);
  await Promise.all(loadgens.map((l) => l.ready));

  const perNode = shares(spec.clients, NODES);
  // Every load generator acks on node 0's control port: node 0 runs the phases.
  const controlPort = num(ready[0]!, "controlPort");
  await Promise.all(
    loadgens.map((l, i) =>
      l.request(
        { cmd: "connect", url: `http://127.0.0.1:${num(ready[i]!, "port")}`, n: perNode[i], concurrency: CONNECT_CONCURRENCY, controlPort },
        CONNECT_TIMEOUT_MS,
      ),
    ),
  );
  await awaitClients(nodes, perNode);
  await Promise.all(loadgens.map((l, i) => l.request({ cmd: "expectLatencies", samples: perNode[i]! * FIXED_ROUNDS }, 5_000)));

  const publisher = nodes[0]!;
  const fixedBroadcasts = FIXED_WARMUP_ROUNDS + FIXED_ROUNDS;
  const t0 = performance.now();
  const c0 = counter.snapshot();
  await publisher.request({ cmd: "fixed", hz: FIXED_HZ, warmupRounds: FIXED_WARMUP_ROUNDS, rounds: FIXED_ROUNDS, phase: 1 }, (fixedBroadcasts / FIXED_HZ) * 1000 + 30_000);
  await counter.settle(COUNT_QUIET_MS, 5_000);
  const t1 = performance.now();
  const c1 = counter.snapshot();
  const engineServer = soleProcessNamed(engine === "redis" ? "redis-server" : "nats-server");
  const groups: Record<CpuGroup, readonly number[]> = {
    node0: [publisher.pid],
    otherNodes: nodes.slice(1).map((node) => node.pid),
    loadgens: loadgens.map((l) => l.pid),
    engine: engineServer === null ? [-1] : [engineServer],
    harness: [process.pid],
  };
  const serverBefore = await counter.serverPublishes();
  const cpuBefore = cpuReading(groups);
  const maxStart = performance.now();
  const max = await publisher.request(
    { cmd: "max", window: MAX_WINDOW, warmupMs: MAX_WARMUP_MS, measureMs: MAX_MEASURE_MS, maxRounds: MAX_ROUNDS, loadgens: NODES, phase: 2 },
    MAX_WARMUP_MS + MAX_MEASURE_MS + 30_000,
  );
  const cpuAfter = cpuReading(groups);
  const maxWallMs = performance.now() - maxStart;
  const serverAfter = await counter.serverPublishes();
  await counter.settle(COUNT_QUIET_MS, 5_000);
  const t2 = performance.now();
  const c2 = counter.snapshot();

  // Max rate ends only once every round was acked, and each client receives in order, so by now
  // every message of every phase has arrived: the counts must be exact.
  const reports = await Promise.all(loadgens.map((l) => l.request({ cmd: "report", withSamples: true }, 30_000)));
  const maxBroadcasts = num(max, "totalRounds");
  const n = spec.clients;
  const latencies = checkReports(reports, [n * FIXED_WARMUP_ROUNDS, n * FIXED_ROUNDS, n * maxBroadcasts]);
  const channel = broadcastChannel(prefix);
  const maxRounds = num(max, "rounds");
  const maxDeliveries = maxBroadcasts * n;
  const spent = (g: CpuGroup): number | null => {
    const [before, after] = [cpuBefore[g], cpuAfter[g]];
    return before === null || after === null ? null : after - before;
  };
  const cpuPerDelivery = Object.fromEntries(CPU_GROUPS.map((g) => [g, spent(g) === null ? null : (spent(g)! * 1000) / maxDeliveries])) as Record<CpuGroup, number | null>;
  const spentAll = CPU_GROUPS.map(spent);
  return {
    caseName: spec.name,
    impl,
    clients: n,
    clientsPerNode: perNode,
    throughput: (maxRounds * n) / (num(max, "elapsedMs") / 1000),
    maxRounds,
    p50Ms: nearestRank(latencies, 0.5),
    p99Ms: nearestRank(latencies, 0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    count: {
      fixed: phaseCount(c0, c1, channel, fixedBroadcasts, t1 - t0),
      max: phaseCount(c1, c2, channel, maxBroadcasts, t2 - t1),
    },
    cpuPerDelivery,
    busyCores: spentAll.some((v) => v === null) ? null : spentAll.reduce<number>((a, v) => a + (v ?? 0), 0) / maxWallMs,
    serverPublishesPerBroadcast: serverBefore === null || serverAfter === null ? null : (serverAfter - serverBefore) / maxBroadcasts,
  };
}

/**
 * One row with every child stopped and the counter closed afterwards, whatever happened; never
 * rejects. With a `profileDir`, every child writes a V8 CPU profile there when it exits.
 */
export async function runRow(spec: CaseSpec, impl: ClusterImpl, urls: EngineUrls, profileDir: string | null): Promise<Outcome> {
  const counters: BackplaneCounter[] = [];
  const outcome = await runRowOfChildren(
    ROW_TIMEOUT_MS,
    (children) => measure(spec, impl, urls, profileDir, children, counters),
    async () => {
      for (const counter of counters) await counter.close();
    },
  );
  return outcome.ok ? { ok: true, measurement: outcome.value } : { ok: false, caseName: spec.name, impl, reason: outcome.reason };
}
