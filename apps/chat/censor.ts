import { xf } from "../../src/index.js";
import type { ChatRequest } from "./chat-server.js";

const BLOCKED = /\b(darn|heck|frak)\b/gi;

/** Replaces each letter of a blocked word with `*`. */
export function censorLine(line: string): string {
  return line.replace(BLOCKED, (word) => "*".repeat(word.length));
}

/**
 * Seed 001's profanity filter, as a transducer on chat requests: tested on plain arrays with
 * `xf.sequence`, then put on the server channel as `chan(n, censor)`.
 */
export const censor = xf.map((request: ChatRequest): ChatRequest =>
  "msg" in request ? { msg: censorLine(request.msg) } : request,
);
