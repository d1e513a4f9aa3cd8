// One echo benchmark in one process, for counting instructions under valgrind:
// `node --single-threaded echo.mjs <row> <warmup> <count>` makes a server and a client of the
// row on 127.0.0.1 (a free port), does `warmup + count` round trips one at a time, checks
// each comes back with its own number, and exits 0. The rows are bench:protocol's, with the
// same packets and the same server loops, but both sides share this process: there is no IPC,
// no timing and no counting here, so what valgrind counts is the rows' own work.
import http from "node:http";
import { WebSocket, WebSocketServer } from "ws";

const HOST = "127.0.0.1";
const [row, warmupText, countText] = process.argv.slice(2);
const total = Number(warmupText) + Number(countText);
if (!Number.isInteger(total) || total <= 0) throw new Error("usage: echo.mjs <row> <warmup> <count>");

/** A `ws` server on a free port, `serve` called for every connection. */
async function wsServer(serve) {
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", serve);
  return wss.address().port;
}

async function wsClient(port) {
  const ws = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once("open", resolve));
  return ws;
}

/** raw ws: the server sends every message back as it came. */
async function rawWs() {
  const port = await wsServer(function echo(ws) {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  const ws = await wsClient(port);
  let settle = null;
  ws.on("message", (data) => settle(Number(data.toString().slice(1))));
  return (n) =>
    new Promise((resolve) => {
      settle = resolve;
      ws.send(`e${n}`);
    });
}

/** raw ws + JSON frames + channels: bench:protocol's second floor (its server.mjs and client.mjs). */
async function wsJsonChannels() {
  const { chan } = await import("../../../dist/index.js");
  const port = await wsServer(function serve(ws) {
    const echo = chan(1);
    const out = chan(1);
    let seq = 0;
    let seen = 0;
    ws.on("message", (data) => {
      const [, put] = JSON.parse(data.toString());
      seen = put[0];
      void echo.put(put[3]);
    });
    void (async () => {
      for await (const { n } of echo) await out.put(n);
    })();
    void (async () => {
      for await (const n of out) {
        seq += 2;
        ws.send(JSON.stringify([[seq - 1, "a", seen, 1], [seq, "p", "c.1", n]]));
      }
    })();
  });
  const ws = await wsClient(port);
  const reply = chan(1);
  let seq = 0;
  let answered = 0;
  ws.on("message", (data) => {
    const [, put] = JSON.parse(data.toString());
    answered = put[0];
    void reply.put(put[3]);
  });
  return (n) => {
    seq += 2;
    ws.send(JSON.stringify([[seq - 1, "a", answered, 1], [seq, "p", "n:echo", { reply: { "~c": "c.1" }, n }]]));
    return reply.take();
  };
}

/** socket.io over WebSocket: `emitWithAck`, the handler acknowledges with the value. */
async function socketIo() {
  const { Server } = await import("socket.io");
  const { io } = await import("socket.io-client");
  const httpServer = http.createServer();
  const server = new Server(httpServer, { serveClient: false, transports: ["websocket"] });
  server.on("connection", (socket) => socket.on("echo", (value, ack) => ack(value)));
  await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
  const socket = io(`http://${HOST}:${httpServer.address().port}`, { transports: ["websocket"], forceNew: true, reconnection: false });
  await new Promise((resolve) => socket.once("connect", resolve));
  return (n) => socket.emitWithAck("echo", n);
}

/** wirechan over WebSocket: bench:protocol's echo through a server channel. */
async function wirechan() {
  const { createServer } = await import("../../../dist/server/index.js");
  const { connect } = await import("../../../dist/client/index.js");
  const { chan } = await import("../../../dist/index.js");
  const server = createServer();
  const echo = server.channel("echo");
  void (async () => {
    for await (const { reply, n } of echo) await reply.put(n);
  })();
  const { port } = await server.listen({ port: 0, host: HOST });
  const session = await connect(`http://${HOST}:${port}`, { transports: ["websocket"], upgradeProbeInterval: 0, WebSocket });
  const proxy = session.serverChan("echo");
  const reply = chan(1);
  return (n) => {
    void proxy.put({ reply, n });
    return reply.take();
  };
}

const ROWS = { ws: rawWs, "ws-json-chan": wsJsonChannels, "socketio-ws": socketIo, "wirechan-ws": wirechan };
const open = ROWS[row];
if (open === undefined) throw new Error(`unknown row "${row}" (rows: ${Object.keys(ROWS).join(", ")})`);
const roundTrip = await open();
for (let n = 0; n < total; n++) {
  const back = await roundTrip(n);
  if (back !== n) throw new Error(`round trip ${n} came back as ${JSON.stringify(back)}`);
}
// Sockets and timers are left as they are: exiting here ends the count at the same point for every row.
process.exit(0);
