// The raw ws baseline of the broadcast benchmarks (bench/server, bench/topic): a bare `ws`
// server that serializes each message once and sends the text to every open socket.
import { Buffer } from "node:buffer";

const HOST = "127.0.0.1";

/** A bare `ws` server on 127.0.0.1, listening, and the `ws` module. */
async function listeningServer() {
  const ws = await import("ws");
  const wss = new ws.WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  return { ws, wss, port: wss.address().port };
}

export async function makeRawWs() {
  const { ws, wss, port } = await listeningServer();
  const { OPEN } = ws.WebSocket;
  return {
    port,
    clients: () => wss.clients.size,
    broadcast(obj) {
      const text = JSON.stringify(obj);
      for (const socket of wss.clients) if (socket.readyState === OPEN) socket.send(text);
    },
  };
}

/**
 * A floor, not a library: the raw ws server above, but a broadcast frames the message once and
 * writes that one buffer to every open socket's TCP socket (ws's own, `ws._socket`), as
 * wirechan's `broadcastEncoded` does. What is left of a broadcast's cost per socket is then the
 * write itself.
 */
export async function makeRawWsOneFrame() {
  const { ws, wss, port } = await listeningServer();
  const { OPEN } = ws.WebSocket;
  return {
    port,
    clients: () => wss.clients.size,
    broadcast(obj) {
      const data = Buffer.from(JSON.stringify(obj));
      const frame = Buffer.concat(ws.Sender.frame(data, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
      for (const socket of wss.clients) if (socket.readyState === OPEN) socket._socket.write(frame);
    },
  };
}
