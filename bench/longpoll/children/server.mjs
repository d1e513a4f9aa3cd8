// One server process of the long-polling benchmark: `node --expose-gc server.mjs <impl>`, impl
// one of topic | socketio (bench/longpoll/config.ts describes each). It listens on 127.0.0.1 (a
// free port); the control port, the phases and the parent's commands are
// bench/shared/children/broadcast-server.mjs, the request counts http-traffic.mjs. Nothing here
// prints to stdout but errors.
import http from "node:http";
import { serveBroadcast } from "../../shared/children/broadcast-server.mjs";
import { countHttpRequests } from "./http-traffic.mjs";

const HOST = "127.0.0.1";
const impl = process.argv[2];

/** The topic: clients put `{ subscribe: inbox }` on "t"; a broadcast is one `topic.put`. */
async function makeTopic() {
  const { createServer } = await import("../../../dist/server/index.js");
  // Every client of the benchmark comes from 127.0.0.1: one address may hold them all.
  const server = createServer({ maxSessionsPerAddress: 10_000 });
  const topic = server.topic("t");
  const handle = await server.listen({ port: 0, host: HOST });
  return {
    port: handle.port,
    clients: () => topic.subscriberCount,
    broadcast: (obj) => topic.put(obj),
  };
}

/** socket.io on its polling transport only (no upgrade); a broadcast is one `io.emit`. */
async function makeSocketIo() {
  const { Server } = await import("socket.io");
  const httpServer = http.createServer();
  const io = new Server(httpServer, { serveClient: false, transports: ["polling"] });
  await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
  return {
    port: httpServer.address().port,
    clients: () => io.engine.clientsCount,
    broadcast(obj) {
      io.emit("m", obj);
    },
  };
}

const IMPLS = { topic: makeTopic, socketio: makeSocketIo };

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown server "${impl}"`);
  await countHttpRequests();
  await serveBroadcast(make);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
