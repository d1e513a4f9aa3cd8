// One server process of the long-polling benchmark: `node --expose-gc server.mjs <impl>`, impl
// one of topic | socketio (bench/longpoll/config.ts describes each). It listens on 127.0.0.1 (a
// free port); the control port, the phases and the parent's commands are
// bench/shared/children/broadcast-server.mjs, the topic bench/shared/children/topic-server.mjs
// (the same as bench/topic's), the request counts http-traffic.mjs. Nothing here prints to
// stdout but errors.
import http from "node:http";
import { serveBroadcast } from "../../shared/children/broadcast-server.mjs";
import { makeTopic } from "../../shared/children/topic-server.mjs";
import { countHttpRequests } from "./http-traffic.mjs";

const HOST = "127.0.0.1";
const impl = process.argv[2];

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
