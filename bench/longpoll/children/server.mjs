// One server process of the long-polling benchmark: `node --expose-gc server.mjs <impl>`, impl
// one of topic | socketio (bench/longpoll/config.ts describes each). It listens on 127.0.0.1 (a
// free port); the control port, the phases and the parent's commands are
// bench/shared/children/broadcast-server.mjs, the topic bench/shared/children/topic-server.mjs
// (the same as bench/topic's), socket.io socketio-server.mjs beside it (bench/server's too), the
// request counts http-traffic.mjs. Nothing here prints to stdout but errors.
import { serveBroadcast } from "../../shared/children/broadcast-server.mjs";
import { makeSocketIo } from "../../shared/children/socketio-server.mjs";
import { makeTopic } from "../../shared/children/topic-server.mjs";
import { countHttpRequests } from "./http-traffic.mjs";

const impl = process.argv[2];

const IMPLS = { topic: makeTopic, socketio: () => makeSocketIo("polling") };

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
