// Counts the HTTP requests a server process answers, whatever library serves them (wirechan's
// server, socket.io's engine): node:http's Server.prototype.emit is wrapped once, before any
// server exists. The counts go into the live counts of bench/shared/children/ws-traffic.mjs,
// which broadcast-server.mjs reports per phase: over long-polling no WebSocket message is sent,
// so there `received` counts every request and `sent` the GETs among them (the polls; the rest
// are POSTs, the upstream). A bench child only: it changes node:http for the whole process.
import http from "node:http";
import { countWsTraffic } from "../../shared/children/ws-traffic.mjs";

let installed = false;

export async function countHttpRequests() {
  if (installed) return;
  installed = true;
  const counts = await countWsTraffic();
  const { emit } = http.Server.prototype;
  http.Server.prototype.emit = function countedEmit(event, ...args) {
    if (event === "request") {
      counts.received++;
      if (args[0]?.method === "GET") counts.sent++;
    }
    return emit.call(this, event, ...args);
  };
}
