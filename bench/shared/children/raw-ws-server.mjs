// The raw ws baseline of the broadcast benchmarks (bench/server, bench/topic): a bare `ws`
// server that serializes each message once and sends the text to every open socket.
import { Buffer } from "node:buffer";

const HOST = "127.0.0.1";

export async function makeRawWs() {
  const { WebSocketServer, WebSocket } = await import("ws");
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  return {
    port: wss.address().port,
    clients: () => wss.clients.size,
    broadcast(obj) {
      const text = JSON.stringify(obj);
      for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(text);
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
  const { WebSocketServer, WebSocket, Sender } = await import("ws");
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once("listening", resolve));
  return {
    port: wss.address().port,
    clients: () => wss.clients.size,
    broadcast(obj) {
      const data = Buffer.from(JSON.stringify(obj));
      const frame = Buffer.concat(Sender.frame(data, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
      for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws._socket.write(frame);
    },
  };
}
