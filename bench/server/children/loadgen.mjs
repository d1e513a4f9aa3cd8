// One load-generator process: `node loadgen.mjs <client-kind>`, kind one of ws | socketio | sse.
// The parent tells it over IPC to open N clients to the server under test; what each client
// receives is checked and counted by bench/shared/children/load-generator.mjs.
import http from "node:http";
import { badMessage, delivered, now, openRawWs, serveLoadGenerator } from "../../shared/children/load-generator.mjs";

const kind = process.argv[2];

let ioClient = null;
async function openSocketIo(url, check) {
  ioClient ??= (await import("socket.io-client")).io;
  return new Promise(function connect(resolve, reject) {
    const socket = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    socket.on("m", (msg) => delivered(check, msg, now()));
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
function openSse(url, check) {
  return new Promise(function connect(resolve, reject) {
    const req = http.get(url, { agent, headers: { accept: "text/event-stream" } }, function response(res) {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE status ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding("utf8");
      let buffered = "";
      res.on("data", function parse(chunk) {
        const at = now();
        buffered += chunk;
        let end;
        while ((end = buffered.indexOf("\n\n")) >= 0) {
          const event = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          let data = null;
          for (const line of event.split("\n")) {
            if (line.startsWith("data:")) data = (data === null ? "" : `${data}\n`) + line.slice(line[5] === " " ? 6 : 5);
          }
          if (data === null) continue; // a comment (heartbeat) or an id-only event
          let msg;
          try {
            msg = JSON.parse(data);
          } catch {
            badMessage();
            continue;
          }
          delivered(check, msg, at);
        }
      });
      resolve(req);
    });
    req.on("error", reject);
  });
}

const OPENERS = { ws: openRawWs, socketio: openSocketIo, sse: openSse };

const open = OPENERS[kind];
if (open === undefined) throw new Error(`unknown client kind "${kind}"`);
serveLoadGenerator(open);
