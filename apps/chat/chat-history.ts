/**
 * The chat's history: the last lines, bounded in lines and in bytes (oldest dropped first), the
 * ids of the lines it holds (a `say` whose id is here is a resend, not a new line), and the
 * batches a newcomer gets them in. Pure: no I/O, no clock.
 */
import { RingQueue } from "../../src/csp/ring-queue.js";
import type { ChatLine } from "./chat-messages.js";

/** A line's cost: its UTF-8 bytes as JSON, what it takes in a message (escapes included). */
export function lineBytes(line: ChatLine): number {
  return Buffer.byteLength(JSON.stringify(line), "utf8");
}

interface Kept {
  line: ChatLine;
  bytes: number;
}

/**
 * The last lines said. Throws a `RangeError` for a bound that is not a positive integer.
 * Ids are remembered exactly as long as their line: the set of ids is bounded with the lines.
 */
export class ChatHistory {
  private readonly kept = new RingQueue<Kept>(64);
  private readonly ids = new Set<string>();
  private totalBytes = 0;

  constructor(
    /** Most lines kept. */
    readonly maxLines: number,
    /** Most bytes kept (see {@link lineBytes}). */
    readonly maxBytes: number,
  ) {
    for (const [name, value] of [
      ["maxLines", maxLines],
      ["maxBytes", maxBytes],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`ChatHistory: ${name} must be a positive integer, got ${String(value)}`);
    }
  }

  get length(): number {
    return this.kept.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Whether a line with this id is here. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /**
   * Keeps `line`, then drops the oldest lines until both bounds hold again. A line larger than
   * `maxBytes` by itself is not kept (nor its id). False for an id already here: nothing changes.
   */
  add(line: ChatLine): boolean {
    if (this.ids.has(line.id)) return false;
    const bytes = lineBytes(line);
    this.kept.push({ line, bytes });
    this.ids.add(line.id);
    this.totalBytes += bytes;
    while (this.kept.length > this.maxLines || this.totalBytes > this.maxBytes) this.dropOldest();
    return true;
  }

  /** The lines, oldest first. */
  lines(): ChatLine[] {
    const out: ChatLine[] = [];
    this.kept.forEach((kept) => out.push(kept.line));
    return out;
  }

  /**
   * The lines in batches of at most `maxBatchBytes` (their {@link lineBytes} summed), oldest
   * first, never empty but for one empty batch when there are no lines. A line larger than the
   * limit goes alone in its batch.
   */
  batches(maxBatchBytes: number): ChatLine[][] {
    const out: ChatLine[][] = [];
    let batch: ChatLine[] = [];
    let size = 0;
    this.kept.forEach(({ line, bytes }) => {
      if (batch.length > 0 && size + bytes > maxBatchBytes) {
        out.push(batch);
        batch = [];
        size = 0;
      }
      batch.push(line);
      size += bytes;
    });
    out.push(batch);
    return out;
  }

  private dropOldest(): void {
    const oldest = this.kept.shift();
    if (oldest === undefined) return;
    this.ids.delete(oldest.line.id);
    this.totalBytes -= oldest.bytes;
  }
}
