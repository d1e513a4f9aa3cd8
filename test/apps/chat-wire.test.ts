// The seed's chat over the network: what `npm start` serves, driven by Node clients on
// different transports through a proxy that cuts their connections.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { parseArgs, startChatApp } from "../../apps/chat/server.js";
import { type Channel, chan } from "../../src/csp/index.js";
import { connect, type Session } from "../../src/client/index.js";
import type { TransportName } from "../../src/client/transports.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { until } from "../helpers/async.js";

type ChatRequest = { add: Channel<string[]> } | { msg: string };

/** A chat client: its listener channel, and every line it has received, history included. */
class ChatClient {
  readonly lines: string[] = [];
  private readonly inbox = chan<string[]>(16);

  private constructor(
    readonly name: string,
    readonly session: Session,
  ) {}

  static async join(name: string, url: string, transport: TransportName): Promise<ChatClient> {
    const session = await connect(url, { transports: [transport], reconnect: { initial: 5, max: 50, jitter: 0.5 }, upgradeProbeInterval: 0 });
    const client = new ChatClient(name, session);
    void client.listen();
    await session.serverChan<ChatRequest>("chat").put({ add: client.inbox });
    return client;
  }

  say(text: string): Promise<boolean> {
    return this.session.serverChan<ChatRequest>("chat").put({ msg: `${this.name}: ${text}` });
  }

  private async listen(): Promise<void> {
    for await (const batch of this.inbox) this.lines.push(...batch);
  }
}

describe("the chat over the network", { timeout: 120_000 }, () => {
  it("two clients on different transports, through random cuts: every line once, in order, the censor applied", async (t) => {
    const handle = await startChatApp({ port: 0, server: { heartbeat: 500, heartbeatTimeout: 2_000, pollTimeout: 1_000 } });
    const proxy = await FaultProxy.start({ targetPort: handle.port });
    t.after(async () => {
      await proxy.close();
      await handle.close();
    });
    const alice = await ChatClient.join("alice", proxy.url, "websocket");
    const bob = await ChatClient.join("bob", proxy.url, "longpoll");
    t.after(() => {
      alice.session.close();
      bob.session.close();
    });
    const cutting = proxy.cutRandomly({ count: 30, minBytes: 500, maxBytes: 5_000 });
    cutting.catch(() => undefined);
    const expected: string[] = [];
    for (let i = 0; i < 200; i++) {
      const speaker = i % 2 === 0 ? alice : bob;
      const text = i % 50 === 0 ? `line ${i}, heck` : `line ${i}`;
      assert.equal(await speaker.say(text), true, `${speaker.name}'s line ${i} was taken`);
      expected.push(`${speaker.name}: ${text.replace("heck", "****")}`);
    }
    await until(() => alice.lines.length >= expected.length && bob.lines.length >= expected.length, "both clients to get every line", 60_000);
    proxy.stopCutting();
    t.diagnostic(`${proxy.cuts} cuts`);
    assert.ok(proxy.cuts > 0, "the connections were cut");
    assert.deepEqual(alice.lines, expected, "alice got every line once, in order");
    assert.deepEqual(bob.lines, expected, "bob got every line once, in order");
  });

  it("a late joiner gets the history first; requests that are not chat requests are ignored", async (t) => {
    const handle = await startChatApp({ port: 0 });
    t.after(() => handle.close());
    const first = await ChatClient.join("first", handle.url, "sse");
    t.after(() => first.session.close());
    await first.say("hello");
    assert.equal(await first.session.serverChan<unknown>("chat").put({ add: "not a channel" }), true, "taken, and ignored");
    assert.equal(await first.session.serverChan<unknown>("chat").put(42), true);
    const late = await ChatClient.join("late", handle.url, "websocket");
    t.after(() => late.session.close());
    await until(() => late.lines.length === 1, "the history", 60_000);
    assert.deepEqual(late.lines, ["first: hello"]);
  });

  it("npm start's program prints where it listens and serves the chat", async (t) => {
    const child = spawn(process.execPath, ["--import", "tsx", "apps/chat/server.ts", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    t.after(() => child.kill("SIGKILL"));
    let output = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (output += chunk));
    await until(() => /listening on http:\/\/127\.0\.0\.1:\d+\n/.test(output), "the listening line", 60_000);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] as string;
    const client = await ChatClient.join("cli", url, "websocket");
    await client.say("over the real program");
    await until(() => client.lines.length === 1, "the line back", 60_000);
    assert.deepEqual(client.lines, ["cli: over the real program"]);
    client.session.close();
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, "SIGTERM stops it cleanly");
  });

  it("reads --port, then PORT, then 3000", () => {
    assert.deepEqual(parseArgs(["--port", "4000"], { PORT: "5000" }), { port: 4000, host: "127.0.0.1" });
    assert.deepEqual(parseArgs([], { PORT: "5000" }), { port: 5000, host: "127.0.0.1" });
    assert.deepEqual(parseArgs([], {}), { port: 3000, host: "127.0.0.1" });
    assert.throws(() => parseArgs(["--port", "x"], {}), RangeError);
  });
});
