// The raw ws baseline of the broadcast benchmarks (bench/server, bench/topic): a bare `ws`
// server that serializes each message once and sends the text to every open socket.
import { Buffer } from "node:buffer";

const HOST = "127.0.0.1";

/**
 * A bare `ws` server on 127.0.0.1, listening, whose broadcast is `send(sockets, obj, OPEN, ws)`:
 * the baseline's and the floor's two ways of writing, on one server.
 */
async function rawWsServer(send) {
  const ws = await import("ws");
  const wss = new ws.WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  const { OPEN } = ws.WebSocket;
  return { port: wss.address().port, clients: () => wss.clients.size, broadcast: (obj) => send(wss.clients, obj, OPEN, ws) };
}

export function makeRawWs() {
  return rawWsServer(function sendText(sockets, obj, OPEN) {
    const text = JSON.stringify(obj);
    for (const socket of sockets) if (socket.readyState === OPEN) socket.send(text);
  });
}

/**
 * A floor, not a library: the raw ws server above, but a broadcast frames the message once and
 * writes that one buffer to every open socket's TCP socket (ws's own, `ws._socket`), as
 * wirechan's `broadcastEncoded` does. What is left of a broadcast's cost per socket is then the
 * write itself.
 */
export function makeRawWsOneFrame() {
  return rawWsServer(function writeFrame(sockets, obj, OPEN, ws) {
    const data = Buffer.from(JSON.stringify(obj));
    const frame = Buffer.concat(ws.Sender.frame(data, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
    for (const socket of sockets) if (socket.readyState === OPEN) socket._socket.write(frame);
  });
}
