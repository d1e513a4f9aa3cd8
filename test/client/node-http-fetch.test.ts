// The Node client's fetch (src/client/node-http.ts) over a real server on 127.0.0.1: request
// targets made once per URL and bounded, and the abort listener of each request removed when it
// is over. And the SSE link's decoding (src/client/http-links.ts): text in every script arrives
// whole however the stream's bytes were split. Counted, never timed.
import assert from "node:assert/strict";
import { getEventListeners, once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { openHttp } from "../../src/client/http-links.js";
import type { ClientLink, HttpAnswer, HttpRequest, LinkDown, TransportContext } from "../../src/client/link.js";
import { MAX_TARGETS, nodeHttpFetch } from "../../src/client/node-http.js";
import { jsonCodec } from "../../src/wire/codec.js";
import { welcomePacket } from "../../src/wire/handshake.js";
import { until, within } from "../helpers/async.js";

const TEST = { timeout: 30_000 };

/** Text in several scripts, with characters of two, three and four UTF-8 bytes. */
const SCRIPTS = "héllo Ωμέγα Привет שלום مرحبا नमस्ते こんにちは 你好 안녕 🙂🚀 ok";

/** A plain HTTP server on 127.0.0.1 answering every request by `handle`; closed, with its sockets, after the test. */
async function httpServer(t: TestContext, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createHttpServer(handle);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

describe("the Node client's fetch (node-http.ts)", () => {
  it(`keeps the targets of at most ${MAX_TARGETS} URLs, and serves every URL past that, each at its own path and query`, TEST, async (t) => {
    const port = await httpServer(t, (req, res) => res.end(`${req.method ?? ""} ${req.url ?? ""}`));
    const fetch = await nodeHttpFetch();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < MAX_TARGETS * 3; i++) {
        const url = new URL(`http://127.0.0.1:${port}/path/${i}?q=${round}`);
        const answer = await fetch(url, { method: i % 2 === 0 ? "GET" : "POST", body: i % 2 === 0 ? undefined : "x" });
        assert.equal(await answer.text(), `${i % 2 === 0 ? "GET" : "POST"} /path/${i}?q=${round}`);
      }
    }
  });

  it("a request's abort listener goes once it is over, so a signal shared by many requests keeps none; aborting fails the one in flight", TEST, async (t) => {
    const held: ServerResponse[] = [];
    const port = await httpServer(t, (req, res) => {
      if (req.url === "/hold") held.push(res);
      else res.end("done");
    });
    const fetch = await nodeHttpFetch();
    const controller = new AbortController();
    const { signal } = controller;
    for (let i = 0; i < 20; i++) assert.equal(await (await fetch(new URL(`http://127.0.0.1:${port}/done`), { signal })).text(), "done");
    assert.equal(getEventListeners(signal, "abort").length, 0);
    const waiting = fetch(new URL(`http://127.0.0.1:${port}/hold`), { signal });
    await until(() => held.length === 1, "the held request to reach the server");
    assert.equal(getEventListeners(signal, "abort").length, 1);
    controller.abort();
    const error = await within(
      waiting.then(
        () => assert.fail("the held request resolved"),
        (reason: unknown) => reason,
      ),
      "the held request to fail",
    );
    assert.equal((error as Error).name, "AbortError");
  });
});

/** A response whose body is `bytes`, one byte per chunk of its stream. */
function byteByByte(bytes: Uint8Array): HttpAnswer {
  let next = 0;
  return {
    ok: true,
    status: 200,
    text: () => Promise.resolve(""),
    body: new ReadableStream<BufferSource>({
      pull(controller) {
        if (next < bytes.length) controller.enqueue(bytes.slice(next, ++next));
        else controller.close();
      },
    }),
  };
}

describe("the SSE link's text", () => {
  it("every event arrives whole, in every script, when each byte of the stream came alone", TEST, async () => {
    const events = Array.from({ length: 5 }, (_, i) => `[[${i + 1},"p","c.1",${JSON.stringify(`${i} ${SCRIPTS}`)}]]`);
    // The server's first event is a ping; the packets follow.
    const stream = new TextEncoder().encode([`data: [["ping","t"]]\n\n`, ...events.map((event) => `data: ${event}\n\n`)].join(""));
    const welcome = welcomePacket({ sid: "s".repeat(22), secret: "k".repeat(22), recv: 0, resumed: false, heartbeat: 30_000, window: 256, limits: { maxMessageSize: 1 << 20, maxChannels: 1000 } });
    const context: TransportContext = {
      endpoint: new URL("http://127.0.0.1:1/wirechan"),
      connectTimeout: 10_000,
      maxMessageSize: 1 << 20,
      WebSocket: undefined,
      eventStreams: true,
      codec: jsonCodec,
      fetch: (url: URL, init: HttpRequest): Promise<HttpAnswer> => {
        if (url.pathname.endsWith("/open")) return Promise.resolve({ ok: true, status: 200, text: () => Promise.resolve(welcome), body: null });
        if (url.pathname.endsWith("/sse")) return Promise.resolve(byteByByte(stream));
        return Promise.reject(new Error(`unexpected ${init.method ?? "GET"} ${url.pathname}`));
      },
    };
    const packets: string[] = [];
    const downs: LinkDown[] = [];
    const { link } = await openHttp("sse", context, { sid: null, secret: null, recv: 0 }, {
      onPacket: (_link: ClientLink, text: string) => void packets.push(text),
      onAnswer: () => undefined,
      onDown: (_link: ClientLink, down: LinkDown) => void downs.push(down),
      received: () => 0,
    });
    link.start();
    await until(() => downs.length > 0, "the stream to end");
    link.close();
    assert.deepEqual(packets.slice(1), events);
    assert.equal(downs[0]?.reason, "the event stream ended");
  });
});
