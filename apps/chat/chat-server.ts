import type { Channel } from "../../src/index.js";

/** What a chat client may put on the server channel (the seed's Plugh chat). */
export type ChatRequest =
  /** Register a listener: it first gets every line so far, then `[line]` for each new one. */
  | { add: Channel<unknown, string[]> }
  /** Say something: the line is kept and sent to every listener. */
  | { msg: string };

/** Limits of {@link runChatServer}; every queue the chat keeps is bounded. */
export interface ChatServerOptions {
  /** Lines kept for newcomers; older lines are forgotten. Default 1000. */
  maxHistory?: number;
  /** Listeners at once; a further `add` gets its channel closed. Default 10000. */
  maxListeners?: number;
}

/** The defaults of {@link ChatServerOptions}. */
export const chatServerDefaults: Required<ChatServerOptions> = {
  maxHistory: 1000,
  maxListeners: 10_000,
};

/**
 * The chat server loop of seed 000, on any channel of requests: an in-process channel here,
 * the named server channel `"chat"` once the wire protocol exists. Resolves when `requests`
 * closes, after closing every listener's channel. A listener whose channel has closed is dropped; a line goes to all listeners at
 * once and the next request is handled after every listener accepted it, so a slow listener
 * slows the chat instead of growing a queue.
 */
export async function runChatServer(requests: Channel<ChatRequest, unknown>, options: ChatServerOptions = {}): Promise<void> {
  const { maxHistory, maxListeners } = { ...chatServerDefaults, ...options };
  const lines: string[] = [];
  const listeners = new Set<Channel<unknown, string[]>>();

  for await (const request of requests) {
    if ("add" in request) {
      if (listeners.size >= maxListeners) {
        request.add.close();
        continue;
      }
      listeners.add(request.add);
      if (!(await request.add.put([...lines]))) listeners.delete(request.add);
    } else if (typeof request.msg === "string") {
      lines.push(request.msg);
      if (lines.length > maxHistory) lines.shift();
      await sendToAll(listeners, [request.msg]);
    }
  }
  for (const ch of listeners) ch.close();
}

async function sendToAll(listeners: Set<Channel<unknown, string[]>>, batch: string[]): Promise<void> {
  const targets = [...listeners];
  const accepted = await Promise.all(targets.map((ch) => ch.put(batch)));
  targets.forEach((ch, i) => {
    if (!accepted[i]) listeners.delete(ch);
  });
}
