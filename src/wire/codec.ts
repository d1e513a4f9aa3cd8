import { ProtocolError } from "./protocol-error.js";
import { MAX_PACKET_NODES } from "./protocol.js";

/**
 * How packets become message text and back. The protocol's frames are plain JS arrays whose
 * values are already in their tagged form (channels as `{"~c": ref}`), so a codec only has to
 * serialise JSON-shaped data. Sequenced frames are encoded one by one, once, when they are
 * made (they may be sent again after a reconnect), and joined into packets.
 */
export interface Codec {
  /** Sent in a later protocol version to agree on a codec; v1 speaks `"json"` only. */
  readonly name: string;
  /** One frame's text. Throws a `TypeError` for data it cannot represent. */
  encodeFrame(frame: readonly unknown[]): string;
  /**
   * The text of a sequenced frame that `encodeFrame` wrote with sequence number 0, numbered
   * `seq` instead. A put is encoded when it is made, so that a value that cannot be sent fails
   * at once, and numbered when it is sent. Its UTF-8 size changes by the digits of `seq` only,
   * and by {@link LAZY_FLAG_BYTES} when `lazy`: then it is the put frame with its lazy flag,
   * `[seq, "p", target, value, 1]` (docs/protocol.md section 4). A codec that ignores `lazy`
   * sends prompt puts, which is always correct, only less thrifty.
   */
  renumber(text: string, seq: number, lazy?: boolean): string;
  /**
   * The text of a value already in its wire form, made once for many sessions (a topic's put:
   * see {@link PreEncodedValue}). Throws a `TypeError` for data it cannot represent.
   */
  encodeValue(value: unknown): string;
  /**
   * The text of the put frame `[seq, "p", target, value]` for a value `encodeValue` wrote as
   * `valueText`: the very text `encodeFrame` would write for that frame, with `valueText`
   * inside it as it is (never parsed nor encoded again). So the frame's size is the value's
   * plus that of the frame made with an empty `valueText`, and each session frames one
   * shared value with its own sequence number and target at the cost of its few bytes.
   * `lazy`: with the lazy flag, as for {@link Codec.renumber}.
   */
  framePut(seq: number, target: string, valueText: string, lazy?: boolean): string;
  /** A packet from frames each made by `encodeFrame`. */
  joinPacket(frames: readonly string[]): string;
  /** A packet's frames, not yet validated. Throws on text that is not a packet. */
  decodePacket(text: string): unknown;
}

/** The most a put frame grows by its lazy flag (`,1` in JSON); a codec's flag may be no longer. */
export const LAZY_FLAG_BYTES = 2;

/**
 * The default codec: a packet is a JSON array of frames. Decoding refuses a packet of more
 * than {@link MAX_PACKET_NODES} arrays and objects before parsing it (`ERR_VALUE_TOO_COMPLEX`):
 * JSON.parse cannot be stopped half way, and a megabyte of `[]` takes it fifty times longer
 * than a megabyte of text.
 */
export const jsonCodec: Codec = {
  name: "json",
  encodeFrame: (frame) => JSON.stringify(frame),
  // "[0,…]" becomes "[seq,…]", or "[seq,…,1]" with the lazy flag.
  renumber: (text, seq, lazy) => (lazy === true ? `[${seq}${text.slice(2, -1)},1]` : `[${seq}${text.slice(2)}`),
  encodeValue: (value) => JSON.stringify(value),
  // JSON.stringify of an array writes its items' texts joined by commas, without spaces.
  framePut: (seq, target, valueText, lazy) => `[${seq},"p",${JSON.stringify(target)},${valueText}${lazy === true ? ",1]" : "]"}`,
  joinPacket: (frames) => (frames.length === 1 ? `[${frames[0] ?? ""}]` : `[${frames.join(",")}]`),
  decodePacket: (text) => {
    // Each array or object takes two characters at least: a short text cannot hold too many.
    if (text.length > 2 * MAX_PACKET_NODES && countContainers(text, MAX_PACKET_NODES) > MAX_PACKET_NODES) {
      throw new ProtocolError("ERR_VALUE_TOO_COMPLEX", `a packet of more than ${MAX_PACKET_NODES} arrays and objects (the protocol's limit per message): send such values in parts`);
    }
    return JSON.parse(text) as unknown;
  },
};

/**
 * The arrays and objects in JSON `text` (opening brackets and braces outside strings), counted
 * until the count passes `limit`. Text that is not JSON gets some count;
 * JSON.parse refuses it after.
 */
export function countContainers(text: string, limit: number): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++count > limit) return count;
    }
  }
  return count;
}
