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

  #link: PacketSink;
  #codec: Codec;
  #maxMessageSize: number;

  constructor(link: PacketSink, codec: Codec, maxMessageSize: number) {
    this.#link = link;
    this.#codec = codec;
    this.#maxMessageSize = maxMessageSize;
  }

  /**
   * A packer for one flush: the one that finished last when there is one, so that a flush (two
   * per round trip) makes neither a packer nor an array. A flush does not nest, but a link's
   * `send` might make another session flush: that one then finds none, and makes its own.
   */
  static for(link: PacketSink, codec: Codec, maxMessageSize: number): PacketPacker {
    const packer = spare ?? new PacketPacker(link, codec, maxMessageSize);
    spare = null;
    packer.#link = link;
    packer.#codec = codec;
    packer.#maxMessageSize = maxMessageSize;
    return packer;
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

  /**
   * Writes what is left. The packer is then kept for {@link PacketPacker.for} to hand out
   * again (with the link it wrote to, no harm): it is not to be used after.
   */
  finish(): void {
    if (this.#frames.length > 0) this.#emit();
    // Kept for the next flush, not an alias to work through.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    spare = this;
  }

  #fits(bytes: number, nodes: number): boolean {
    return this.#bytes + bytes + 1 <= this.#maxMessageSize && this.#frames.length < MAX_FRAMES_PER_PACKET && this.#nodes + nodes <= MAX_PACKET_NODES;
  }

  #emit(): void {
    const frames = this.#frames;
    const packet = this.#codec.joinPacket(frames);
    // Emptied by pop, not `length = 0`: for that V8 gives the array's room back, and the next
    // push makes it again.
    while (frames.length > 0) frames.pop();
    this.#bytes = 2;
    this.#nodes = 1;
    this.#link.send(packet);
  }
}

/** The packer that finished last, for the next flush (see {@link PacketPacker.for}). */
let spare: PacketPacker | null = null;
