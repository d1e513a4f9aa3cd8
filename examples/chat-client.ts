/**
 * A terminal chat client for the chat `npm start` serves: the same room as the page at /chat,
 * from Node. Each line you type is said; every line of the room is printed.
 *
 *   npm start                                  # in one terminal
 *   npx tsx examples/chat-client.ts --nick ann # in another (PORT or --url pick the server)
 *
 * It shows the client side of wirechan in Node: `connect`, a named server channel, a channel
 * of its own sent inside a message (the inbox), and what an app does when its session is
 * `lost` (the server restarted): connect afresh and join again. Ctrl-D or Ctrl-C leaves.
 */
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { chan, type Channel } from "../src/index.js";
import { connect, type RemoteChannel, type Session } from "../src/client/index.js";

/** The chat's messages (docs/apps.md). */
interface ChatLine {
  id: string;
  nick: string;
  text: string;
  ts: number;
}
type ChatEvent =
  | { history: ChatLine[]; done: boolean }
  | { line: ChatLine }
  | { refused: { id: string; reason: string } }
  | { here: { nicks: string[]; more: number } }
  | { dropped: { reason: string } };
/** How often one line is tried across lost sessions before `say` gives up. */
const MAX_SAY_ATTEMPTS = 3;
/** The waits between tries to join afresh while the server is away: 0.25 s, doubling, at most 5 s. */
const REJOIN_FIRST_MS = 250;
const REJOIN_MAX_MS = 5_000;

type ChatRequest = { join: Channel<ChatEvent>; nick?: string } | { say: { id: string; nick: string; text: string } };

export interface ChatClientOptions {
  url: string;
  nick: string;
  /** Where lines go; the console by default. */
  print?: (text: string) => void;
}

/** `--url U` (else `http://127.0.0.1:$PORT`, PORT defaulting to 3000 as `npm start` does) and `--nick N`. */
export function parseChatClientArgs(argv: readonly string[], env: NodeJS.ProcessEnv): { url: string; nick: string } {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at === -1 ? undefined : argv[at + 1];
  };
  const url = flag("url") ?? `http://127.0.0.1:${env.PORT ?? "3000"}`;
  const nick = flag("nick") ?? env.USER ?? "terminal";
  return { url, nick };
}

/**
 * One person in the chat: joins, prints the room, and says what `say` is given. Survives a
 * restarted server by connecting afresh; `leave()` ends the session.
 */
export class ChatClient {
  private session: Session | null = null;
  private chat: RemoteChannel<ChatRequest> | null = null;
  private counter = 0;
  private readonly prefix = Math.random().toString(36).slice(2, 10);
  private readonly seen = new Set<string>();
  private leaving = false;
  /** Settles when the client has joined again after a lost session. */
  private rejoined: Promise<void> = Promise.resolve();
  private readonly print: (text: string) => void;

  constructor(private readonly options: ChatClientOptions) {
    this.print = options.print ?? ((text) => console.log(text));
  }

  /** Connects and joins; resolves once the history has arrived. */
  async join(): Promise<void> {
    const session = await connect(this.options.url);
    this.session = session;
    this.chat = session.serverChan<ChatRequest>("chat");
    session.onState(this.stateChanged);
    await this.enter(this.chat);
  }

  /** Sends a fresh inbox to the room; resolves once its history has arrived. */
  private async enter(chat: RemoteChannel<ChatRequest>): Promise<void> {
    const inbox = chan<ChatEvent>(64);
    const historyDone = this.read(inbox);
    await chat.put({ join: inbox, nick: this.options.nick });
    await historyDone;
  }

  /**
   * Says `text`; resolves `true` once the server has it. A put cut short by a lost session is
   * made again, with the same id, once the client has joined afresh: the server keeps ids with
   * its history, so the line appears once whichever server got it.
   */
  async say(text: string): Promise<boolean> {
    const request: ChatRequest = { say: { id: `${this.prefix}-${++this.counter}`, nick: this.options.nick, text } };
    for (let attempt = 0; attempt < MAX_SAY_ATTEMPTS && !this.leaving; attempt++) {
      const chat = this.chat;
      if (chat !== null && (await chat.put(request))) return true;
      await this.rejoined;
    }
    return false;
  }

  leave(): void {
    this.leaving = true;
    this.session?.close();
  }

  /** Prints what arrives; resolves once the history is complete, and goes on reading. */
  private read(inbox: Channel<ChatEvent>): Promise<void> {
    return new Promise((historyDone) => {
      void (async () => {
        for await (const event of inbox) {
          if ("history" in event) {
            event.history.forEach(this.show);
            if (event.done) historyDone();
          } else if ("line" in event) {
            this.show(event.line);
          } else if ("refused" in event) {
            this.print(`! refused: ${event.refused.reason}`);
          } else if ("here" in event) {
            this.print(`* here: ${event.here.nicks.join(", ")}${event.here.more > 0 ? ` and ${event.here.more} more` : ""}`);
          } else {
            this.rejoin(inbox, event.dropped.reason);
          }
        }
        historyDone();
      })();
    });
  }

  /**
   * The server dropped this inbox (it fell behind): only its owner can close it, so the client
   * does, and joins again on the same session; the history it gets fills what it missed.
   */
  private rejoin(inbox: Channel<ChatEvent>, reason: string): void {
    inbox.close();
    const chat = this.chat;
    if (chat === null || this.leaving) return;
    this.print(`… dropped by the server (${reason}); joining again`);
    void this.enter(chat).catch((failure: unknown) => this.print(`! could not join again: ${String(failure)}`));
  }

  private readonly show = (line: ChatLine): void => {
    if (this.seen.has(line.id)) return;
    this.seen.add(line.id);
    const time = new Date(line.ts).toLocaleTimeString();
    this.print(`[${time}] ${line.nick}: ${line.text}`);
  };

  /** A lost session (the server restarted) is replaced by a fresh one; the history comes again. */
  private readonly stateChanged = ({ state, error }: { state: string; error?: Error }): void => {
    if (state === "reconnecting") this.print("… reconnecting");
    if (state !== "lost" || this.leaving) return;
    this.print(`… session lost (${error?.message ?? "unknown"}); joining again`);
    this.seen.clear();
    this.chat = null;
    this.rejoined = this.joinAgain();
  };

  /** Connects and joins afresh, trying again with growing waits while the server is away, until it works or the client leaves. */
  private async joinAgain(): Promise<void> {
    for (let wait = REJOIN_FIRST_MS; !this.leaving; wait = Math.min(wait * 2, REJOIN_MAX_MS)) {
      try {
        await this.join();
        return;
      } catch (failure) {
        this.print(`! could not join again (${failure instanceof Error ? failure.message : String(failure)}); trying again in ${wait} ms`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}

async function main(): Promise<void> {
  const { url, nick } = parseChatClientArgs(process.argv.slice(2), process.env);
  const client = new ChatClient({ url, nick });
  await client.join();
  console.log(`joined ${url} as ${nick}; type a line and Enter to say it, Ctrl-D to leave`);
  const input = createInterface({ input: process.stdin });
  input.on("line", (text) => {
    void client.say(text);
  });
  input.on("close", () => client.leave());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
