/**
 * The chat `npm start` serves at /chat (docs/apps.md, "Chat: the messages"): the named server
 * channel "chat", its transducer pipeline, and the loop that hands each request to the room;
 * the room's lines go through a topic (chat-lines.ts) and who is here is a topic's presence
 * (chat-here.ts), so that with a backplane every node is one room.
 */
import { chan, pipe } from "../../src/index.js";
import type { Envelope as ServerEnvelope, WirechanServer } from "../../src/server/index.js";
import type { ChatInput, Envelope } from "./chat-input.js";
import { type ChatOptions, resolveChatOptions } from "./chat-options.js";
import { chatPipeline } from "./chat-pipeline.js";
import { CHAT_NAMES, TopicLines } from "./chat-lines.js";
import { ChatRoom } from "./chat-room.js";

export { type ChatOptions, chatDefaults } from "./chat-options.js";
export type { ChatEvent, ChatLine, ChatRequest, Say } from "./chat-messages.js";

/** A mounted chat. */
export interface MountedChat {
  /** Stops the loop and closes every listener's inbox; puts on "chat" then resolve false. Idempotent. */
  close(): void;
}

/**
 * Makes the named channel "chat" on `server` (with each put's session) and runs the chat on it.
 * Throws what `server.channel` throws (the name is taken) and a `RangeError` for a bad option
 * (see `resolveChatOptions`).
 */
export function mountChat(server: WirechanServer, options: ChatOptions = {}): MountedChat {
  const resolved = resolveChatOptions(options, server.options.logger);
  // The named channel first: a second chat on one server is refused naming "chat".
  const incoming = server.channel<unknown>("chat", { envelope: true, buffer: resolved.buffer });
  const lines = new TopicLines(server, resolved);
  const hereTopic = server.topic<never>(CHAT_NAMES.here, { presence: resolved.presence, maxSubscribers: resolved.maxListeners });
  const inputs = chan<ChatInput, Envelope>(resolved.buffer, chatPipeline(resolved, resolved.censoredWords));
  pipe<ServerEnvelope<unknown>, typeof inputs>(incoming, inputs);
  const room = new ChatRoom(resolved, Date.now, { lines, hereTopic });
  void runRoom(inputs, room, lines);
  return {
    close(): void {
      incoming.close();
      inputs.close();
      room.close();
      lines.close();
      hereTopic.close();
    },
  };
}

/**
 * Loads the engine's history first (a node started later shows what was said before it), then
 * follows the lines and hands each input to the room; `handle` never waits, so one page cannot
 * hold the loop. Joins wait meanwhile in the channel's buffer, so none gets a history without the log's.
 */
async function runRoom(inputs: AsyncIterable<ChatInput>, room: ChatRoom, lines: TopicLines): Promise<void> {
  room.load(await lines.history());
  void lines.follow((line) => room.receive(line));
  for await (const input of inputs) room.handle(input);
  room.close();
}
