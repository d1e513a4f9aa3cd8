import type { Codec } from "../wire/codec.js";
import { MAX_FRAMES_PER_PACKET } from "../wire/frames.js";
import { MAX_PACKET_NODES } from "../wire/protocol.js";

/** Where packets go: the part of a Link a packer needs. */
interface PacketSink {
  send(packet: string): void;
  readonly oneShot: boolean;
}

/**
 * Packs encoded frames into packets the peer accepts: at most `maxMessageSize` UTF-8 bytes,
 * {@link MAX_FRAMES_PER_PACKET} frames and {@link MAX_PACKET_NODES} arrays and objects each
 * (the bounds `decodePacket` checks on the other side), writing each full packet to the link.
 * A one-shot link (a long-poll) takes a single packet: `add` then says no to what does not
 * fit, and that waits for the next poll. Sizes assume the JSON framing (brackets and commas,
 * one byte each), which every codec's packet may take at most.
 */
export class PacketPacker {
  readonly #frames: string[] = [];
  /** The packet's size so far: the brackets, and each frame with its separator. */
  #bytes = 2;
  /** The packet's own array, and the arrays and objects of its frames. */
  #nodes = 1;

  readonly #link: PacketSink;
  readonly #codec: Codec;
  readonly #maxMessageSize: number;

  constructor(link: PacketSink, codec: Codec, maxMessageSize: number) {
    this.#link = link;
    this.#codec = codec;
    this.#maxMessageSize = maxMessageSize;
  }

  /** Adds a frame of `bytes` UTF-8 bytes holding `nodes` arrays and objects; false when it does not fit in the one packet of a one-shot link. */
  add(text: string, bytes: number, nodes: number): boolean {
    if (this.#frames.length > 0 && !this.#fits(bytes, nodes)) {
      if (this.#link.oneShot) return false;
      this.#emit();
    }
    this.#frames.push(text);
    this.#bytes += bytes + 1;
    this.#nodes += nodes;
    return true;
  }

  /** Writes what is left. */
  finish(): void {
    if (this.#frames.length > 0) this.#emit();
  }

  #fits(bytes: number, nodes: number): boolean {
    return this.#bytes + bytes + 1 <= this.#maxMessageSize && this.#frames.length < MAX_FRAMES_PER_PACKET && this.#nodes + nodes <= MAX_PACKET_NODES;
  }

  #emit(): void {
    this.#link.send(this.#codec.joinPacket(this.#frames));
    this.#frames.length = 0;
    this.#bytes = 2;
    this.#nodes = 1;
  }
}
