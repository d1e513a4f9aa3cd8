// The client side of a broadcast benchmark (bench/server, bench/topic), shared by their
// load-generator processes: opens N clients with the benchmark's `open`, checks what each
// receives, and obeys the parent's commands (`connect`, `expectLatencies`, `report`).
//
// Every client checks its own messages: the rounds of the fixed-rate phase (warm-up 0, measured
// 1) must arrive as seq 0, 1, 2 …, and those of the max-rate phase (2) as 0, 1, 2 … again, each
// once and in order; anything else counts as out of order (and the parent fails the row). Phase
// 1 records each delivery's latency from the server's send timestamp; phase 2 acks a round on
// the server's control port once every client of this process has it.
import net from "node:net";
import { performance } from "node:perf_hooks";
import { percentile } from "./percentile.mjs";

const now = () => performance.timeOrigin + performance.now();
const MAX_ROUNDS = 1 << 16;

let clientCount = 0;
const received = [0, 0, 0]; // per phase: warm-up (0), fixed rate (1), max rate (2)
let latencies = new Float64Array(0);
let latencyCount = 0;
const roundCounts = new Uint32Array(MAX_ROUNDS);
let control = null;
let badMessages = 0;
let outOfOrder = 0;
const clients = [];

/** What one client expects next: the seq of its next fixed-rate round and its next max-rate round. */
export function newClientCheck() {
  return { fixedNext: 0, maxNext: 0 };
}

/** A message `msg` (parsed) that client `check` received at `at` (ms, this machine's clock). */
export function delivered(check, msg, at) {
  const phase = msg?.p;
  if (phase !== 0 && phase !== 1 && phase !== 2) {
    badMessages++;
    return;
  }
  received[phase]++;
  if (phase === 2) {
    if (msg.seq !== check.maxNext++) outOfOrder++;
    if (++roundCounts[msg.seq] === clientCount) control.write(`ack ${msg.seq}\n`);
  } else {
    if (msg.seq !== check.fixedNext++) outOfOrder++;
    if (phase === 1 && latencyCount < latencies.length) latencies[latencyCount++] = at - msg.t;
  }
}

/** A message's text as it came off the wire: parsed here, a bad one counted. */
export function deliveredText(check, text) {
  const at = now();
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    badMessages++;
    return;
  }
  delivered(check, msg, at);
}

/** Something a client could not make sense of (counted; the parent fails the row). */
export function badMessage() {
  badMessages++;
}

export { now };

/** A `ws` client (no compression) whose every message is a delivery's JSON text. */
export async function openRawWs(url, check) {
  const { WebSocket } = await import("ws");
  return new Promise(function connect(resolve, reject) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("message", (data) => deliveredText(check, data.toString()));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Opens `n` more clients (a first batch to warm up, then the rest: the counts add up). */
async function connectAll(open, { url, n, concurrency, controlPort }) {
  if (control === null) {
    control = net.connect(controlPort, "127.0.0.1");
    control.setNoDelay(true);
    await new Promise((resolve, reject) => control.once("connect", resolve).once("error", reject));
  }
  clientCount += n;
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      clients.push(await open(url, newClientCheck()));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { connected: clients.length };
}

/**
 * Obeys the parent: `open(url, check)` opens one client (resolving once it is ready to receive)
 * and reports what it receives with `delivered(check, …)` or `deliveredText(check, …)`;
 * `extra()`, if given, adds fields to the report (a client's own health).
 */
export function serveLoadGenerator(open, extra = () => ({})) {
  process.on("disconnect", () => process.exit(0));
  process.on("message", async function command(msg) {
    try {
      let reply;
      if (msg.cmd === "connect") reply = await connectAll(open, msg);
      else if (msg.cmd === "expectLatencies") {
        latencies = new Float64Array(msg.samples);
        latencyCount = 0;
        reply = {};
      } else if (msg.cmd === "report") {
        const sorted = latencies.subarray(0, latencyCount).sort();
        reply = {
          received: [...received],
          badMessages,
          outOfOrder,
          latencySamples: latencyCount,
          // Sorted samples go back whole only when asked (several load generators to merge).
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
          samples: msg.withSamples ? Array.from(sorted) : undefined,
          ...extra(),
        };
      } else throw new Error(`unknown command ${msg.cmd}`);
      process.send({ id: msg.id, ok: true, ...reply });
    } catch (error) {
      process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: true });
}
