// Exactly once, in order: sequence numbers, cumulative acknowledgements and the replay buffer
// of one direction of a session (docs/protocol.md section 4). Pure bookkeeping, no I/O.
import { RingQueue } from "../csp/ring-queue.js";
import { ProtocolError } from "../wire/protocol-error.js";

/** Bounds of a replay buffer. */
export interface ReplayLimits {
  /** Unacknowledged frames kept at most. */
  messages: number;
  /** Their encoded size (characters) at most. */
  bytes: number;
}

interface Entry {
  seq: number;
  text: string;
}

/**
 * The sending side: numbers frames 1, 2, 3 … and keeps each one, encoded, until the peer
 * acknowledges it, so it can be sent again after a reconnect.
 */
export class Outbox {
  private next = 1;
  /** Highest sequence number the peer acknowledged. */
  private acked = 0;
  private readonly entries = new RingQueue<Entry>(16);
  private size = 0;

  constructor(private readonly limits: ReplayLimits) {}

  /** Frames kept for replay, and their size. */
  get pending(): number {
    return this.entries.length;
  }

  get pendingBytes(): number {
    return this.size;
  }

  /** The number the next frame will get. */
  get nextSeq(): number {
    return this.next;
  }

  get lastAcked(): number {
    return this.acked;
  }

  /** Whether a frame of `size` characters fits without passing a limit. */
  hasRoom(size: number): boolean {
    return this.entries.length < this.limits.messages && this.size + size <= this.limits.bytes;
  }

  /**
   * Keeps the frame `encode(seq)` makes for the next sequence number, and returns that number.
   * Throws a {@link ProtocolError} (`ERR_SESSION_LOST`) if it does not fit: the caller waits for
   * room (`hasRoom`) where it can, so this only happens when the peer stops acknowledging.
   */
  append(encode: (seq: number) => string): { seq: number; text: string } {
    const seq = this.next;
    const text = encode(seq);
    if (!this.hasRoom(text.length)) {
      throw new ProtocolError(
        "ERR_SESSION_LOST",
        `the replay buffer is full (${this.entries.length} frames, ${this.size} characters; limits replayMessages ${this.limits.messages}, replayBytes ${this.limits.bytes}): the peer stopped acknowledging`,
      );
    }
    this.next++;
    this.entries.push({ seq, text });
    this.size += text.length;
    return { seq, text };
  }

  /**
   * The peer received every frame up to `seq`: forget them. Acknowledging a frame that was
   * never sent is a protocol error (`ERR_SEQUENCE`); an old acknowledgement changes nothing.
   */
  ack(seq: number): void {
    if (seq >= this.next) throw new ProtocolError("ERR_SEQUENCE", `acknowledged frame ${seq}, but the last one sent is ${this.next - 1}`);
    if (seq <= this.acked) return;
    this.acked = seq;
    for (let head = this.entries.peek(); head !== undefined && head.seq <= seq; head = this.entries.peek()) {
      this.entries.shift();
      this.size -= head.text.length;
    }
  }

  /** The encoded frame numbered `seq`, if it is still kept. */
  frame(seq: number): string | undefined {
    const first = this.entries.peek();
    return first === undefined ? undefined : this.entries.at(seq - first.seq)?.text;
  }

  /**
   * The frames after `seq`, in order, to send again to a peer that received up to `seq`; null
   * if some of them are gone (the peer once acknowledged more than it now says: it is not the
   * peer this session had).
   */
  after(seq: number): string[] | null {
    if (seq < this.acked || seq >= this.next) return null;
    const out: string[] = [];
    this.entries.forEach((entry) => {
      if (entry.seq > seq) out.push(entry.text);
    });
    return out;
  }
}

/** The receiving side: which frames were delivered, so a frame sent again is not delivered twice. */
export class Inbox {
  /** Highest sequence number delivered; every one before it was delivered too. */
  received = 0;

  /**
   * Whether to deliver frame `seq`: true for the next one, false for one already delivered.
   * A gap is a protocol error (`ERR_SEQUENCE`): links are ordered, so frames cannot skip.
   */
  accept(seq: number): boolean {
    if (seq <= this.received) return false;
    if (seq !== this.received + 1) throw new ProtocolError("ERR_SEQUENCE", `frame ${seq} arrived after frame ${this.received}: frames were skipped`);
    this.received = seq;
    return true;
  }
}
