// The raw ws baseline of the broadcast benchmarks (bench/server, bench/topic): a bare `ws`
// server that serializes each message once and sends the text to every open socket.
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
