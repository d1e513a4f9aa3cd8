// What crosses the backplane, as text (pure): `wc1 <nodeId>\n<body>`. A header line then the
// body as it was published, so that a receiving node takes the body by slicing, never by
// parsing and encoding it again (a topic's value text is framed for sessions as it is).
import type { BackplaneMessage } from "./backplane.js";

/** The version of this framing: a node that reads another drops the message (it cannot know its shape). */
const MAGIC = "wc1 ";

/** A node id: 1 to 64 of letters, digits and `_ . : -` (no space nor newline, which frame it). */
const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Whether `id` can be a node id (see {@link NODE_ID}). */
export function isNodeId(id: unknown): id is string {
  return typeof id === "string" && NODE_ID.test(id);
}

/** The text that crosses for `body` published by `from` (a valid node id). */
export function frameMessage(from: string, body: string): string {
  return `${MAGIC}${from}\n${body}`;
}

/** The message in `text`, or null for text this framing did not write (another version, another program on the subject). */
export function readMessage(text: string): BackplaneMessage | null {
  if (!text.startsWith(MAGIC)) return null;
  const end = text.indexOf("\n", MAGIC.length);
  if (end < 0) return null;
  const from = text.slice(MAGIC.length, end);
  return isNodeId(from) ? { from, body: text.slice(end + 1) } : null;
}
