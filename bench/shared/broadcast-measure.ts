// One run of a broadcast benchmark's row (bench/server, bench/topic): a fresh server process and
// fresh load-generator processes (children using bench/shared/children/broadcast-server.mjs and
// load-generator.mjs), then connect → idle RSS → fixed rate → max rate, and a check that every
// client got every message exactly once and in order.
import { Child, type Reply } from "./child.js";
import { percentile } from "./children/percentile.mjs";

/** The phases' sizes, from the benchmark's config. */
export interface BroadcastPhases {
  readonly connectConcurrency: number;
  /**
   * Clients connected first, to warm up: RSS per client is counted from after them (the code
   * compiled, the pools grown), over the case's other clients, as bench/memory counts it.
   */
  readonly warmupClients: number;
  readonly idleSettleMs: number;
  readonly fixedHz: number;
  readonly fixedWarmupRounds: number;
  readonly fixedRounds: number;
  readonly maxWindow: number;
  readonly maxWarmupMs: number;
  readonly maxMeasureMs: number;
  readonly maxRounds: number;
  /** How long connecting every client may take. */
  readonly connectTimeoutMs: number;
  /** How long a row may take, all phases: then its children are killed and it fails. */
  readonly rowTimeoutMs: number;
}

/** A case's fixed rate: the part of the phases that differs between a benchmark's cases. */
export type FixedRate = Pick<BroadcastPhases, "fixedHz" | "fixedWarmupRounds" | "fixedRounds">;

/** The phases every case of a benchmark shares. */
export type SharedPhases = Omit<BroadcastPhases, keyof FixedRate>;

/** The phases of a case: the benchmark's shared ones and the case's fixed rate. */
export function casePhases(shared: SharedPhases, rate: FixedRate): BroadcastPhases {
  return { ...shared, fixedHz: rate.fixedHz, fixedWarmupRounds: rate.fixedWarmupRounds, fixedRounds: rate.fixedRounds };
}

/** What to start for a row. */
export interface BroadcastRow {
  readonly serverEntry: string;
  readonly serverArgs: readonly string[];
  readonly loadgenEntry: string;
  readonly loadgenArgs: readonly string[];
  /** Names the processes in errors. */
  readonly label: string;
  readonly clients: number;
  readonly loadgens: number;
  /** The URL clients connect to, given the server's port. */
  url(port: number): string;
  /** Extra node flags per process (`--cpu-prof …`), by role and index. */
  nodeFlags?(role: "server" | "loadgen", index: number): readonly string[];
}

export interface BroadcastResult {
  readonly clients: number;
  /** Max-rate phase: deliveries (messages received by a client) per second. */
  readonly throughput: number;
  readonly maxRounds: number;
  /** Fixed-rate phase, ms from the server's send timestamp to the client's receive callback. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /**
   * Fixed-rate phase, the server's own side of a round (no load generator's pause in it): how
   * long a broadcast call took until it settled, median and p99, and the p99 of how late it
   * started against its schedule, ms.
   */
  readonly serverSendP50Ms: number;
  readonly serverSendP99Ms: number;
  readonly serverLateP99Ms: number;
  /** Fixed-rate phase: server CPU (user + system) per delivery, µs. */
  readonly cpuUsPerDelivery: number;
  /** Max-rate phase: server CPU per delivery, µs. */
  readonly cpuUsPerDeliveryMax: number;
  /** (RSS with every client connected and idle - RSS after the warm-up clients) / the other clients, bytes, after GC. */
  readonly rssPerClient: number;
  /** WebSocket messages the server sent and received per delivery, in each phase (0 on SSE). */
  readonly traffic: {
    readonly fixed: { readonly sent: number; readonly received: number };
    readonly max: { readonly sent: number; readonly received: number };
  };
  /** Each load generator's report as it came (a benchmark's own fields, such as its client CPU). */
  readonly reports: readonly Reply[];
}

export type BroadcastOutcome = { readonly ok: true; readonly result: BroadcastResult } | { readonly ok: false; readonly reason: string };

export const num = (reply: Reply, key: string): number => {
  const value = reply[key];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new Error(`bad ${key} in ${JSON.stringify(reply).slice(0, 300)}`);
  return value;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

async function measure(row: BroadcastRow, ph: BroadcastPhases, children: Child[]): Promise<BroadcastResult> {
  const n = row.clients;
  const flags = row.nodeFlags ?? (() => []);
  const server = new Child(`server ${row.label}`, row.serverEntry, row.serverArgs, ["--expose-gc", ...flags("server", 0)], 20_000);
  children.push(server);
  const ready = await server.ready;
  const port = num(ready, "port");

  const loadgens = Array.from(
    { length: row.loadgens },
    (_, i) => new Child(`loadgen ${i + 1} (${row.label})`, row.loadgenEntry, row.loadgenArgs, flags("loadgen", i), 20_000),
  );
  children.push(...loadgens);
  await Promise.all(loadgens.map((l) => l.ready));

  /** Opens `count` more clients, split over the load generators, and waits until the server counts `total`. */
  async function connect(count: number, total: number): Promise<void> {
    const counts = split(count, row.loadgens);
    await Promise.all(
      loadgens.map((l, i) =>
        l.request({ cmd: "connect", url: row.url(port), n: counts[i], concurrency: ph.connectConcurrency, controlPort: num(ready, "controlPort") }, ph.connectTimeoutMs),
      ),
    );
    // Every client is open (or subscribed) on its side; wait until the server has counted them all too.
    for (let waited = 0; ; waited += 50) {
      const clients = num(await server.request({ cmd: "clients" }, 5_000), "clients");
      if (clients === total) break;
      if (waited > 10_000) throw new Error(`server sees ${clients} of ${total} clients`);
      await sleep(50);
    }
  }
  const warm = Math.min(ph.warmupClients, Math.floor(n / 2));
  await connect(warm, warm);
  const rssBase = num(await server.request({ cmd: "rss", settleMs: ph.idleSettleMs }, 20_000), "rss");
  await connect(n - warm, n);
  const rssIdle = num(await server.request({ cmd: "rss", settleMs: ph.idleSettleMs }, 20_000), "rss");
  // Each load generator's share of the latency samples: its clients, both batches.
  const shares = split(warm, row.loadgens).map((w, i) => w + (split(n - warm, row.loadgens)[i] ?? 0));

  await Promise.all(loadgens.map((l, i) => l.request({ cmd: "expectLatencies", samples: (shares[i] ?? 0) * ph.fixedRounds }, 5_000)));
  const fixedMs = ((ph.fixedWarmupRounds + ph.fixedRounds) / ph.fixedHz) * 1000;
  const fixed = await server.request(
    { cmd: "fixed", hz: ph.fixedHz, warmupRounds: ph.fixedWarmupRounds, rounds: ph.fixedRounds, phase: 1 },
    fixedMs + 30_000,
  );
  const max = await server.request(
    { cmd: "max", window: ph.maxWindow, warmupMs: ph.maxWarmupMs, measureMs: ph.maxMeasureMs, maxRounds: ph.maxRounds, loadgens: row.loadgens, phase: 2 },
    ph.maxWarmupMs + ph.maxMeasureMs + 30_000,
  );
  // Max rate ends only once every round was acked, and each client receives in order, so by
  // now every message of every phase has arrived: the counts below must be exact.
  const reports = await Promise.all(loadgens.map((l) => l.request({ cmd: "report", withSamples: row.loadgens > 1 }, 30_000)));

  const received = [0, 0, 0];
  let samples: number[] = [];
  for (const r of reports) {
    const counts = r["received"] as number[];
    for (let p = 0; p < 3; p++) received[p]! += counts[p] ?? 0;
    if (num(r, "badMessages") !== 0) throw new Error(`${num(r, "badMessages")} unparsable or unexpected messages`);
    if (num(r, "outOfOrder") !== 0) throw new Error(`${num(r, "outOfOrder")} messages arrived out of order or twice`);
    // A load generator's own account of its clients' trouble (a session that reconnected …).
    if (typeof r["problems"] === "string" && r["problems"] !== "") throw new Error(`clients: ${r["problems"]}`);
    if (row.loadgens > 1) samples = samples.concat(r["samples"] as number[]);
  }
  const maxTotalRounds = num(max, "totalRounds");
  const expected = [n * ph.fixedWarmupRounds, n * ph.fixedRounds, n * maxTotalRounds];
  for (let p = 0; p < 3; p++) {
    if (received[p] !== expected[p]) throw new Error(`phase ${p}: clients received ${received[p]} messages, expected ${expected[p]}`);
  }
  let p50: number;
  let p99: number;
  let maxMs: number;
  if (row.loadgens > 1) {
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
  const fixedDeliveries = num(fixed, "rounds") * n;
  return {
    clients: n,
    throughput: (maxRounds * n) / (num(max, "elapsedMs") / 1000),
    maxRounds,
    p50Ms: p50,
    p99Ms: p99,
    maxMs,
    serverSendP50Ms: num(fixed, "sendP50Ms"),
    serverSendP99Ms: num(fixed, "sendP99Ms"),
    serverLateP99Ms: num(fixed, "lateP99Ms"),
    cpuUsPerDelivery: num(fixed, "cpuMicros") / fixedDeliveries,
    cpuUsPerDeliveryMax: num(max, "cpuMicros") / (maxRounds * n),
    rssPerClient: (rssIdle - rssBase) / (n - warm),
    traffic: {
      fixed: { sent: num(fixed, "messagesSent") / fixedDeliveries, received: num(fixed, "messagesReceived") / fixedDeliveries },
      max: { sent: num(max, "messagesSent") / (maxRounds * n), received: num(max, "messagesReceived") / (maxRounds * n) },
    },
    reports,
  };
}

/**
 * One run of a row, every child stopped afterwards whatever happened; never rejects. Children
 * are stopped (IPC closed, so a `--cpu-prof` profile gets written) and SIGKILLed if they linger.
 */
export async function runBroadcastRow(row: BroadcastRow, phases: BroadcastPhases): Promise<BroadcastOutcome> {
  const children: Child[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`killed after the ${phases.rowTimeoutMs / 1000} s row timeout`)), phases.rowTimeoutMs);
  });
  try {
    const result = await Promise.race([measure(row, phases, children), timeout]);
    return { ok: true, result };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
    // Load generators first, so the server does not spend its last moments on sessions dropping.
    for (const child of [...children].reverse()) await child.stop();
  }
}
