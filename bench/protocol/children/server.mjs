// One benchmark server process: `node server.mjs <impl>`, impl one of ws | socketio-ws |
// socketio-polling | wirechan | wirechan-connection (the three session rows share the wirechan
// server; the client picks the transport). It listens on 127.0.0.1 (a free port) and serves two things:
// - an echo: every value sent to it comes straight back (RTT);
// - a sink: it counts the values sent to it and notes when the expected count arrived (throughput).
// Commands come from the parent over the IPC channel. Nothing is printed to stdout but errors.
import http from "node:http";
import { performance } from "node:perf_hooks";
import { clearTimeout } from "node:timers";
import { startAllocationSampling, stopAllocationSampling } from "../../shared/children/allocation.mjs";

const HOST = "127.0.0.1";
const impl = process.argv[2];
const now = () => performance.timeOrigin + performance.now();

// ---- the sink: the parent sets `expected`, values arriving count towards it.
let count = 0;
let expected = Infinity;
let firstAt = 0;
let lastAt = 0;
let doneAt = 0;
let onDone = () => {};

function sinkValue() {
  const t = now();
  if (count === 0) firstAt = t;
  count++;
  lastAt = t;
  if (count === expected) {
    doneAt = t;
    onDone();
  }
}

function expect(n) {
  count = 0;
  expected = n;
  firstAt = lastAt = doneAt = 0;
  onDone = () => {};
  return {};
}

/** Lowers the count waited for (the client stopped early), keeping what arrived. */
function setExpected(n) {
  expected = n;
  if (count >= expected && doneAt === 0) {
    doneAt = lastAt;
    onDone();
  }
  return {};
}

/** Resolves once `expected` values arrived, or after `timeoutMs` with what did. */
function waitDone({ timeoutMs }) {
  return new Promise(function wait(resolve) {
    const report = () => resolve({ count, firstAt, lastAt, doneAt, done: count >= expected });
    if (count >= expected) return report();
    const timer = setTimeout(report, timeoutMs);
    onDone = () => {
      clearTimeout(timer);
      report();
    };
  });
}

// ---- the servers. Each returns { port, clients() }.

async function makeRawWs() {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  const { chan } = await import("../../../dist/index.js");
  wss.on("connection", function serve(ws, request) {
    if (request.url === "/channels") return serveWithChannels(ws, chan);
    let seq = 0;
    ws.on("message", function onMessage(data, isBinary) {
      // "e…" is echoed as it came; "[…" is a packet of the ws-json row, answered as wirechan's
      // server would; anything else is a value for the sink.
      if (data[0] === 0x65) ws.send(data, { binary: isBinary });
      else if (data[0] === 0x5b) {
        const put = JSON.parse(data.toString())[1];
        seq += 2;
        ws.send(JSON.stringify([[seq - 1, "a", put[0], 1], [seq, "p", put[3].reply["~c"], put[3].n]]));
      } else sinkValue();
    });
  });
  return { port: wss.address().port, clients: () => wss.clients.size };
}

/**
 * The ws-json-chan row's server: the packets of the ws-json row, with wirechan's channels where
 * wirechan's server has them and nothing else of the protocol. A packet's value is put into the
 * `echo` channel (as a session delivers a put), a loop takes it and puts the number into `out`
 * (the echo loop's `reply.put`), and a loop taking from `out` writes the answer packet.
 */
function serveWithChannels(ws, chan) {
  let seq = 0;
  let lastPut = 0;
  const echo = chan();
  const out = chan();
  ws.on("message", function onPacket(data) {
    const put = JSON.parse(data.toString())[1];
    lastPut = put[0];
    void echo.put(put[3]);
  });
  ws.on("close", () => echo.close());
  void (async function echoLoop() {
    for await (const { n } of echo) await out.put(n);
    out.close();
  })();
  void (async function answerLoop() {
    for await (const n of out) {
      seq += 2;
      ws.send(JSON.stringify([[seq - 1, "a", lastPut, 1], [seq, "p", "c.1", n]]));
    }
  })();
}

async function makeSocketIo(transports) {
  const { Server } = await import("socket.io");
  const httpServer = http.createServer();
  const io = new Server(httpServer, { serveClient: false, transports });
  io.on("connection", function serve(socket) {
    socket.on("echo", (value, ack) => ack(value));
    socket.on("v", function sink(_value, ack) {
      sinkValue();
      if (typeof ack === "function") ack(true);
    });
  });
  await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
  return { port: httpServer.address().port, clients: () => io.engine.clientsCount };
}

async function makeWirechan() {
  const { createServer } = await import("../../../dist/server/index.js");
  const server = createServer();
  const echo = server.channel("echo");
  const sink = server.channel("sink");
  void (async function echoLoop() {
    for await (const { reply, n } of echo) await reply.put(n);
  })();
  void (async function sinkLoop() {
    for await (const value of sink) if (value !== undefined) sinkValue();
  })();
  const handle = await server.listen({ port: 0, host: HOST });
  return { port: handle.port, clients: () => server.sessionCount };
}

/**
 * wirechan's message layer without a session, for raw ws's client: "e…" comes back as it came,
 * anything else is a value for the sink (as makeRawWs does).
 */
async function makeWirechanConnection() {
  const { createServer, withChannel } = await import("../../../dist/server/index.js");
  const server = createServer();
  server.route("*", (req) =>
    withChannel(req, function serve(conn) {
      conn.onReceive(function onMessage(message) {
        if (typeof message === "string" && message.charCodeAt(0) === 0x65) conn.send(message);
        else sinkValue();
      });
    }),
  );
  const handle = await server.listen({ port: 0, host: HOST });
  return { port: handle.port, clients: () => server.connectionCount };
}

const IMPLS = {
  ws: makeRawWs,
  "socketio-ws": () => makeSocketIo(["websocket"]),
  "socketio-polling": () => makeSocketIo(["polling"]),
  wirechan: makeWirechan,
  "wirechan-connection": makeWirechanConnection,
};

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown server "${impl}"`);
  const server = await make();
  process.on("disconnect", () => process.exit(0)); // the parent is gone
  process.on("message", async function command(msg) {
    try {
      let reply;
      if (msg.cmd === "clients") reply = { clients: server.clients() };
      else if (msg.cmd === "expect") reply = expect(msg.n);
      else if (msg.cmd === "setExpected") reply = setExpected(msg.n);
      else if (msg.cmd === "waitDone") reply = await waitDone(msg);
      else if (msg.cmd === "cpu") reply = { ...process.cpuUsage() };
      else if (msg.cmd === "allocStart") reply = await startAllocationSampling().then(() => ({}));
      else if (msg.cmd === "allocStop") reply = { bytes: await stopAllocationSampling() };
      else throw new Error(`unknown command ${msg.cmd}`);
      process.send({ id: msg.id, ok: true, ...reply });
    } catch (error) {
      process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: true, port: server.port });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
