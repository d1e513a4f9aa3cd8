// The clients of the memory benchmark: `node clients.mjs <kind>`, kind ws (plain `ws` clients,
// perMessageDeflate off) or session (wirechan's Node client, `transports: ["websocket"]`).
// On `open { port, n }` it opens n of them to 127.0.0.1:port, at most 100 connecting at once,
// and answers once every one is open; then they stay idle (a session answers the server's pings).
// Nothing is printed to stdout but errors.
import WebSocket from "ws";

const kind = process.argv[2];
const CONCURRENCY = 100;
/** Kept so the clients stay reachable (and open) until the process ends. */
const clients = [];

function openWs(port) {
  return new Promise(function open(resolve, reject) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

let connect = null;
async function openSession(port) {
  connect ??= (await import("../../../dist/client/index.js")).connect;
  return connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], connectTimeout: 30_000 });
}

async function openAll({ port, n }) {
  const open = kind === "session" ? openSession : openWs;
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      clients.push(await open(port));
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  return { opened: clients.length };
}

process.on("disconnect", () => process.exit(0)); // the parent is gone
process.on("message", async function command(msg) {
  try {
    if (msg.cmd !== "open") throw new Error(`unknown command ${msg.cmd}`);
    process.send({ id: msg.id, ok: true, ...(await openAll(msg)) });
  } catch (error) {
    process.send({ id: msg.id, ok: false, error: String(error?.stack ?? error) });
  }
});
process.send({ ready: true });
