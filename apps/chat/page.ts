/**
 * The chat page (/chat): joins the named server channel "chat" with an inbox of its own, shows
 * the history and each new line, and says what is typed (docs/apps.md, "Chat: the messages").
 *
 * Every line carries an id (random per page, then a counter). A line typed while the session
 * reconnects goes on the session's proxy and is delivered once when the link is back. A line
 * whose put did not succeed before the session was lost is put again, with the same id, once
 * the page has joined afresh: the server ignores an id it already has, and the page shows a
 * line id once, so nothing appears twice. Text is only ever set as textContent. "Here" lists the
 * nicknames of the pages in the room, on every server of a cluster, as the server sends them.
 */
import { chan, type Channel, type RemoteChannel, type Session } from "/wirechan/client.js";
import { keepConnected, StatusLine } from "../page-connection.js";
import type { ChatEvent, ChatLine, ChatRequest, HereList, Say } from "./chat-messages.js";
import { LineList } from "./page-lines.js";

/** A line said and not yet seen back (nor refused), and the session its put was made on. */
interface Outgoing {
  say: Say;
  /** The session whose proxy has the put, or null when it must be put again. */
  on: Session | null;
  /** Its entry in the outbox list ("sending …"). */
  item: HTMLLIElement;
}

/** The current session, its proxy of "chat", and the inbox of its current join. */
interface Joined {
  session: Session;
  chat: RemoteChannel<ChatRequest>;
  inbox: Channel<ChatEvent>;
}

const NICK_KEY = "wirechan.chat.nick";
const INBOX_BUFFER = 64;

function element<T extends HTMLElement>(id: string, type: { new (): T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`the chat page has no #${id}`);
  return found;
}

const form = element("say", HTMLFormElement);
const nickField = element("nick", HTMLInputElement);
const messageField = element("message", HTMLInputElement);
const notice = element("notice", HTMLElement);
const here = element("here", HTMLElement);
const outbox = element("outbox", HTMLUListElement);
const lines = new LineList(element("lines", HTMLOListElement), element("scroller", HTMLElement));
const status = new StatusLine(element("status", HTMLElement));

const pageId = randomId();
let counter = 0;
const outgoing = new Map<string, Outgoing>();
let joined: Joined | null = null;

nickField.value = loadNick();
nickField.addEventListener("change", () => saveNick(nickField.value.trim()));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  // Enter in the nickname field, with nothing typed yet, moves on rather than sending an empty line.
  if (document.activeElement === nickField && messageField.value === "") {
    messageField.focus();
    return;
  }
  say(messageField.value);
});

keepConnected({ status, ready: join, ended: forget });

/** Joins on `session`: a fresh inbox, put on "chat" with `join`. */
function join(session: Session): void {
  const chat = joined?.session === session ? joined.chat : session.serverChan<ChatRequest>("chat");
  const inbox = chan<ChatEvent>(INBOX_BUFFER);
  const current: Joined = { session, chat, inbox };
  joined = current;
  void read(current);
  chat.put({ join: inbox, nick: nickField.value.trim() }).catch((error: unknown) => console.error("joining the chat failed:", error));
}

/** The session ended (lost, or closed with the page): its inbox hears nothing more, and puts not yet done are made again after the next join. */
function forget(session: Session): void {
  if (joined?.session !== session) return;
  joined.inbox.close();
  joined = null;
  for (const line of outgoing.values()) if (line.on === session) line.on = null;
}

/** Reads one join's inbox until it closes; then, if the session lives on, joins again. */
async function read(current: Joined): Promise<void> {
  let reloading = true;
  for await (const event of current.inbox) {
    if ("history" in event) {
      if (reloading) lines.clear();
      reloading = false;
      for (const line of event.history) shown(line);
      if (!event.done) continue;
      lines.loaded();
      sendWaiting();
    } else if ("line" in event) {
      shown(event.line);
    } else if ("refused" in event) {
      refused(event.refused.id, event.refused.reason);
    } else if ("here" in event) {
      showHere(event.here);
    } else {
      // The server dropped this inbox (it fell too far behind) and will put nothing more on it;
      // only the page can close its own channel. Closing ends this loop, which joins again.
      current.inbox.close();
    }
  }
  // An inbox the server dropped joins again, which reloads the history. A lost session's inbox
  // is closed by `forget`, and the new session joins.
  const state = current.session.state;
  if (joined === current && (state === "open" || state === "reconnecting")) join(current.session);
}

function shown(line: ChatLine): void {
  lines.add(line);
  const mine = outgoing.get(line.id);
  if (mine === undefined) return;
  outgoing.delete(line.id);
  mine.item.remove();
}

function showHere(list: HereList): void {
  const more = list.more > 0 ? ` and ${list.more} more` : "";
  here.textContent = `Here: ${list.nicks.join(", ")}${more}`;
}

function refused(id: string, reason: string): void {
  const mine = outgoing.get(id);
  outgoing.delete(id);
  mine?.item.remove();
  // An empty id is the room refusing the join itself (it is full): the reason says it all.
  const what = id === "" ? "Not joined" : mine === undefined ? "A line was not sent" : mine.say.text.trim() === "" ? "An empty line was not sent" : `“${shorten(mine.say.text)}” was not sent`;
  notice.textContent = `${what}: ${reason}`;
  notice.hidden = false;
}

/** Says `text` as the current nickname: shown as sending until the line comes back. */
function say(text: string): void {
  const nick = nickField.value.trim();
  saveNick(nick);
  notice.hidden = true;
  notice.textContent = "";
  const line: Outgoing = { say: { id: `${pageId}-${++counter}`, nick, text }, on: null, item: document.createElement("li") };
  line.item.textContent = `sending: ${shorten(text)}`;
  outbox.append(line.item);
  outgoing.set(line.say.id, line);
  messageField.value = "";
  put(line);
}

/** After a join's history: every line whose put was cut short by a lost session goes again. */
function sendWaiting(): void {
  for (const line of outgoing.values()) if (line.on === null) put(line);
}

/**
 * Puts `line` on the current session's proxy; while reconnecting the proxy holds it and the
 * session delivers it once. Without a session, or when the put ends `false` (the session was
 * lost first), it waits for the next join.
 */
function put(line: Outgoing): void {
  const current = joined;
  if (current === null) return;
  const session = current.session;
  line.on = session;
  let putting: Promise<boolean>;
  try {
    putting = current.chat.put({ say: line.say });
  } catch (error) {
    // The client refuses at once what it cannot send at all (a line over the message limit).
    refused(line.say.id, error instanceof Error ? error.message : String(error));
    return;
  }
  putting.then(
    (ok) => {
      if (!ok && line.on === session) line.on = null;
    },
    (error: unknown) => refused(line.say.id, error instanceof Error ? error.message : String(error)),
  );
}

function loadNick(): string {
  try {
    const saved = localStorage.getItem(NICK_KEY);
    if (saved !== null && saved !== "") return saved;
  } catch {
    // Storage refused (a private window's policy): the nickname is not remembered.
  }
  return `guest-${pageId.slice(0, 4)}`;
}

function saveNick(nick: string): void {
  try {
    localStorage.setItem(NICK_KEY, nick);
  } catch {
    // As above: not remembered, still used.
  }
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}
