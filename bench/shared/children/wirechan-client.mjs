// The wirechan clients of the broadcast benchmarks' load generators (bench/topic, bench/longpoll):
// wirechan's own Node client (`connect` from dist/client/index.js, one transport, no upgrade
// probes), each a session with one inbox that it hands to the server by a put and reads in a
// loop. Anything a session goes through after it opened (a reconnect, a dropped inbox) is noted
// in `trouble`, and fails the row through the load generator's report.
import { badMessage } from "./load-generator.mjs";

let wirechan = null;
async function loadWirechan() {
  if (wirechan !== null) return wirechan;
  const client = await import("../../../dist/client/index.js");
  const { chan } = await import("../../../dist/index.js");
  wirechan = { connect: client.connect, isTopicDropped: client.isTopicDropped, chan };
  return wirechan;
}

/** Counts of what went wrong, by what: reported to the parent, which fails the row. */
export class Trouble {
  #counts = new Map();

  note(what) {
    this.#counts.set(what, (this.#counts.get(what) ?? 0) + 1);
  }

  /** For a load generator's report: `problems`, empty when nothing went wrong. */
  report() {
    return { problems: [...this.#counts].map(([what, count]) => `${count}x ${what}`).join(", ") };
  }
}

/** Reads the inbox until it closes, handing each benchmark message to `deliver`. */
async function readInbox(inbox, deliver, isTopicDropped, trouble) {
  for (let v = await inbox.take(); v !== undefined; v = await inbox.take()) {
    if (isTopicDropped(v)) {
      trouble.note(`inbox dropped (${v.dropped.code})`);
      badMessage();
    } else deliver(v);
  }
}

/** Why a session changed state after it opened, for `trouble`. */
function stateChange({ state, cause, error }) {
  return `session went ${state}${cause === undefined ? "" : ` (${cause.reason ?? JSON.stringify(cause)})`}${error === undefined ? "" : ` (${error.code})`}`;
}

/**
 * Opens a session over `transport` only and puts `value(inbox)` on the server channel `name`
 * (`{ subscribe: inbox }` on "t", `{ join: inbox }` on "join"); `deliver` gets each message.
 */
export async function openWirechanInbox(url, { transport, name, value, deliver, trouble }) {
  const { connect, isTopicDropped, chan } = await loadWirechan();
  const session = await connect(url, { transports: [transport], upgradeProbeInterval: 0 });
  if (session.transport !== transport) throw new Error(`connected over ${session.transport}, not ${transport}`);
  session.onState((change) => trouble.note(stateChange(change)));
  const inbox = chan(256);
  void readInbox(inbox, deliver, isTopicDropped, trouble);
  if (!(await session.serverChan(name).put(value(inbox)))) throw new Error(`the put on "${name}" was refused`);
  return session;
}
