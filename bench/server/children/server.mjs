// One benchmark server process: `node --expose-gc server.mjs <impl>`, impl one of
// wirechan-ws | ws | socketio | wirechan-sse | http-sse. It listens on 127.0.0.1 (a free port),
// plus a plain TCP control port on which load generators ack broadcast rounds, and obeys
// commands from the parent over the IPC channel. Nothing here prints to stdout but errors.
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";

const HOST = "127.0.0.1";
const impl = process.argv[2];
const now = () => performance.timeOrigin + performance.now();

// ~100 bytes of JSON: {"p":1,"seq":123,"t":1712345678901.123,"pad":"xxxx…"}
const PAD = "x".repeat(46);
function message(phase, seq) {
  return { p: phase, seq, t: now(), pad: PAD };
}

/** Each implementation: listen(), clients(), and broadcast(obj) -> Promise|void. */
async function makeWirechanWs() {
  const { createServer, withChannel, MemoryChannelStore } = await import("../../../dist/server/index.js");
  const store = new MemoryChannelStore();
  const server = createServer().route("*", function join(req) {
    withChannel(req, (conn) => store.addToGroup("all", conn, null));
  });
  const handle = await server.listen({ port: 0, host: HOST });
  return {
    port: handle.port,
    clients: () => store.members("all"),
    broadcast(obj) {
      store.broadcastEncoded("all", JSON.stringify(obj));
    },
  };
}

async function makeRawWs() {
  const { WebSocketServer, WebSocket } = await import("ws");
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  return {
    port: wss.address().port,
    clients: () => wss.clients.size,
    broadcast(obj) {
      const text = JSON.stringify(obj);
      for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
  };
}

async function makeSocketIo() {
  const { Server } = await import("socket.io");
  const httpServer = http.createServer();
  const io = new Server(httpServer, { serveClient: false, transports: ["websocket"] });
  await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
  return {
    port: httpServer.address().port,
    clients: () => io.engine.clientsCount,
    broadcast(obj) {
      io.emit("m", obj);
    },
  };
}

async function makeWirechanSse() {
  const { runServer, serveChannel } = await import("../../../dist/server/index.js");
  const { chan, mult } = await import("../../../dist/index.js");
  const source = chan();
  const m = mult(source);
  let clients = 0;
  const feed = serveChannel(m);
  const handle = await runServer(
    function sse(req) {
      clients++;
      return feed(req);
    },
    { port: 0, host: HOST },
  );
  return {
    port: handle.port,
    // serveChannel has no client count of its own; count requests (clients never leave mid-case).
    clients: () => clients,
    // put resolves once the mult handed the value to every tap.
    broadcast: (obj) => source.put(obj),
  };
}

async function makeHttpSse() {
  const responses = new Set();
  const server = http.createServer(function sse(req, res) {
    req.socket.setNoDelay(true);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    responses.add(res);
    res.on("close", () => responses.delete(res));
  });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  return {
    port: server.address().port,
    clients: () => responses.size,
    broadcast(obj) {
      const frame = `data: ${JSON.stringify(obj)}\n\n`;
      for (const res of responses) res.write(frame);
    },
  };
}

const IMPLS = {
  "wirechan-ws": makeWirechanWs,
  ws: makeRawWs,
  socketio: makeSocketIo,
  "wirechan-sse": makeWirechanSse,
  "http-sse": makeHttpSse,
};

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

function cpuMicros(since) {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** Fixed rate: `rounds` broadcasts at `hz`, on a drift-free schedule; CPU over the measured ones. */
async function fixedRate(server, { hz, warmupRounds, rounds, phase }) {
  const interval = 1000 / hz;
  const start = performance.now();
  let cpuStart;
  let wallStart = 0;
  const total = warmupRounds + rounds;
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (i === warmupRounds) {
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
    }
    await server.broadcast(message(i < warmupRounds ? 0 : phase, i));
  }
  // The window ends one interval after the last measured send: the same idle share every round got.
  const end = start + total * interval;
  const rest = end - performance.now();
  if (rest > 0) await sleep(rest);
  return { cpuMicros: cpuMicros(cpuStart), wallMs: performance.now() - wallStart, rounds };
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
        cpuStart = process.cpuUsage();
        stopAt = t + measureMs;
      }
      void pump();
    };
    void pump();
  });
}

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown server "${impl}"`);
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
  process.send({ ready: true, port: server.port, controlPort, rssBase: gcRss() });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
