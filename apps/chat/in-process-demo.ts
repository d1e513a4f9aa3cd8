/**
 * `npm start` until the network server exists: the seed's chat server driven in-process by
 * three listeners, printing what happens. Every channel here is an ordinary wirechan channel;
 * the next issues put the same loop behind a WebSocket.
 */
import { type Channel, chan, timeout } from "../../src/index.js";
import { censor } from "./censor.js";
import { type ChatRequest, runChatServer } from "./chat-server.js";

const server = chan<ChatRequest>(16, censor);
const serverDone = runChatServer(server);

async function listen(name: string, inbox: Channel<string[]>, stopAfter = Infinity): Promise<void> {
  let batches = 0;
  for await (const lines of inbox) {
    const what = batches === 0 ? `history (${lines.length} lines)` : "new line";
    console.log(`  ${name.padEnd(5)} <- ${what}: ${JSON.stringify(lines)}`);
    if (++batches > stopAfter) {
      console.log(`  ${name.padEnd(5)} leaves (closes its channel)`);
      inbox.close();
      return;
    }
  }
}

async function say(who: string, text: string): Promise<void> {
  console.log(`${who} says: ${text}`);
  await server.put({ msg: `${who}: ${text}` });
  await timeout(5).take(); // let the listeners print before the next line
}

/** Resolves once the server has the listener; `listening` settles when it stops listening. */
async function join(name: string, stopAfter?: number): Promise<{ listening: Promise<void> }> {
  const inbox = chan<string[]>(8);
  const listening = listen(name, inbox, stopAfter);
  console.log(`${name} joins`);
  await server.put({ add: inbox });
  await timeout(5).take();
  return { listening };
}

const alice = await join("alice");
const bob = await join("bob", 2);
await say("alice", "hello, channels!");
await say("bob", "what the heck is a transducer?");
const carol = await join("carol");
await say("carol", "bob left after two lines");
await say("alice", "bye");

server.close();
await serverDone;
console.log("server channel closed; the chat loop has ended");
await Promise.all([alice.listening, bob.listening, carol.listening]);
console.log("every listener has seen its channel close");
