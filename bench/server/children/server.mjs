// One benchmark server process: `node --expose-gc server.mjs <impl>`, impl one of
// wirechan-ws | ws | socketio | wirechan-sse | http-sse. It listens on 127.0.0.1 (a free port);
// the control port, the phases and the parent's commands are bench/shared/children/broadcast-server.mjs.
// Nothing here prints to stdout but errors.
import http from "node:http";
import { serveBroadcast } from "../../shared/children/broadcast-server.mjs";
import { makeRawWs, makeRawWsOneFrame } from "../../shared/children/raw-ws-server.mjs";
import { makeSocketIo } from "../../shared/children/socketio-server.mjs";

const HOST = "127.0.0.1";
const impl = process.argv[2];

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
  "ws-frame": makeRawWsOneFrame,
  socketio: () => makeSocketIo("websocket"),
  "wirechan-sse": makeWirechanSse,
  "http-sse": makeHttpSse,
};

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown server "${impl}"`);
  await serveBroadcast(make);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
