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
  /** A packet from frames each made by `encodeFrame`. */
  joinPacket(frames: readonly string[]): string;
  /** One packet holding the frames of several, in order (an HTTP client's upstream batches them). */
  mergePackets(packets: readonly string[]): string;
  /** A packet's frames, not yet validated. Throws on text that is not a packet. */
  decodePacket(text: string): unknown;
}

/** The default codec: a packet is a JSON array of frames. */
export const jsonCodec: Codec = {
  name: "json",
  encodeFrame: (frame) => JSON.stringify(frame),
  joinPacket: (frames) => (frames.length === 1 ? `[${frames[0] ?? ""}]` : `[${frames.join(",")}]`),
  decodePacket: (text) => JSON.parse(text) as unknown,
  mergePackets: (packets) => {
    if (packets.length === 1) return packets[0] as string;
    const inner = packets.map((p) => p.slice(1, -1)).filter((p) => p.length > 0);
    return `[${inner.join(",")}]`;
  },
};
