// The socket.io server of the broadcast benchmarks (bench/server over WebSocket, bench/longpoll
// over polling): one transport only, no upgrade; a broadcast is one `io.emit`.
import http from "node:http";

const HOST = "127.0.0.1";

/** A socket.io server on 127.0.0.1 (a free port) with only `transport`. */
export async function makeSocketIo(transport) {
  const { Server } = await import("socket.io");
  const httpServer = http.createServer();
  const io = new Server(httpServer, { serveClient: false, transports: [transport] });
  return listenForBroadcasts(httpServer, io);
}

/** Listens on 127.0.0.1 (a free port); a broadcast is one `io.emit("m", …)`. Also bench/cluster's nodes. */
export async function listenForBroadcasts(httpServer, io) {
  await new Promise((resolve) => httpServer.listen(0, HOST, resolve));
  return {
    port: httpServer.address().port,
    clients: () => io.engine.clientsCount,
    broadcast(obj) {
      io.emit("m", obj);
    },
  };
}
