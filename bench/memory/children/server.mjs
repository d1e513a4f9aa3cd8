// One server of the memory benchmark: `node --expose-gc server.mjs <impl>`, impl one of
// raw-ws | connection | session. It listens on 127.0.0.1 (a free port), holds every client
// idle, and answers the parent's commands over IPC: `count` (clients it holds), `memory`
// (RSS and heap used after 3 GCs) and `snapshot` (a heap snapshot written to `path`).
// Nothing is printed to stdout but errors.
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";

const HOST = "127.0.0.1";
const impl = process.argv[2];

function gcMemory() {
  if (typeof globalThis.gc !== "function") throw new Error("start the server with --expose-gc");
  for (let i = 0; i < 3; i++) globalThis.gc();
  const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  // The young generation: V8 grows it under allocation and a full GC does not shrink it, so it
  // shows in RSS without being anybody's objects.
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
  return { rss, heapTotal, heapUsed, external, arrayBuffers, newSpace };
}

/** The reference: what the table calls raw ws. */
async function makeRawWs() {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  // As every server here, it listens for messages (and would drop them): an idle server still reads.
  wss.on("connection", function serve(ws) {
    ws.on("message", function ignore() {});
  });
  return { port: wss.address().port, count: () => wss.clients.size };
}

/** A wirechan Connection over WebSocket, as bench:server measures it: one group of every connection. */
async function makeConnection() {
  const { createServer, withChannel, MemoryChannelStore } = await import("../../../dist/server/index.js");
  const server = createServer({ maxConnections: 100_000 });
  const store = new MemoryChannelStore();
  let open = 0;
  server.route("*", function handle(req) {
    withChannel(req, function join(conn) {
      open++;
      store.addToGroup("all", conn, null);
      conn.onClose(function left() {
        open--;
      });
    });
  });
  const handle = await server.listen({ port: 0, host: HOST });
  return { port: handle.port, count: () => open };
}

/** A wirechan protocol session over WebSocket: the clients `connect` and stay idle. */
async function makeSession() {
  const { createServer } = await import("../../../dist/server/index.js");
  const server = createServer({ maxConnections: 100_000, maxSessions: 100_000, maxSessionsPerAddress: 100_000 });
  const handle = await server.listen({ port: 0, host: HOST });
  return { port: handle.port, count: () => server.sessionCount };
}

const IMPLS = { "raw-ws": makeRawWs, connection: makeConnection, session: makeSession };

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown server "${impl}"`);
  const server = await make();
  process.on("disconnect", () => process.exit(0)); // the parent is gone
  process.on("message", function command(msg) {
    try {
      let reply;
      if (msg.cmd === "count") reply = { count: server.count() };
      else if (msg.cmd === "memory") reply = gcMemory();
      else if (msg.cmd === "snapshot") {
        gcMemory();
        reply = { path: writeHeapSnapshot(msg.path) };
      } else throw new Error(`unknown command ${msg.cmd}`);
      process.send({ id: msg.id, ok: true, ...reply });
    } catch (error) {
      process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
    }
  });
  process.send({ ready: true, port: server.port, ...gcMemory() });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
