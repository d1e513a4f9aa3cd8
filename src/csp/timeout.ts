import { type Channel, chan } from "./channel.js";
import { WirechanRangeError } from "./errors.js";

/** Largest delay `setTimeout` honours; beyond it Node and browsers fire at once. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

function closeChannel(channel: Channel<never>): void {
  channel.close();
}

/**
 * A channel that closes after `ms` milliseconds, for use in `alts` (`await timeout(ms).take()`
 * is a sleep). Its timer keeps a Node process alive, as a pending `setTimeout` does.
 * Throws a `RangeError` for a negative, non-finite or over-large delay (limit
 * {@link MAX_TIMEOUT_MS}).
 */
export function timeout(ms: number): Channel<never> {
  if (!(ms >= 0 && ms <= MAX_TIMEOUT_MS)) {
    throw new WirechanRangeError("ERR_TIMEOUT_DELAY", `timeout(ms) needs 0 <= ms <= ${MAX_TIMEOUT_MS}, got ${String(ms)}`);
  }
  const channel = chan<never>();
  setTimeout(closeChannel, ms, channel);
  return channel;
}
