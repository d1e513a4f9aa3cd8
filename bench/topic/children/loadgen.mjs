// One load-generator process of the topic benchmark: `node loadgen.mjs <kind>`, kind one of
// topic | loop | ws. topic and loop clients are wirechan's own Node client (`connect` from
// dist/client/index.js, WebSocket only, no upgrade probes), each a session with one inbox it
// reads in a loop: a topic client subscribes it (`{ subscribe: inbox }` on "t"), a loop client
// hands it to the server (`{ join: inbox }` on "join"). ws clients are bare `ws` sockets. What
// each client receives is checked and counted by bench/shared/children/load-generator.mjs.
import { badMessage, delivered, now, openRawWs, serveLoadGenerator } from "../../shared/children/load-generator.mjs";

const kind = process.argv[2];

/** What went wrong with wirechan sessions, reported to the parent (which fails the row). */
const trouble = { dropped: new Map(), states: new Map() };

function note(map, key) {
  map.set(key, (map.get(key) ?? 0) + 1);
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
      note(trouble.dropped, v.dropped.code);
      badMessage();
    } else delivered(check, v, now());
  }
}

async function openWirechan(url, check) {
  const { connect, isTopicDropped, chan } = await loadWirechan();
  const session = await connect(url, { transports: ["websocket"], upgradeProbeInterval: 0 });
  session.onState(({ state }) => note(trouble.states, state));
  const inbox = chan(256);
  void readInbox(inbox, check, isTopicDropped);
  const request = kind === "topic" ? ["t", { subscribe: inbox }] : ["join", { join: inbox }];
  if (!(await session.serverChan(request[0]).put(request[1]))) throw new Error(`the put on "${request[0]}" was refused`);
  return session;
}

/** Anything a wirechan session went through after it opened (a reconnect, a drop) fails the row. */
function problems() {
  const words = [];
  for (const [code, count] of trouble.dropped) words.push(`${count} inbox(es) dropped (${code})`);
  for (const [state, count] of trouble.states) words.push(`${count} session(s) went ${state}`);
  return { problems: words.join(", ") };
}

const OPENERS = { topic: openWirechan, loop: openWirechan, ws: openRawWs };

const open = OPENERS[kind];
if (open === undefined) throw new Error(`unknown client kind "${kind}"`);
serveLoadGenerator(open, problems);
