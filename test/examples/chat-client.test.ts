// The terminal chat client (examples/chat-client.ts) against the real chat on a real server on
// 127.0.0.1: it sees the room, its lines go through the server's pipeline, a refusal is printed,
// and a restarted server (its session lost) is joined afresh with a line cut short said once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mountChat } from "../../apps/chat/chat-app.js";
import { ChatClient, parseChatClientArgs } from "../../examples/chat-client.js";
import { createServer, type ServerHandle } from "../../src/server/index.js";
import { until } from "../helpers/async.js";

interface RunningChat {
  handle: ServerHandle;
  close(): Promise<void>;
}

async function startChat(port = 0): Promise<RunningChat> {
  const server = createServer({ logger: { error() {}, warn() {} } });
  const chat = mountChat(server);
  const handle = await server.listen({ port });
  return {
    handle,
    close: async () => {
      chat.close();
      await handle.close();
    },
  };
}

function printer(): { lines: string[]; print(text: string): void } {
  const lines: string[] = [];
  return { lines, print: (text) => lines.push(text) };
}

describe("examples/chat-client.ts", () => {
  it("reads the server from --url, else PORT as npm start does, else 3000", () => {
    assert.deepEqual(parseChatClientArgs(["--url", "http://127.0.0.1:9/", "--nick", "ann"], {}), { url: "http://127.0.0.1:9/", nick: "ann" });
    assert.equal(parseChatClientArgs([], { PORT: "4444", USER: "bo" }).url, "http://127.0.0.1:4444");
    assert.deepEqual(parseChatClientArgs([], {}), { url: "http://127.0.0.1:3000", nick: "terminal" });
  });

  it("two clients see each other's lines once, through the censor, emoticons and auto-correct; a refusal is printed", async () => {
    const chat = await startChat();
    const ann = printer();
    const bo = printer();
    const annClient = new ChatClient({ url: chat.handle.url, nick: "ann", print: ann.print });
    const boClient = new ChatClient({ url: chat.handle.url, nick: "bo", print: bo.print });
    try {
      await annClient.join();
      await boClient.join();
      assert.equal(await annClient.say("teh heck :)"), true);
      assert.equal(await boClient.say(""), true); // taken by the server, which refuses it
      await until(() => bo.lines.some((line) => line.includes("! refused")), "bo sees its empty line refused");
      await until(() => ann.lines.some((line) => line.endsWith("ann: the **** 🙂")), "ann sees her own line, filtered");
      await until(() => bo.lines.some((line) => line.endsWith("ann: the **** 🙂")), "bo sees ann's line, filtered");
      assert.equal(bo.lines.filter((line) => line.includes("ann:")).length, 1);
      await until(() => ann.lines.includes("* here: ann, bo"), "ann's client prints who is here");
      assert.equal(ann.lines.filter((line) => line.includes("! refused")).length, 0, "a refusal goes to its sender only");
    } finally {
      annClient.leave();
      boClient.leave();
      await chat.close();
    }
  });

  it("joins afresh after the server restarted, and says a line made meanwhile once", async () => {
    let chat = await startChat();
    const port = chat.handle.port;
    const out = printer();
    const client = new ChatClient({ url: chat.handle.url, nick: "cy", print: out.print });
    try {
      await client.join();
      await chat.close(); // the client is told ERR_SERVER_CLOSED: its session is lost
      await until(() => out.lines.some((line) => line.includes("session lost")), "the client saw its session lost");
      const said = client.say("after the restart");
      // The server stays away until the client has failed to join afresh at least once.
      await until(() => out.lines.some((line) => line.includes("could not join again")), "a failed try to join afresh");
      chat = await startChat(port);
      assert.equal(await said, true);
      await until(() => out.lines.some((line) => line.endsWith("cy: after the restart")), "the line arrived on the new server");
      assert.equal(out.lines.filter((line) => line.endsWith("cy: after the restart")).length, 1);
    } finally {
      client.leave();
      await chat.close();
    }
  });
});
