// Releasing proxies (docs/protocol.md section 5): a proxy that becomes unreachable is released
// through its FinalizationRegistry (checked in a child process with --expose-gc, see
// gc-script.ts), and close() or Symbol.dispose release at once. Either way the owner forgets
// the reference, its channel stays open, and the channel tables of both sides shrink.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it, type TestContext } from "node:test";
import { type Channel, chan } from "../../src/csp/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { createServer, type Envelope, RemoteChannel, type WirechanServer } from "../../src/server/index.js";
import { until } from "../helpers/async.js";
import { clientPeer, RawSocket, serverSession, within } from "./security-wire.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TEST = { timeout: 60_000 };

interface GcResult {
  error?: string;
  arrivedAsProxy: boolean;
  keptStillWorks: boolean;
  clientBefore: number;
  clientAfter: number;
  serverBefore: number;
  serverAfter: number;
  rounds: number;
  ownerChannelClosed: boolean;
  state: string;
}

function runGcScript(): Promise<{ result: GcResult; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "test/protocol/gc-script.ts"],
      { cwd: ROOT, timeout: 45_000, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split("\n").at(-1) ?? "";
        try {
          resolve({ result: JSON.parse(line) as GcResult, stderr });
        } catch {
          reject(new Error(`gc-script printed no JSON result (${error?.message ?? "exit 0"}); stdout: ${stdout.slice(0, 500)}; stderr: ${stderr.slice(0, 2_000)}`));
        }
      },
    );
  });
}

type Give = Channel<Envelope<{ to: RemoteChannel<number> }>>;

async function start(t: TestContext): Promise<{ server: WirechanServer; session: Session; give: Give }> {
  const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
  const give = server.channel<{ to: RemoteChannel<number> }>("give", { envelope: true });
  const handle = await server.listen();
  t.after(() => handle.close());
  const session = await connect(handle.url, { transports: ["websocket"], upgradeProbeInterval: 0, connectTimeout: 5_000 });
  t.after(() => session.close());
  return { server, session, give };
}

/** Sends `channel` to the server `copies` times inside values; the server's proxy of it. */
async function proxyOnServer(give: Give, session: Session, channel: object, copies = 1): Promise<RemoteChannel<number>> {
  const proxies: Array<RemoteChannel<number>> = [];
  for (let i = 0; i < copies; i++) {
    const put = session.serverChan<{ to: object }>("give").put({ to: channel });
    const envelope = (await within(give.take(), "the value with the channel")) as Envelope<{ to: RemoteChannel<number> }>;
    assert.equal(await within(put, "the client's put"), true);
    proxies.push(envelope.value.to);
  }
  const first = proxies[0] as RemoteChannel<number>;
  assert.ok(first instanceof RemoteChannel, "the channel arrived as a proxy");
  assert.ok(proxies.every((p) => p === first), "every copy of one channel arrives as the same proxy");
  return first;
}

describe("releasing proxies", TEST, () => {
  it("a server-side proxy nobody references any more is released after GC, and the client forgets its export", async () => {
    const { result, stderr } = await runGcScript();
    assert.equal(result.error, undefined, `the script ran (${result.error ?? ""}; stderr: ${stderr.slice(0, 2_000)})`);
    assert.equal(result.arrivedAsProxy, true, "the client's channel arrived on the server as a proxy");
    assert.ok(result.serverBefore >= 2, `the server held the proxies (${result.serverBefore})`);
    assert.equal(result.serverAfter, result.serverBefore - 1, `the server's import table lost exactly the collected proxy (${result.serverBefore} → ${result.serverAfter})`);
    assert.equal(result.clientAfter, result.clientBefore - 1, `the client's export table shrank by one (${result.clientBefore} → ${result.clientAfter}, after ${result.rounds} gc rounds)`);
    assert.equal(result.keptStillWorks, true, "a proxy still referenced was not released, and still delivers");
    assert.equal(result.ownerChannelClosed, false, "releasing is not closing: the client's channel stays open");
    assert.equal(result.state, "open", "the session goes on");
  });

  for (const how of ["close()", "[Symbol.dispose]()"] as const) {
    it(`${how} releases a proxy at once: both tables shrink, the owner's channel stays open`, async (t) => {
      const { server, session, give } = await start(t);
      const mine = chan<number>(1);
      const proxy = await proxyOnServer(give, session, mine, 3);
      const serverPeer = serverSession(server, session.id as string).peer;
      const peer = clientPeer(session);
      const clientBefore = peer.channelCount;
      const serverBefore = serverPeer.channelCount;
      assert.equal(await within(proxy.put(1), "a put through the proxy"), true, "the proxy works before");
      assert.equal(mine.poll(), 1);

      if (how === "close()") assert.equal(proxy.close(), true, "close() is true the first time");
      else proxy[Symbol.dispose]();
      assert.equal(proxy.closed, true, "the proxy is closed");
      assert.equal(serverPeer.channelCount, serverBefore - 1, "the server forgets its proxy at once");
      await until(() => peer.channelCount === clientBefore - 1, `the client to forget its export after all 3 copies were released (${peer.channelCount})`);
      assert.equal(mine.closed, false, "the client's channel stays open");
      assert.equal(await proxy.put(2), false, "a put to a released proxy resolves false");
      assert.equal(proxy.close(), false, "closing again is a no-op");
      proxy[Symbol.dispose]();
      assert.equal(peer.channelCount, clientBefore - 1, "releasing twice releases nothing more");

      // The client sends the channel again: a fresh proxy, a fresh export, and it works.
      const again = await proxyOnServer(give, session, mine);
      assert.notEqual(again, proxy, "a new proxy");
      assert.equal(await within(again.put(3), "a put through the new proxy"), true);
      assert.equal(mine.poll(), 3);
      assert.equal(peer.channelCount, clientBefore, "exported again");
    });
  }

  it("a reference the client released is forgotten by the server; a put to it is answered as to a closed channel", async (t) => {
    const server = createServer({ heartbeat: 30_000, heartbeatTimeout: 60_000, closeTimeout: 1_000 });
    const handle = await server.listen();
    t.after(() => handle.close());
    const made = chan<number>(4);
    const give = server.channel<{ reply: RemoteChannel<unknown> }>("give");
    void (async () => {
      for await (const { reply } of give) await reply.put(made);
    })();
    const socket = await RawSocket.connect(handle.url);
    t.after(() => socket.terminate());
    await socket.hello();
    socket.put("n:give", { reply: { "~c": "c.1" } });
    const delivered = await socket.frame((f) => typeof f[0] === "number" && f[1] === "p" && f[2] === "c.1", "the server's channel");
    const ref = (delivered[3] as Record<string, string>)["~c"] as string;
    socket.sendSeq("a", delivered[0], 1);
    const serverPeer = serverSession(server, socket.sid as string).peer;
    await until(() => serverPeer.channelCount === 2, "the server to hold its export and its proxy of c.1");

    socket.sendSeq("r", ref, 1);
    await until(() => serverPeer.channelCount === 1, `the server to forget its export once its only copy was released (${serverPeer.channelCount})`);
    const seq = socket.put(ref, 7);
    const answer = await socket.frame((f) => typeof f[0] === "number" && f[1] === "a" && f[2] === seq, "the answer to a put to a released reference");
    assert.equal(answer[3], 0, "answered as a put to a closed channel");
    assert.equal(made.poll(), undefined, "nothing reached the server's channel");
    assert.equal(made.closed, false, "releasing did not close the server's channel");
    assert.equal(await socket.answersPing("after-release"), true, "the session goes on");
  });
});
