// One load-generator process of the long-polling benchmark: `node loadgen.mjs <kind>`, kind one
// of topic | socketio. topic clients are wirechan sessions over long-polling only
// (bench/shared/children/wirechan-client.mjs), each subscribing one inbox to "t" and reading it
// in a loop; socketio clients are socket.io-client on its polling transport only. What each
// client receives is checked and counted by bench/shared/children/load-generator.mjs; this
// process's CPU per phase by client-cpu.mjs.
import { delivered, now, serveLoadGenerator } from "../../shared/children/load-generator.mjs";
import { openWirechanInbox, Trouble } from "../../shared/children/wirechan-client.mjs";
import { addClient, clientCpu, noteDelivery } from "./client-cpu.mjs";

const kind = process.argv[2];
const trouble = new Trouble();

/** A delivery: its phase noted for the CPU windows, then checked and counted. */
function deliver(check, msg) {
  noteDelivery(msg?.p);
  delivered(check, msg, now());
}

function subscribe(inbox) {
  return { subscribe: inbox };
}

async function openTopic(url, check) {
  const session = await openWirechanInbox(url, { transport: "longpoll", name: "t", value: subscribe, deliver: (msg) => deliver(check, msg), trouble });
  addClient();
  return session;
}

let ioClient = null;
async function openSocketIo(url, check) {
  ioClient ??= (await import("socket.io-client")).io;
  return new Promise(function connect(resolve, reject) {
    const socket = ioClient(url, { transports: ["polling"], forceNew: true, reconnection: false });
    socket.on("m", (msg) => deliver(check, msg));
    socket.on("disconnect", (reason) => trouble.note(`socket disconnected (${reason})`));
    socket.once("connect", () => {
      addClient();
      resolve(socket);
    });
    socket.once("connect_error", reject);
  });
}

/** The client CPU of each phase, and anything a client went through after it opened. */
function report() {
  return { ...clientCpu(), ...trouble.report() };
}

const OPENERS = { topic: openTopic, socketio: openSocketIo };

const open = OPENERS[kind];
if (open === undefined) throw new Error(`unknown client kind "${kind}"`);
serveLoadGenerator(open, report);
