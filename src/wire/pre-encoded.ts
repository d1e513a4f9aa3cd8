// A value encoded once and put to many sessions (a server topic, docs/api.md "Topics"): its wire
// text, its UTF-8 size and its arrays and objects are each made or counted once, however many
// sessions frame it (Codec.framePut). Pure.
import { Channel } from "../csp/channel.js";
import { WirechanTypeError } from "../csp/errors.js";
import type { Codec } from "./codec.js";
import { utf8Length } from "./protocol.js";
import { RemoteChannel } from "./remote-channel.js";
import { encodeValue } from "./values.js";

/**
 * A value in its wire form, encoded by one codec. Made only by {@link preEncode}: a session
 * puts its `text` into a frame as it is, so it must be what the codec wrote.
 */
export class PreEncodedValue {
  readonly #codec: Codec;

  private constructor(
    codec: Codec,
    /** The codec's text of the value's wire form. */
    readonly text: string,
    /** `text` in UTF-8 bytes. */
    readonly bytes: number,
    /** The arrays and objects of the value's wire form (the packet bound counts them). */
    readonly nodes: number,
  ) {
    this.#codec = codec;
  }

  /** Whether `codec` wrote this value: a session of another codec cannot frame it. */
  encodedBy(codec: Codec): boolean {
    return this.#codec === codec;
  }

  /** @internal See {@link preEncode}. */
  static make(codec: Codec, text: string, nodes: number): PreEncodedValue {
    return new PreEncodedValue(codec, text, utf8Length(text), nodes);
  }
}

/**
 * Encodes `value` once for every session that will be sent it. Throws as a put would: a
 * `TypeError` (`ERR_WIRE_VALUE`) for what JSON cannot represent (`undefined`, a cycle, a
 * `BigInt` …), and for a channel anywhere in the value: a reference is valid in one session
 * only, so a value with one cannot be shared.
 */
export function preEncode(value: unknown, codec: Codec): PreEncodedValue {
  const counter = { nodes: 0 };
  const wire = encodeValue(value, refuseChannel, counter);
  return PreEncodedValue.make(codec, codec.encodeValue(wire), counter.nodes);
}

function refuseChannel(object: object): undefined {
  if (object instanceof Channel || object instanceof RemoteChannel) {
    throw new WirechanTypeError("ERR_WIRE_VALUE", "a value put to many sessions at once (a topic) cannot carry a channel: a channel reference is valid in one session only");
  }
  return undefined;
}
