/**
 * The chat `npm start` serves at /chat (docs/apps.md, "Chat: the messages"): the named server
 * channel "chat", its transducer pipeline, and the loop that hands each request to the room.
 */
import { chan, pipe } from "../../src/index.js";
import type { Envelope as ServerEnvelope, WirechanServer } from "../../src/server/index.js";
import type { ChatInput, Envelope } from "./chat-input.js";
import { type ChatOptions, resolveChatOptions } from "./chat-options.js";
import { chatPipeline } from "./chat-pipeline.js";
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
  const incoming = server.channel<unknown>("chat", { envelope: true, buffer: resolved.buffer });
  const inputs = chan<ChatInput, Envelope>(resolved.buffer, chatPipeline(resolved, resolved.censoredWords));
  pipe<ServerEnvelope<unknown>, typeof inputs>(incoming, inputs);
  const room = new ChatRoom(resolved);
  void runRoom(inputs, room);
  return {
    close(): void {
      incoming.close();
      inputs.close();
      room.close();
    },
  };
}

/** Hands each input to the room; `handle` never waits, so one page cannot hold the loop. */
async function runRoom(inputs: AsyncIterable<ChatInput>, room: ChatRoom): Promise<void> {
  for await (const input of inputs) room.handle(input);
  room.close();
}
