// Exactly once, in order: sequence numbers, cumulative acknowledgements and the replay buffer
// of one direction of a session (docs/protocol.md section 4). Pure bookkeeping, no I/O.
import { RingQueue } from "../csp/ring-queue.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { REPLAY_ENTRY_OVERHEAD, utf8Length } from "../wire/protocol.js";

/** Bounds of a replay buffer. */
export interface ReplayLimits {
  /** Unacknowledged frames kept at most. */
  messages: number;
  /** Their cost at most: UTF-8 bytes plus {@link REPLAY_ENTRY_OVERHEAD} per frame. */
  bytes: number;
  /**
   * Told of every change in the cost kept, so that a server can hold the sum over all its
   * sessions under one budget (see the server's `replayBudget`).
   */
  onCostChange?: (delta: number) => void;
  /**
   * Whether that shared budget is over half spent: a sender then asks for no lazy answers (see
   * `Peer`), whose puts its replay buffer would keep for up to the peer's acknowledgement delay.
   */
  budgetPressed?: () => boolean;
}

/** A frame as kept: its text, its UTF-8 size, and the arrays and objects it holds (the packet bound counts them). */
export interface KeptFrame {
  readonly seq: number;
  readonly text: string;
  readonly bytes: number;
  readonly nodes: number;
}

/**
 * The sending side: numbers frames 1, 2, 3 … and keeps each one, encoded, until the peer
 * acknowledges it, so it can be sent again after a reconnect.
 */
export class Outbox {
  #next = 1;
  /** Highest sequence number the peer acknowledged. */
  #acked = 0;
  /**
   * Made with the first frame, at 2 slots (it doubles as it fills): an idle session keeps
   * nothing (a server's pings and pongs are not sequenced), and an empty ring was about 100 bytes.
   */
  #entries: RingQueue<KeptFrame> | null = null;
  /** UTF-8 bytes plus the overhead of each entry. */
  #size = 0;

  readonly #limits: ReplayLimits;

  constructor(limits: ReplayLimits) {
    this.#limits = limits;
  }

  /** Frames kept for replay, and their size. */
  get pending(): number {
    return this.#entries?.length ?? 0;
  }

  get pendingBytes(): number {
    return this.#size;
  }

  /** The number the next frame will get. */
  get nextSeq(): number {
    return this.#next;
  }

  get lastAcked(): number {
    return this.#acked;
  }

  /** Whether a frame of `bytes` UTF-8 bytes fits without passing a limit. */
  hasRoom(bytes: number): boolean {
    return this.pending < this.#limits.messages && this.#size + bytes + REPLAY_ENTRY_OVERHEAD <= this.#limits.bytes;
  }

  /**
   * Keeps `text`, the frame numbered {@link nextSeq} (`bytes`: its UTF-8 size when the caller
   * counted it already; `nodes`: the arrays and objects in it), and returns it. The caller
   * writes the number into the text, so that a frame costs no closure to make. Throws a
   * {@link ProtocolError} (`ERR_SESSION_LOST`) if it does not fit: the caller waits for room
   * (`hasRoom`) where it can, so this only happens when the peer stops acknowledging.
   */
  append(text: string, nodes = 1, bytes?: number): KeptFrame {
    const seq = this.#next;
    const size = bytes ?? utf8Length(text);
    if (!this.hasRoom(size)) {
      throw new ProtocolError(
        "ERR_SESSION_LOST",
        `the replay buffer is full (${this.pending} frames, ${this.#size} bytes; limits replayMessages ${this.#limits.messages}, replayBytes ${this.#limits.bytes}): the peer stopped acknowledging`,
      );
    }
    this.#next++;
    const frame: KeptFrame = { seq, text, bytes: size, nodes };
    (this.#entries ??= new RingQueue<KeptFrame>(2)).push(frame);
    this.#grow(size + REPLAY_ENTRY_OVERHEAD);
    return frame;
  }

  /** Forgets every frame (the session ended): what they cost is given back to the budget. */
  clear(): void {
    this.#entries?.clear();
    this.#grow(-this.#size);
  }

  #grow(delta: number): void {
    this.#size += delta;
    this.#limits.onCostChange?.(delta);
  }

  /**
   * The peer received every frame up to `seq`: forget them. Acknowledging a frame that was
   * never sent is a protocol error (`ERR_SEQUENCE`); an old acknowledgement changes nothing.
   */
  ack(seq: number): void {
    if (seq >= this.#next) throw new ProtocolError("ERR_SEQUENCE", `acknowledged frame ${seq}, but the last one sent is ${this.#next - 1}`);
    if (seq <= this.#acked) return;
    this.#acked = seq;
    const entries = this.#entries;
    if (entries === null) return;
    let freed = 0;
    for (let head = entries.peek(); head !== undefined && head.seq <= seq; head = entries.peek()) {
      entries.shift();
      freed += head.bytes + REPLAY_ENTRY_OVERHEAD;
    }
    if (freed > 0) this.#grow(-freed);
  }

  /** The frame numbered `seq`, if it is still kept. */
  frame(seq: number): KeptFrame | undefined {
    const first = this.#entries?.peek();
    return first === undefined ? undefined : this.#entries?.at(seq - first.seq);
  }

  /**
   * Where to resume sending to a peer that says it received our frames up to `peerRecv`: the
   * frames after the returned number go again. A `peerRecv` below what the peer already
   * acknowledged is a hello written before its newest acknowledgement arrived (a WebSocket
   * opened while an HTTP link went on acknowledging): it has those frames, so sending resumes
   * after the acknowledged ones. Null when the peer claims frames never sent: it is not the
   * peer of this session, or its state is corrupt.
   */
  resumePoint(peerRecv: number): number | null {
    if (peerRecv >= this.#next) return null;
    return Math.max(peerRecv, this.#acked);
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
