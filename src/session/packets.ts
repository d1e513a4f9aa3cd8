import type { Codec } from "../wire/codec.js";

/** Where packets go: the part of a Link a packer needs. */
interface PacketSink {
  send(packet: string): void;
  readonly oneShot: boolean;
}

/**
 * Packs encoded frames into packets under `maxMessageSize`, writing each full packet to the
 * link. A one-shot link (a long-poll) takes a single packet: `add` then says no to what does
 * not fit, and that waits for the next poll.
 */
export class PacketPacker {
  private readonly frames: string[] = [];
  /** The packet's size so far: the brackets, and each frame with its separator. */
  private size = 2;

  constructor(
    private readonly link: PacketSink,
    private readonly codec: Codec,
    private readonly maxMessageSize: number,
  ) {}

  /** Adds a frame; false when it does not fit in the one packet of a one-shot link. */
  add(text: string): boolean {
    if (this.frames.length > 0 && this.size + text.length + 1 > this.maxMessageSize) {
      if (this.link.oneShot) return false;
      this.emit();
    }
    this.frames.push(text);
    this.size += text.length + 1;
    return true;
  }

  /** Writes what is left. */
  finish(): void {
    if (this.frames.length > 0) this.emit();
  }

  private emit(): void {
    this.link.send(this.codec.joinPacket(this.frames));
    this.frames.length = 0;
    this.size = 2;
  }
}
