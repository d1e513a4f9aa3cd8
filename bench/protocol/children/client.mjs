// One benchmark client process: `node client.mjs <row>`, row one of ws | ws-json | ws-json-chan |
// socketio-ws | socketio-polling | wirechan-ws | wirechan-sse | wirechan-longpoll |
// wirechan-connection. It opens one client to the server the parent names and, on command over
// IPC, measures round trips to the server's echo or sends values to its sink as fast as the
// method allows. Only errors are printed.
import { performance } from "node:perf_hooks";
import { setImmediate } from "node:timers";
import { startAllocationSampling, stopAllocationSampling } from "../../shared/children/allocation.mjs";
import { percentile } from "../../shared/children/percentile.mjs";

const row = process.argv[2];
const now = () => performance.timeOrigin + performance.now();

/**
 * Transport traffic, counted while round trips are measured: `up` is WebSocket messages sent or
 * HTTP requests carrying data upstream (POSTs); `down` is WebSocket messages or SSE events
 * received, or long-poll requests made (each is answered once).
 */
const traffic = { up: 0, down: 0 };

function cpuMicros(since) {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/**
 * Each client: roundTrip(n) resolves with what came back for n; throughput variants, each
 * (n, deadline) => Promise<number sent>; close().
 */
/**
 * A raw `ws` client, open, whose round trip writes `message(n)` and resolves with what
 * `answer(data)` reads from the next message: the raw ws and ws-json rows.
 */
async function rawWsRoundTrips(port, message, answer, path = "/") {
  const { WebSocket } = await import("ws");
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  let waiting = null;
  ws.on("message", function onAnswer(data) {
    traffic.down++;
    const resolve = waiting;
    waiting = null;
    resolve?.(answer(data));
  });
  function roundTrip(n) {
    return new Promise(function send(resolve) {
      waiting = resolve;
      traffic.up++;
      ws.send(message(n));
    });
  }
  return { ws, roundTrip };
}

async function openRawWs(port) {
  const { ws, roundTrip } = await rawWsRoundTrips(port, (n) => `e${n}`, (data) => Number(data.toString().slice(1)));
  return {
    roundTrip,
    variants: {
      async send(n, deadline) {
        let i = 0;
        // Chunks of 1,000 so the deadline is checked; the socket buffers whatever it cannot write yet.
        while (i < n && performance.now() < deadline) {
          const end = Math.min(n, i + 1_000);
          for (; i < end; i++) ws.send(`v${i}`);
          await new Promise((resolve) => setImmediate(resolve));
        }
        return i;
      },
    },
    close: () => ws.terminate(),
  };
}

async function openSocketIo(port, transports) {
  const { io } = await import("socket.io-client");
  const socket = io(`http://127.0.0.1:${port}`, { transports, forceNew: true, reconnection: false, ackTimeout: 30_000 });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("connect_error", reject));
  const engine = socket.io.engine;
  if (transports[0] === "polling") {
    // One "drain" per POST that completed, one "poll" per GET started.
    engine.transport.on("drain", () => traffic.up++);
    engine.transport.on("poll", () => traffic.down++);
  } else {
    engine.on("packetCreate", () => traffic.up++);
    engine.on("packet", () => traffic.down++);
  }
  return {
    roundTrip: (n) => socket.emitWithAck("echo", n),
    variants: {
      async emit(n, deadline) {
        let i = 0;
        while (i < n && performance.now() < deadline) {
          const end = Math.min(n, i + 1_000);
          for (; i < end; i++) socket.emit("v", i);
          await new Promise((resolve) => setImmediate(resolve));
        }
        return i;
      },
      emitWithAck: (n, deadline) => windowed(n, deadline, (i) => socket.emitWithAck("v", i)),
    },
    close: () => socket.disconnect(),
  };
}

async function openWirechan(port, transport) {
  const { connect } = await import("../../../dist/client/index.js");
  const { chan } = await import("../../../dist/index.js");
  // No upgrade probe: an SSE or long-poll row must stay on its transport for the whole row.
  const session = await connect(`http://127.0.0.1:${port}`, {
    transports: [transport],
    upgradeProbeInterval: 0,
    WebSocket: await countingWebSocket(),
    // The client's own default (node:http in Node), as an application gets it; requests are
    // counted through diagnostics_channel, SSE events are not counted (reported as "—").
  });
  if (transport !== "websocket") await countHttpRequests(transport);
  if (session.transport !== transport) throw new Error(`connected over ${session.transport}, not ${transport}`);
  const changes = [];
  session.onState((change) => changes.push(change.state));
  const echo = session.serverChan("echo");
  const sink = session.serverChan("sink");
  const reply = chan(1);
  let refused = 0;
  const check = (ok) => {
    if (!ok) refused++;
  };
  return {
    roundTrip(n) {
      // The put's acknowledgement is the protocol's work, not part of the round trip: not awaited.
      echo.put({ reply, n }).then(check);
      return reply.take();
    },
    variants: {
      put: (n, deadline) =>
        windowed(n, deadline, (i) =>
          sink.put(i).then((ok) => {
            if (!ok) throw new Error(`put ${i} was refused`);
          }),
        ),
      async awaited(n, deadline) {
        let i = 0;
        while (i < n && performance.now() < deadline) {
          if (!(await sink.put(i))) throw new Error(`put ${i} was refused`);
          i++;
        }
        return i;
      },
      async offer(n, deadline) {
        let i = 0;
        while (i < n) {
          if (!sink.offer(i)) {
            if (performance.now() >= deadline) break;
            if (!(await sink.put(i))) throw new Error(`put ${i} was refused`);
          }
          i++;
        }
        return i;
      },
    },
    health() {
      return { refused, stateChanges: changes.join(",") || "none", transport: session.transport };
    },
    close: () => session.close(),
  };
}

/** The `ws` client, counting messages (Node 20 has no global WebSocket: wirechan would load `ws` itself). */
async function countingWebSocket() {
  const { WebSocket } = await import("ws");
  return class CountingWebSocket extends WebSocket {
    // Counted as ws emits them, not with a listener of our own: a second "message" listener
    // would cost the wirechan rows more than the count is worth.
    emit(event, ...args) {
      if (event === "message") traffic.down++;
      return super.emit(event, ...args);
    }
    send(data) {
      traffic.up++;
      super.send(data);
    }
  };
}

/** Counts the client's upstream POSTs and long-polls as node:http starts them; SSE events are not countable here. */
let countingRequests = false;
async function countHttpRequests(transport) {
  if (transport === "sse") traffic.down = Number.NaN;
  else traffic.down = 0;
  if (countingRequests) return;
  countingRequests = true;
  const { subscribe } = await import("node:diagnostics_channel");
  subscribe("http.client.request.start", ({ request }) => {
    if (request.path.endsWith("/send")) traffic.up++;
    else if (request.path.endsWith("/poll")) traffic.down++;
  });
}

/** Calls `send(i)` for i < n with at most WINDOW promises outstanding; resolves once all settled. */
const WINDOW = 256;
function windowed(n, deadline, send) {
  return new Promise(function run(resolve, reject) {
    let started = 0;
    let settled = 0;
    let failed = false;
    function pump() {
      while (started < n && started - settled < WINDOW && performance.now() < deadline) {
        started++;
        send(started - 1).then(settle, fail);
      }
      if (settled === started && (started === n || performance.now() >= deadline)) resolve(started);
    }
    function settle() {
      settled++;
      if (!failed) pump();
    }
    function fail(error) {
      failed = true;
      reject(error);
    }
    pump();
  });
}

/**
 * The packets of a wirechan round trip without the protocol (the ws-json rows): `packet(n)`
 * writes the client's (the answer to the last put and the next put), `answer(data)` reads the
 * server's and gives the echoed number.
 */
function wsJsonPackets() {
  let seq = 0;
  let answered = 0;
  return {
    packet(n) {
      seq += 2;
      return JSON.stringify([[seq - 1, "a", answered, 1], [seq, "p", "n:echo", { reply: { "~c": "c.1" }, n }]]);
    },
    answer(data) {
      const [, put] = JSON.parse(data.toString());
      answered = put[0];
      return put[3];
    },
  };
}

/** The ws-json row: raw ws carrying the packets of a wirechan round trip, with no protocol behind them. */
async function openWsJson(port) {
  const { packet, answer } = wsJsonPackets();
  const { ws, roundTrip } = await rawWsRoundTrips(port, packet, answer);
  return { roundTrip, variants: {}, close: () => ws.terminate() };
}

/**
 * The ws-json-chan row: the ws-json row's packets, with wirechan's channels where wirechan's
 * client has them: each answer's value is put into `reply` (a `chan(1)`, as a session delivers
 * a put to it) and the round trip takes it from there. The server does the same (server.mjs).
 */
async function openWsJsonChannels(port) {
  const { chan } = await import("../../../dist/index.js");
  const reply = chan(1);
  const { packet, answer } = wsJsonPackets();
  // The socket only: no promise per round trip besides the channels' (rawWsRoundTrips still counts what arrives).
  const { ws } = await rawWsRoundTrips(port, packet, answer, "/channels");
  ws.on("message", function deliver(data) {
    void reply.put(answer(data));
  });
  return {
    roundTrip(n) {
      traffic.up++;
      ws.send(packet(n));
      return reply.take();
    },
    variants: {},
    close: () => ws.terminate(),
  };
}

const OPENERS = {
  ws: openRawWs,
  "ws-json": openWsJson,
  "ws-json-chan": openWsJsonChannels,
  "socketio-ws": (port) => openSocketIo(port, ["websocket"]),
  "socketio-polling": (port) => openSocketIo(port, ["polling"]),
  "wirechan-ws": (port) => openWirechan(port, "websocket"),
  "wirechan-sse": (port) => openWirechan(port, "sse"),
  "wirechan-longpoll": (port) => openWirechan(port, "longpoll"),
  // raw ws's client: the row measures wirechan's server side of a plain WebSocket.
  "wirechan-connection": openRawWs,
};

let client = null;

/** Round trips numbered from `from`, up to `count` of them, stopping at `timeLimitMs`. */
async function rtt({ from, count, timeLimitMs }) {
  const samples = new Float64Array(count);
  const cpuStart = process.cpuUsage();
  traffic.up = 0;
  // NaN stays NaN: SSE events are not counted for wirechan (see countHttpRequests).
  traffic.down = Number.isNaN(traffic.down) ? Number.NaN : 0;
  const start = performance.now();
  const deadline = start + timeLimitMs;
  let done = 0;
  while (done < count) {
    const n = from + done;
    const t = performance.now();
    const back = await client.roundTrip(n);
    const end = performance.now();
    if (back !== n) throw new Error(`round trip ${n} came back as ${JSON.stringify(back)}`);
    samples[done++] = end - t;
    if (end >= deadline) break;
  }
  const elapsedMs = performance.now() - start;
  const cpu = cpuMicros(cpuStart);
  const { up, down } = traffic;
  // The p50 of each half, in the order they were made: close together when the warm-up was long
  // enough for the measured ones to run on compiled code.
  const half = done >> 1;
  const firstHalfP50 = percentile(samples.slice(0, half).sort(), 0.5);
  const secondHalfP50 = percentile(samples.slice(half, done).sort(), 0.5);
  const sorted = samples.subarray(0, done).sort();
  return {
    roundTrips: done,
    elapsedMs,
    firstHalfP50,
    secondHalfP50,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, done),
    clientCpuMicros: cpu,
    up,
    // -1: not counted (SSE events of the wirechan client).
    down: Number.isNaN(down) ? -1 : down,
  };
}

async function throughput({ variant, n, timeLimitMs }) {
  const method = client.variants[variant];
  if (method === undefined) throw new Error(`${row} has no throughput variant "${variant}"`);
  const cpuStart = process.cpuUsage();
  const startAt = now();
  const sent = await method(n, performance.now() + timeLimitMs);
  return { startAt, sent, clientDoneAt: now(), clientCpuMicros: cpuMicros(cpuStart) };
}

process.on("disconnect", () => process.exit(0));
process.on("message", async function command(msg) {
  try {
    let reply;
    if (msg.cmd === "connect") {
      const open = OPENERS[row];
      if (open === undefined) throw new Error(`unknown client row "${row}"`);
      client = await open(msg.port);
      reply = {};
    } else if (msg.cmd === "rtt") reply = await rtt(msg);
    else if (msg.cmd === "throughput") reply = await throughput(msg);
    else if (msg.cmd === "health") reply = client.health?.() ?? {};
    else if (msg.cmd === "allocStart") reply = await startAllocationSampling().then(() => ({}));
    else if (msg.cmd === "allocStop") reply = { bytes: await stopAllocationSampling() };
    else if (msg.cmd === "close") {
      client?.close();
      reply = {};
    } else throw new Error(`unknown command ${msg.cmd}`);
    process.send({ id: msg.id, ok: true, ...reply });
  } catch (error) {
    process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
  }
});
process.send({ ready: true });
