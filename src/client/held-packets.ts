// Packets a link received before its session was ready for them (between the welcome, or an SSE
// stream's first event, and `start()`). Browser-safe.

/**
 * Most packets a link holds before `start()`. The wait is a few turns of the event loop, in which
 * an honest server sends its replay (a few packets under `maxMessageSize`) and perhaps a ping;
 * a server that sends more is not one to keep buffering for.
 */
export const MAX_HELD_PACKETS = 1024;

/** Why a link that received more than {@link MAX_HELD_PACKETS} before `start()` goes down. */
export function heldOverflow(): { reason: string } {
  return { reason: `the server sent more than ${MAX_HELD_PACKETS} packets before the session started` };
}

/** The packets of one link until its session starts reading, then none: they go straight through. */
export class HeldPackets {
  #held: string[] | null = [];

  /** Whether the session reads packets now (after {@link release}). */
  get released(): boolean {
    return this.#held === null;
  }

  /** Keeps a packet for later; false when {@link MAX_HELD_PACKETS} are held already (the link should go down). */
  hold(packet: string): boolean {
    const held = this.#held;
    if (held === null || held.length >= MAX_HELD_PACKETS) return false;
    held.push(packet);
    return true;
  }

  /** Hands every held packet to `deliver`, in order, while `open()` says the link is open; from now on nothing is held. */
  release(deliver: (packet: string) => void, open: () => boolean): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const packet of held) {
      if (!open()) return;
      deliver(packet);
    }
  }
}
