// One server process of the topic benchmark: `node --expose-gc server.mjs <impl>`, impl one of
// topic | loop | ws (bench/topic/config.ts describes each). It listens on 127.0.0.1 (a free
// port); the control port, the phases and the parent's commands are
// bench/shared/children/broadcast-server.mjs, the topic bench/shared/children/topic-server.mjs.
// Nothing here prints to stdout but errors.
import { serveBroadcast } from "../../shared/children/broadcast-server.mjs";
import { makeRawWs } from "../../shared/children/raw-ws-server.mjs";
import { BENCH_SERVER_OPTIONS, makeTopic } from "../../shared/children/topic-server.mjs";

const HOST = "127.0.0.1";
const impl = process.argv[2];

/**
 * Today's fan-out: clients put `{ join: inbox }` on the named channel "join", the server keeps
 * every inbox's proxy and a broadcast is one proxy put per client (each encodes the value for
 * its own session).
 */
async function makeLoop() {
  const { createServer, RemoteChannel } = await import("../../../dist/server/index.js");
  const server = createServer(BENCH_SERVER_OPTIONS);
  const join = server.channel("join", 64);
  const inboxes = [];
  void (async function joins() {
    for await (const request of join) {
      if (request?.join instanceof RemoteChannel) inboxes.push(request.join);
    }
  })();
  const handle = await server.listen({ port: 0, host: HOST });
  return {
    port: handle.port,
    clients: () => inboxes.length,
    broadcast(obj) {
      // A put that fails rejects, unhandled: the process dies and the row fails, loudly.
      for (const inbox of inboxes) void inbox.put(obj);
    },
  };
}

const IMPLS = { topic: makeTopic, loop: makeLoop, ws: makeRawWs };

async function main() {
  const make = IMPLS[impl];
  if (make === undefined) throw new Error(`unknown server "${impl}"`);
  await serveBroadcast(make);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
