// One load-generator process of the topic benchmark: `node loadgen.mjs <kind>`, kind one of
// topic | loop | ws. topic and loop clients are wirechan sessions over WebSocket
// (bench/shared/children/wirechan-client.mjs), each with one inbox it reads in a loop: a topic
// client subscribes it (`{ subscribe: inbox }` on "t"), a loop client hands it to the server
// (`{ join: inbox }` on "join"). ws clients are bare `ws` sockets. What each client receives is
// checked and counted by bench/shared/children/load-generator.mjs.
import { delivered, now, openRawWs, serveLoadGenerator } from "../../shared/children/load-generator.mjs";
import { openWirechanInbox, Trouble } from "../../shared/children/wirechan-client.mjs";

const kind = process.argv[2];
const trouble = new Trouble();

function subscribe(inbox) {
  return { subscribe: inbox };
}

function join(inbox) {
  return { join: inbox };
}

function openWirechan(url, check) {
  const request = kind === "topic" ? { name: "t", value: subscribe } : { name: "join", value: join };
  return openWirechanInbox(url, { transport: "websocket", ...request, deliver: (msg) => delivered(check, msg, now()), trouble });
}

const OPENERS = { topic: openWirechan, loop: openWirechan, ws: openRawWs };

const open = OPENERS[kind];
if (open === undefined) throw new Error(`unknown client kind "${kind}"`);
serveLoadGenerator(open, () => trouble.report());
