// The named server channels clients put to (docs/protocol.md section 5: `session.serverChan(name)`),
// and how a name in a put frame is resolved to one of them for a session.
import type { Buffer as ChannelBuffer } from "../../csp/buffers.js";
import { chan, type Channel } from "../../csp/channel.js";
import { WirechanTypeError } from "../../csp/errors.js";
import type { NamedTarget } from "../../session/peer.js";
import type { Envelope } from "../types.js";
import type { SessionInfo } from "./sessions.js";

/** Longest name of a server channel, in UTF-16 code units. */
export const MAX_CHANNEL_NAME_LENGTH = 256;

/** What `channel(name, options)` takes to deliver `{ value, session }` envelopes. */
export interface EnvelopeChannelOptions<T> {
  buffer?: number | ChannelBuffer<Envelope<T>>;
  envelope: true;
}

interface NamedEntry {
  /** Shared by every put to a plain channel: one object, not one per put. */
  readonly target: NamedTarget;
  /** Envelope channels get a target per session instead, since it carries the session. */
  readonly envelope: boolean;
}

/**
 * One server's named channels: made by {@link NamedChannels.channel} (what
 * `WirechanServer.channel` does), looked up by {@link NamedChannels.resolve} (a
 * `NameResolver`, which the server wraps with `authorize` for the session table). Names are never released: a server
 * declares its channels once, at start.
 */
export class NamedChannels {
  private readonly named = new Map<string, NamedEntry>();

  /**
   * Makes the channel named `name`: a local channel into which clients' puts to
   * `session.serverChan(name)` arrive. `bufOrN` as for `chan`; with `{ envelope: true }` each
   * value arrives as `{ value, session }`. Throws a `TypeError` (`ERR_CHANNEL_NAME`) for a name
   * that is not a string of 1 to {@link MAX_CHANNEL_NAME_LENGTH} characters, or already taken.
   */
  channel<T>(name: string, bufOrN?: number | ChannelBuffer<T>): Channel<T>;
  channel<T>(name: string, options: EnvelopeChannelOptions<T>): Channel<Envelope<T>>;
  channel<T>(name: string, arg?: number | ChannelBuffer<T> | EnvelopeChannelOptions<T>): Channel<T> | Channel<Envelope<T>>;
  channel<T>(name: string, arg?: number | ChannelBuffer<T> | EnvelopeChannelOptions<T>): Channel<T> | Channel<Envelope<T>> {
    this.checkFree(name);
    const wantsEnvelope = typeof arg === "object" && arg !== null && "envelope" in arg;
    const channel = wantsEnvelope ? chan<Envelope<T>>(arg.buffer) : chan<T>(arg);
    this.named.set(name, { target: { channel: channel as Channel<unknown, unknown> }, envelope: wantsEnvelope });
    return channel;
  }

  /**
   * Throws what {@link NamedChannels.channel} throws for `name` (`ERR_CHANNEL_NAME`), before
   * anything else is done for it: a topic checks its name before it subscribes to the backplane.
   */
  checkFree(name: string): void {
    if (typeof name !== "string" || name.length === 0 || name.length > MAX_CHANNEL_NAME_LENGTH) {
      throw new WirechanTypeError("ERR_CHANNEL_NAME", `a server channel needs a name of 1 to ${MAX_CHANNEL_NAME_LENGTH} characters`);
    }
    if (this.named.has(name)) throw new WirechanTypeError("ERR_CHANNEL_NAME", `a server channel is already named ${JSON.stringify(name)}`);
  }

  /** How many names are taken. */
  get size(): number {
    return this.named.size;
  }

  /** The target of a put to `name` from `session`, or undefined for a name nobody made (`ERR_UNKNOWN_CHANNEL`). */
  readonly resolve = (name: string, session: SessionInfo): NamedTarget | undefined => {
    const entry = this.named.get(name);
    if (entry === undefined) return undefined;
    if (!entry.envelope) return entry.target;
    return { channel: entry.target.channel, wrap: (value: unknown): Envelope<unknown> => ({ value, session }) };
  };
}
