// One load-generator process of the long-polling benchmark: `node loadgen.mjs <kind>`, kind one
// of topic | socketio. topic clients are wirechan's own Node client (`connect` from
// dist/client/index.js, long-polling only, no upgrade probes), each a session with one inbox it
// subscribes to "t" and reads in a loop; socketio clients are socket.io-client on its polling
// transport only. What each client receives is checked and counted by
// bench/shared/children/load-generator.mjs; this process's CPU per phase by client-cpu.mjs.
import { badMessage, delivered, now, serveLoadGenerator } from "../../shared/children/load-generator.mjs";
import { addClient, clientCpu, noteDelivery } from "./client-cpu.mjs";

const kind = process.argv[2];

/** What went wrong with the clients, reported to the parent (which fails the row). */
const trouble = new Map();

function note(what) {
  trouble.set(what, (trouble.get(what) ?? 0) + 1);
}

/** A delivery: its phase noted for the CPU windows, then checked and counted. */
function deliver(check, msg) {
  noteDelivery(msg?.p);
  delivered(check, msg, now());
}

let wirechan = null;
async function loadWirechan() {
  if (wirechan !== null) return wirechan;
  const client = await import("../../../dist/client/index.js");
  const { chan } = await import("../../../dist/index.js");
  wirechan = { connect: client.connect, isTopicDropped: client.isTopicDropped, chan };
  return wirechan;
}

/** Reads the inbox until it closes; every value must be a message of the benchmark. */
async function readInbox(inbox, check, isTopicDropped) {
  for (let v = await inbox.take(); v !== undefined; v = await inbox.take()) {
    if (isTopicDropped(v)) {
      note(`inbox dropped (${v.dropped.code})`);
      badMessage();
    } else deliver(check, v);
  }
}

async function openTopic(url, check) {
  const { connect, isTopicDropped, chan } = await loadWirechan();
  const session = await connect(url, { transports: ["longpoll"], upgradeProbeInterval: 0 });
  if (session.transport !== "longpoll") throw new Error(`connected over ${session.transport}, not longpoll`);
  session.onState(({ state, cause, error }) => note(`session went ${state}${cause === undefined ? "" : ` (${cause.reason ?? JSON.stringify(cause)})`}${error === undefined ? "" : ` (${error.code})`}`));
  const inbox = chan(256);
  void readInbox(inbox, check, isTopicDropped);
  if (!(await session.serverChan("t").put({ subscribe: inbox }))) throw new Error('the put on "t" was refused');
  addClient();
  return session;
}

let ioClient = null;
async function openSocketIo(url, check) {
  ioClient ??= (await import("socket.io-client")).io;
  return new Promise(function connect(resolve, reject) {
    const socket = ioClient(url, { transports: ["polling"], forceNew: true, reconnection: false });
    socket.on("m", (msg) => deliver(check, msg));
    socket.on("disconnect", (reason) => note(`socket disconnected (${reason})`));
    socket.once("connect", () => {
      addClient();
      resolve(socket);
    });
    socket.once("connect_error", reject);
  });
}

/** The client CPU of each phase, and anything a client went through after it opened. */
function report() {
  return { ...clientCpu(), problems: [...trouble].map(([what, count]) => `${count}x ${what}`).join(", ") };
}

const OPENERS = { topic: openTopic, socketio: openSocketIo };

const open = OPENERS[kind];
if (open === undefined) throw new Error(`unknown client kind "${kind}"`);
serveLoadGenerator(open, report);
