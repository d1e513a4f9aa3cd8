import type { Channel } from "../../src/index.js";

/**
 * Where a listener gets its lines: a local channel, or the proxy of a browser's channel that
 * arrived over the wire (both have `put` and `close`).
 */
export interface ChatListener {
  put(lines: string[]): Promise<boolean>;
  close(): unknown;
}

/** What a chat client may put on the server channel (the seed's Plugh chat). */
export type ChatRequest =
  /** Register a listener: it first gets every line so far, then `[line]` for each new one. */
  | { add: ChatListener }
  /** Say something: the line is kept and sent to every listener. */
  | { msg: string };

/** Limits of {@link runChatServer}; every queue the chat keeps is bounded. */
export interface ChatServerOptions {
  /** Lines kept for newcomers; older lines are forgotten. Default 1000. */
  maxHistory?: number;
  /** Listeners at once; a further `add` gets its channel closed. Default 10000. */
  maxListeners?: number;
  /**
   * How long a line may wait for one listener to take it, in ms, before that listener is
   * dropped (its channel closed): one stuck client must not freeze the chat. Default 10,000.
   */
  slowListenerTimeout?: number;
}

/** The defaults of {@link ChatServerOptions}. */
export const chatServerDefaults: Required<ChatServerOptions> = {
  maxHistory: 1000,
  maxListeners: 10_000,
  slowListenerTimeout: 10_000,
};

/**
 * Whether a value that came over the wire is a request this chat understands: anything else
 * (a number, `{ add: "x" }` …) is ignored rather than trusted.
 */
export function isChatRequest(value: unknown): value is ChatRequest {
  if (typeof value !== "object" || value === null) return false;
  const request = value as { add?: unknown; msg?: unknown };
  if ("msg" in request) return typeof request.msg === "string";
  const add = request.add as { put?: unknown; close?: unknown } | null | undefined;
  return typeof add === "object" && add !== null && typeof add.put === "function" && typeof add.close === "function";
}

/**
 * The chat server loop of seed 000, on any channel of requests: an in-process channel here,
 * the named server channel `"chat"` once the wire protocol exists. Resolves when `requests`
 * closes, after closing every listener's channel. A listener whose channel has closed is dropped; a line goes to all listeners at
 * once and the next request is handled after every listener accepted it, so a slow listener
 * slows the chat instead of growing a queue.
 */
export async function runChatServer(requests: Channel<ChatRequest, unknown>, options: ChatServerOptions = {}): Promise<void> {
  const { maxHistory, maxListeners, slowListenerTimeout } = { ...chatServerDefaults, ...options };
  const lines: string[] = [];
  const listeners = new Set<ChatListener>();

  for await (const request of requests) {
    if ("add" in request) {
      if (listeners.size >= maxListeners) {
        request.add.close();
        continue;
      }
      listeners.add(request.add);
      await sendToAll(listeners, [request.add], [...lines], slowListenerTimeout);
    } else if (typeof request.msg === "string") {
      lines.push(request.msg);
      if (lines.length > maxHistory) lines.shift();
      await sendToAll(listeners, [...listeners], [request.msg], slowListenerTimeout);
    }
  }
  for (const ch of listeners) ch.close();
}

/** Puts `batch` to every target at once; drops the ones closed, and the ones slower than `timeoutMs`. */
async function sendToAll(listeners: Set<ChatListener>, targets: ChatListener[], batch: string[], timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), timeoutMs);
  });
  const outcomes = await Promise.all(targets.map((ch) => Promise.race([ch.put(batch), late])));
  clearTimeout(timer);
  targets.forEach((ch, i) => {
    if (outcomes[i] === true) return;
    listeners.delete(ch);
    if (outcomes[i] === "late") ch.close();
  });
}
