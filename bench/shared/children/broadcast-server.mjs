// The server side of a broadcast benchmark (bench/server, bench/topic), shared by their server
// processes: the messages, a plain TCP control port on which load generators ack broadcast
// rounds, the fixed-rate and max-rate phases, RSS after GC, and the IPC commands the parent
// sends (`clients`, `rss`, `fixed`, `max`). Each phase also reports the WebSocket messages the
// server sent and received in its window (none on SSE). A benchmark's server.mjs makes its implementation
// (`{ port, clients(), broadcast(obj) }`) and hands it to serveBroadcast.
import net from "node:net";
import { performance } from "node:perf_hooks";
import { percentile } from "./percentile.mjs";
import { countWsTraffic } from "./ws-traffic.mjs";

const HOST = "127.0.0.1";
const now = () => performance.timeOrigin + performance.now();

// ~100 bytes of JSON: {"p":1,"seq":123,"t":1712345678901.123,"pad":"xxxx…"}
const PAD = "x".repeat(46);
/** The message of round `seq` of `phase` (0 warm-up, 1 fixed rate, 2 max rate), stamped now. */
export function message(phase, seq) {
  return { p: phase, seq, t: now(), pad: PAD };
}

// ---- control port: load generators write "ack <seq>\n" once all their clients got round seq.
let onAck = () => {};
function listenControl() {
  const control = net.createServer(function controlConnection(socket) {
    socket.setNoDelay(true);
    socket.setEncoding("utf8");
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("ack ")) onAck(Number(line.slice(4)));
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) => control.listen(0, HOST, () => resolve(control.address().port)));
}

function gcRss() {
  if (typeof globalThis.gc !== "function") throw new Error("start the server with --expose-gc");
  for (let i = 0; i < 3; i++) globalThis.gc();
  return process.memoryUsage().rss;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ascending = (a, b) => a - b;

function cpuMicros(since) {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** WebSocket messages counted so far (see ws-traffic.mjs), to subtract at the end of a window. */
let traffic = { sent: 0, received: 0 };
function trafficSince(start) {
  return { messagesSent: traffic.sent - start.sent, messagesReceived: traffic.received - start.received };
}

/**
 * Fixed rate: `rounds` broadcasts at `hz`, on a drift-free schedule; CPU over the measured ones.
 * Also the server's own side of each measured round, which no load generator's pause touches:
 * how long the broadcast took (the call, until its promise settled: every socket written to, or
 * queued) and how late it started against its schedule (the event loop busy when it was due).
 */
async function fixedRate(server, { hz, warmupRounds, rounds, phase }) {
  const interval = 1000 / hz;
  const start = performance.now();
  let cpuStart;
  let trafficStart;
  let wallStart = 0;
  const sendMs = [];
  const lateMs = [];
  const total = warmupRounds + rounds;
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (i === warmupRounds) {
      trafficStart = { ...traffic };
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
    }
    const sendStart = performance.now();
    await server.broadcast(message(i < warmupRounds ? 0 : phase, i));
    if (i >= warmupRounds) {
      sendMs.push(performance.now() - sendStart);
      lateMs.push(sendStart - due);
    }
  }
  // The window ends one interval after the last measured send: the same idle share every round got.
  const end = start + total * interval;
  const rest = end - performance.now();
  if (rest > 0) await sleep(rest);
  sendMs.sort(ascending);
  lateMs.sort(ascending);
  return {
    cpuMicros: cpuMicros(cpuStart),
    wallMs: performance.now() - wallStart,
    rounds,
    sendP50Ms: percentile(sendMs, 0.5),
    sendP99Ms: percentile(sendMs, 0.99),
    lateP99Ms: percentile(lateMs, 0.99),
    ...trafficSince(trafficStart),
  };
}

/**
 * Max rate: at most `window` rounds unacknowledged by every load generator; each ack releases
 * the next round. Warm-up for warmupMs, then rounds acked during measureMs are counted.
 */
function maxRate(server, { window, warmupMs, measureMs, maxRounds, loadgens, phase }) {
  return new Promise(function run(resolve, reject) {
    const acks = new Uint16Array(maxRounds);
    let sent = 0;
    let acked = 0; // rounds 0..acked-1 acked by every load generator
    let stopAt = Infinity;
    let measureStart = -1;
    let ackedAtStart = 0;
    let measureStartTime = 0;
    let cpuStart;
    let trafficStart;
    const t0 = performance.now();
    let sending = false;
    async function pump() {
      if (sending) return;
      sending = true;
      try {
        while (sent < maxRounds && sent - acked < window && performance.now() < stopAt) {
          await server.broadcast(message(phase, sent++));
        }
      } catch (error) {
        reject(error);
      }
      sending = false;
      if (acked === sent && (performance.now() >= stopAt || sent >= maxRounds)) finish();
    }
    function finish() {
      onAck = () => {};
      const elapsed = performance.now() - measureStartTime;
      resolve({
        rounds: acked - ackedAtStart,
        totalRounds: sent,
        elapsedMs: elapsed,
        cpuMicros: cpuMicros(cpuStart),
        warmupRounds: ackedAtStart,
        ...trafficSince(trafficStart),
      });
    }
    onAck = function ack(seq) {
      if (++acks[seq] < loadgens) return;
      while (acked < sent && acks[acked] >= loadgens) acked++;
      const t = performance.now();
      if (measureStart < 0 && t - t0 >= warmupMs) {
        measureStart = t;
        measureStartTime = t;
        ackedAtStart = acked;
        trafficStart = { ...traffic };
        cpuStart = process.cpuUsage();
        stopAt = t + measureMs;
      }
      void pump();
    };
    void pump();
  });
}

/**
 * Makes the implementation with `make()` (resolving to `{ port, clients(), broadcast(obj) }`),
 * opens the control port, obeys the parent's commands and says it is ready. The process exits
 * when the parent goes.
 */
export async function serveBroadcast(make) {
  // Before the server makes its first socket.
  traffic = await countWsTraffic();
  const server = await make();
  const controlPort = await listenControl();
  process.on("disconnect", () => process.exit(0)); // the parent is gone
  process.on("message", async function command(msg) {
    try {
      let reply;
      if (msg.cmd === "clients") reply = { clients: server.clients() };
      else if (msg.cmd === "rss") {
        await sleep(msg.settleMs ?? 0);
        reply = { rss: gcRss() };
      } else if (msg.cmd === "fixed") reply = await fixedRate(server, msg);
      else if (msg.cmd === "max") reply = await maxRate(server, msg);
      else throw new Error(`unknown command ${msg.cmd}`);
      process.send({ id: msg.id, ok: true, ...reply });
    } catch (error) {
      process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: true, port: server.port, controlPort });
}
