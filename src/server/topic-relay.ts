// What a topic puts on the backplane (docs/api.md "More than one server"), pure: the subject of
// a topic's name, and a body of one header line, `<codec> <nodes>`, then the value's wire text
// exactly as the publishing node's codec wrote it. A receiving node slices the text out and
// frames it for its sessions as it is: the value is encoded once in the whole cluster.
import { WirechanTypeError } from "../csp/errors.js";
import type { Codec } from "../wire/codec.js";
import { PreEncodedValue } from "../wire/pre-encoded.js";
import { decodeValue } from "../wire/values.js";

/** The backplane subject of the topic `name`: every node's topic of that name shares it. */
export function topicSubject(name: string): string {
  return `wirechan.topic.${name}`;
}

/** The body published for a value encoded once (`preEncode`). */
export function topicBody(encoded: PreEncodedValue, codec: Codec): string {
  return `${codec.name} ${encoded.nodes}\n${encoded.text}`;
}

/**
 * The value in `body`, as the value encoded once that this node's sessions frame, or null when
 * it is not a topic's body or was written by another codec (a node configured otherwise: its
 * text could not be framed by this node's codec).
 */
export function readTopicBody(body: string, codec: Codec): PreEncodedValue | null {
  const end = body.indexOf("\n");
  if (end < 0) return null;
  const space = body.lastIndexOf(" ", end);
  if (space < 0 || body.slice(0, space) !== codec.name) return null;
  const nodes = Number(body.slice(space + 1, end));
  if (!Number.isSafeInteger(nodes) || nodes < 0) return null;
  return PreEncodedValue.make(codec, body.slice(end + 1), nodes);
}

/**
 * The value for server code's local subscribers, from its wire text: parsed by the codec once
 * per node, and only when a local subscriber takes it. Throws what the codec and the value
 * decoder throw for text no node of this codec wrote.
 */
export function decodeTopicValue(encoded: PreEncodedValue, codec: Codec): unknown {
  return decodeValue(codec.decodePacket(encoded.text), refuseReference);
}

function refuseReference(ref: string): never {
  // preEncode refuses channels, so a reference here means a node that is not ours.
  throw new WirechanTypeError("ERR_WIRE_VALUE", `a topic's value from the backplane carries a channel reference (${JSON.stringify(ref)}): a reference is valid in one session only`);
}
