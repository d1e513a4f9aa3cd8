// One load-generator process: `node loadgen.mjs <client-kind>`, kind one of ws | socketio | sse.
// The parent tells it over IPC to open N clients to the server under test; every client
// counts what it receives per phase. Phase 1 (fixed rate) records each delivery's latency
// from the server's send timestamp; phase 2 (max rate) counts deliveries per round and acks
// a round on the server's control port once every client of this process has it.
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";

const kind = process.argv[2];
const now = () => performance.timeOrigin + performance.now();
const MAX_ROUNDS = 1 << 16;

let clientCount = 0;
const received = [0, 0, 0]; // per phase: warm-up (0), fixed rate (1), max rate (2)
let latencies = new Float64Array(0);
let latencyCount = 0;
const roundCounts = new Uint32Array(MAX_ROUNDS);
let control = null;
let badMessages = 0;
const sockets = [];

function onMessage(msg, at) {
  const phase = msg.p;
  received[phase]++;
  if (phase === 1) {
    if (latencyCount < latencies.length) latencies[latencyCount++] = at - msg.t;
  } else if (phase === 2) {
    if (++roundCounts[msg.seq] === clientCount) control.write(`ack ${msg.seq}\n`);
  }
}

function onText(text) {
  const at = now();
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    badMessages++;
    return;
  }
  onMessage(msg, at);
}

async function openWs(url) {
  const { WebSocket } = await import("ws");
  return new Promise(function connect(resolve, reject) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on("message", (data) => onText(data.toString()));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

let ioClient = null;
async function openSocketIo(url) {
  ioClient ??= (await import("socket.io-client")).io;
  return new Promise(function connect(resolve, reject) {
    const socket = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    socket.on("m", (msg) => onMessage(msg, now()));
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
function openSse(url) {
  return new Promise(function connect(resolve, reject) {
    const req = http.get(url, { agent, headers: { accept: "text/event-stream" } }, function response(res) {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE status ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding("utf8");
      let buffered = "";
      res.on("data", function parse(chunk) {
        const at = now();
        buffered += chunk;
        let end;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          let data = null;
          for (const line of event.split("\n")) {
            if (line.startsWith("data:")) data = (data === null ? "" : `${data}\n`) + line.slice(line[5] === " " ? 6 : 5);
          }
          if (data === null) continue; // a comment (heartbeat) or an id-only event
          let msg;
          try {
            msg = JSON.parse(data);
          } catch {
            badMessages++;
            continue;
          }
          onMessage(msg, at);
        }
      });
      resolve(req);
    });
    req.on("error", reject);
  });
}

const OPENERS = { ws: openWs, socketio: openSocketIo, sse: openSse };

async function connectAll({ url, n, concurrency, controlPort }) {
  const open = OPENERS[kind];
  if (open === undefined) throw new Error(`unknown client kind "${kind}"`);
  control = net.connect(controlPort, "127.0.0.1");
  control.setNoDelay(true);
  await new Promise((resolve, reject) => control.once("connect", resolve).once("error", reject));
  clientCount = n;
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      sockets.push(await open(url));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { connected: sockets.length };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

process.on("disconnect", () => process.exit(0));
process.on("message", async function command(msg) {
  try {
    let reply;
    if (msg.cmd === "connect") reply = await connectAll(msg);
    else if (msg.cmd === "expectLatencies") {
      latencies = new Float64Array(msg.samples);
      latencyCount = 0;
      reply = {};
    } else if (msg.cmd === "report") {
      const sorted = latencies.subarray(0, latencyCount).sort();
      reply = {
        received: [...received],
        badMessages,
        latencySamples: latencyCount,
        // Sorted samples go back whole only when asked (several load generators to merge).
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
        max: sorted.length > 0 ? sorted[sorted.length - 1] : NaN,
        samples: msg.withSamples ? Array.from(sorted) : undefined,
      };
    } else throw new Error(`unknown command ${msg.cmd}`);
    process.send({ id: msg.id, ok: true, ...reply });
  } catch (error) {
    process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
  }
});
process.send({ ready: true });
