/**
 * `npm run demo`: the chat `npm start` serves, in one process and printed as it happens. A
 * wirechan server on a free loopback port runs `mountChat`; three Node clients connect to it,
 * join with an inbox of their own, and talk: the censor, the emoticons and the auto-correct
 * show in what they get back, an empty line is refused, and a late joiner gets the history.
 */
import { type Channel, chan } from "../../src/index.js";
import { connect, type Session } from "../../src/client/index.js";
import { createServer } from "../../src/server/index.js";
import { mountChat } from "./chat-app.js";
import type { ChatEvent, ChatRequest } from "./chat-messages.js";

interface Person {
  name: string;
  session: Session;
  inbox: Channel<ChatEvent>;
  /** Settles when the inbox closes (the server closed it, or the demo ended). */
  listening: Promise<void>;
}

const server = createServer();
const chat = mountChat(server);
const handle = await server.listen({ port: 0 });
console.log(`chat server on ${handle.url}`);
let counter = 0;

/** Prints what one person's inbox gets. */
async function listen(name: string, inbox: Channel<ChatEvent>): Promise<void> {
  for await (const event of inbox) {
    const what =
      "history" in event
        ? `history (${event.history.length} lines${event.done ? ", done" : ""}): ${JSON.stringify(event.history.map((line) => `${line.nick}: ${line.text}`))}`
        : "line" in event
          ? `${event.line.nick}: ${event.line.text}`
          : "refused" in event
            ? `refused ${event.refused.id}: ${event.refused.reason}`
            : "here" in event
              ? `here: ${event.here.nicks.join(", ")}${event.here.more > 0 ? ` and ${event.here.more} more` : ""}`
              : `dropped: ${event.dropped.reason}`;
    console.log(`  ${name.padEnd(5)} <- ${what}`);
  }
}

async function join(name: string): Promise<Person> {
  const session = await connect(handle.url);
  const inbox = chan<ChatEvent>(64);
  const listening = listen(name, inbox);
  console.log(`${name} joins over ${session.transport ?? "?"}`);
  await session.serverChan<ChatRequest>("chat").put({ join: inbox });
  await pause();
  return { name, session, inbox, listening };
}

async function say(person: Person, text: string): Promise<void> {
  console.log(`${person.name} says: ${JSON.stringify(text)}`);
  await person.session.serverChan<ChatRequest>("chat").put({ say: { id: `demo-${++counter}`, nick: person.name, text } });
  await pause();
}

/** Lets the lines reach every client before the next is said, so the printout reads in order. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 50));
}

const alice = await join("alice");
const bob = await join("bob");
await say(alice, "hello, channels :)");
await say(bob, "what the heck is teh transducer for?");
await say(bob, "   ");
const carol = await join("carol");
await say(carol, "I <3 this");

const people = [alice, bob, carol];
for (const person of people) person.session.close();
chat.close();
for (const person of people) person.inbox.close();
await Promise.all(people.map((person) => person.listening));
await handle.close();
console.log("the clients said goodbye and the server stopped");
