// Counts the WebSocket messages a server process sends and receives, whatever library on top of
// `ws` sends them (wirechan's server, socket.io's engine, a bare ws server): the prototype of
// ws's WebSocket is wrapped once, before any socket exists. A bench child only: it changes `ws`
// for the whole process.
const counts = { sent: 0, received: 0 };
let installed = false;

/** Starts counting (once per process) and returns the live counts. */
export async function countWsTraffic() {
  if (!installed) {
    installed = true;
    const { WebSocket } = await import("ws");
    const { send, emit } = WebSocket.prototype;
    WebSocket.prototype.send = function countedSend(...args) {
      counts.sent++;
      return send.apply(this, args);
    };
    WebSocket.prototype.emit = function countedEmit(event, ...args) {
      if (event === "message") counts.received++;
      return emit.call(this, event, ...args);
    };
  }
  return counts;
}
