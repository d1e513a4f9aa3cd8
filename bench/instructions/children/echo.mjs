// One side of an echo benchmark, for counting instructions under valgrind:
//   node --predictable echo.mjs server <row>                       prints its port, then serves
//                                                                  one client and exits 0 when it leaves;
//   node --predictable echo.mjs client <row> <port> <warmup> <count>
//                                                                  makes warmup + count round trips one at
//                                                                  a time, checks each came back with its
//                                                                  own number, and exits 0.
// The rows are bench:protocol's, with the same packets and the same server loops, and none of
// its counting or timing. Server and client are two processes, as in bench:protocol: each waits
// for the other in every round trip, so each wakes once per round trip whatever its speed, and
// its count does not depend on timing (in one process the two sides' wake-ups interleave as
// timing has it, and a row's count moved by a third from run to run).
import http from "node:http";
import { WebSocket, WebSocketServer } from "ws";

const HOST = "127.0.0.1";
const [role, row, portText, warmupText, countText] = process.argv.slice(2);

/** The server's process ends when its one client leaves, so valgrind reports its count. */
function exitWhenClosed(emitter) {
  emitter.once("close", () => process.exit(0));
}

/** A `ws` server on a free port, `serve` called for its connection. */
async function wsServer(serve) {
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  wss.on("connection", function accept(ws) {
    exitWhenClosed(ws);
    serve(ws);
  });
  return wss.address().port;
}

async function wsClient(port) {
  const ws = new WebSocket(`ws://${HOST}:${port}`, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once("open", resolve));
  return ws;
}

/** raw ws: the server sends every message back as it came. */
const rawWs = {
  serve: () =>
    wsServer(function echo(ws) {
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    }),
  async open(port) {
    const ws = await wsClient(port);
    let settle = null;
    ws.on("message", (data) => settle(Number(data.toString().slice(1))));
    const roundTrip = (n) =>
      new Promise((resolve) => {
        settle = resolve;
        ws.send(`e${n}`);
      });
    return { roundTrip, close: () => ws.close() };
  },
};

/** raw ws + JSON frames + channels: bench:protocol's second floor (its server.mjs and client.mjs). */
const wsJsonChannels = {
  async serve() {
    const { chan } = await import("../../../dist/index.js");
    return wsServer(function serve(ws) {
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
  },
  async open(port) {
    const { chan } = await import("../../../dist/index.js");
    const ws = await wsClient(port);
    const reply = chan(1);
    let seq = 0;
    let answered = 0;
    ws.on("message", (data) => {
      const [, put] = JSON.parse(data.toString());
      answered = put[0];
      void reply.put(put[3]);
    });
    const roundTrip = (n) => {
      seq += 2;
      ws.send(JSON.stringify([[seq - 1, "a", answered, 1], [seq, "p", "n:echo", { reply: { "~c": "c.1" }, n }]]));
      return reply.take();
    };
    return { roundTrip, close: () => ws.close() };
  },
};

/** socket.io over WebSocket: `emitWithAck`, the handler acknowledges with the value. */
const socketIo = {
  async serve() {
    const { Server } = await import("socket.io");
    const httpServer = http.createServer();
    const server = new Server(httpServer, { serveClient: false, transports: ["websocket"] });
    server.on("connection", function serve(socket) {
      socket.once("disconnect", () => process.exit(0));
      socket.on("echo", (value, ack) => ack(value));
    });
    await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
    return httpServer.address().port;
  },
  async open(port) {
    const { io } = await import("socket.io-client");
    const socket = io(`http://${HOST}:${port}`, { transports: ["websocket"], forceNew: true, reconnection: false });
    await new Promise((resolve) => socket.once("connect", resolve));
    return { roundTrip: (n) => socket.emitWithAck("echo", n), close: () => socket.disconnect() };
  },
};

/** wirechan over WebSocket: bench:protocol's echo through a server channel. */
const wirechan = {
  async serve() {
    const { createServer } = await import("../../../dist/server/index.js");
    const server = createServer();
    const echo = server.channel("echo");
    void (async () => {
      for await (const { reply, n } of echo) await reply.put(n);
    })();
    // A closed session ends the process, as a closed socket does in the other rows.
    server.onSession((event) => {
      if (event.type === "end") process.exit(0);
    });
    const { port } = await server.listen({ port: 0, host: HOST });
    return port;
  },
  async open(port) {
    const { connect } = await import("../../../dist/client/index.js");
    const { chan } = await import("../../../dist/index.js");
    const session = await connect(`http://${HOST}:${port}`, { transports: ["websocket"], upgradeProbeInterval: 0, WebSocket });
    const proxy = session.serverChan("echo");
    const reply = chan(1);
    const roundTrip = (n) => {
      void proxy.put({ reply, n });
      return reply.take();
    };
    return { roundTrip, close: () => session.close() };
  },
};

const ROWS = { ws: rawWs, "ws-json-chan": wsJsonChannels, "socketio-ws": socketIo, "wirechan-ws": wirechan };
const spec = ROWS[row];
if (spec === undefined) throw new Error(`unknown row "${row}" (rows: ${Object.keys(ROWS).join(", ")})`);

if (role === "server") {
  const port = await spec.serve();
  process.stdout.write(`${port}\n`);
} else if (role === "client") {
  const total = Number(warmupText) + Number(countText);
  if (!Number.isInteger(total) || total <= 0) throw new Error("usage: echo.mjs client <row> <port> <warmup> <count>");
  const { roundTrip, close } = await spec.open(Number(portText));
  for (let n = 0; n < total; n++) {
    const back = await roundTrip(n);
    if (back !== n) throw new Error(`round trip ${n} came back as ${JSON.stringify(back)}`);
  }
  await close();
  process.exit(0);
} else throw new Error("usage: echo.mjs server <row> | echo.mjs client <row> <port> <warmup> <count>");
