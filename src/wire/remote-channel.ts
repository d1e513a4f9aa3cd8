// The proxy of a channel that lives on the other side of a session (docs/protocol.md section 5).
import { checkPutValue, MAX_PENDING } from "../csp/channel.js";
import { TooManyPendingError } from "../csp/errors.js";
import { RingQueue } from "../csp/ring-queue.js";
import { InFlight } from "./in-flight.js";
import type { PreEncodedValue } from "./pre-encoded.js";

/** What a proxy needs from its session. */
export interface ProxyHost {
  /**
   * A put of `value` to `target`, encoded for the wire (channels become references), opaque to
   * the proxy. Everything that could stop it from ever being sent is found here, before it
   * waits anywhere: a `TypeError` for what cannot be encoded, a `RangeError` for a put too
   * large or too complex for one message. `lazy`: the put asks for a lazy answer ({@link RemotePutOptions}).
   */
  encodePut(target: string, value: unknown, lazy?: boolean): unknown;
  /**
   * A put of a value encoded once for many sessions, framed for `target` without encoding the
   * value again. Throws a `RangeError` for one too large or too complex for this session's
   * messages, a `TypeError` for a value another codec wrote.
   */
  encodePreEncodedPut(target: string, value: PreEncodedValue, lazy?: boolean): unknown;
  /**
   * Sends an encoded put to `target` if the session has credit for that target and room for
   * the frame now: its sequence number, or 0 when the proxy must wait (the host calls
   * {@link RemoteChannel.pump} later). Never throws.
   */
  sendPut(proxy: RemoteChannel<never>, target: string, encoded: unknown): number;
  /** The proxy was closed by its holder: tell the owner and forget it. */
  released(proxy: RemoteChannel<never>): void;
  /** An encoded value that will never be sent: undo what encoding it did (channel copies counted). */
  discard(encoded: unknown): void;
}

const FALSE = Promise.resolve(false);

/** The options of a proxy's `put`. */
export interface RemotePutOptions {
  /** Aborting it while the put still waits in the proxy withdraws the put. */
  signal?: AbortSignal;
  /**
   * The caller does not need the answer soon: the remote side may hold it (and the
   * acknowledgement of the put) until it sends something else, a quarter of the window of
   * frames waits, or its acknowledgement delay (2 s) passes, instead of answering at the end of
   * its turn. A stream of puts made without awaiting each (a fan-out, readings) then costs the
   * remote side one message per batch of answers instead of one per put; over SSE and
   * long-polling each of those is an HTTP request. The put still resolves with the answer, only
   * later. Ignored by a peer too old to read the flag, and while this side's replay buffer is
   * over half full. Default false: a put awaited in a loop must not wait for a timer.
   */
  lazyAnswer?: boolean;
}

/**
 * A put-only stand-in for a channel of the other side: a named server channel
 * (`session.serverChan(name)`), or a channel that arrived inside a value.
 *
 * - `put(value)` resolves `true` once the remote channel took the value, `false` if it is
 *   closed, this proxy is closed or the session ended. At most `window` puts to one target
 *   are in flight (counted by the session, across proxies of that target); later ones wait
 *   here in order (at most {@link MAX_PENDING}, then
 *   {@link TooManyPendingError}), so a remote channel nobody takes from slows its putters
 *   instead of filling memory. Throws synchronously, before anything is sent or waits, and
 *   whether or not other puts wait: a `TypeError` for a value that cannot be sent
 *   (`undefined`, a cycle, a `BigInt` …), a `RangeError` for one too large for a message
 *   (`ERR_MESSAGE_TOO_LARGE`, counted in UTF-8 bytes) or with too many arrays and objects
 *   (`ERR_VALUE_TOO_COMPLEX`).
 * - `put(value, { signal })`: aborting the signal while the put still waits in the proxy
 *   withdraws it (nothing is sent; the promise rejects with the signal's reason); a put already
 *   sent cannot be taken back, and its promise settles with the answer as usual.
 * - `put(value, { lazyAnswer: true })`: for a stream of puts nobody awaits one by one, the
 *   remote side may answer in batches (see {@link RemotePutOptions.lazyAnswer}).
 * - `offer(value)` sends only if that can happen now (credit and room in the session), and says
 *   whether it did; the remote channel may still refuse the value if it closes meanwhile.
 * - `close()` (or `Symbol.dispose`) releases the proxy: it closes here and the owner forgets
 *   this reference. It does not close the remote channel. True only the first time.
 *
 * A proxy that becomes unreachable is released by itself (`FinalizationRegistry`).
 */
export class RemoteChannel<T> {
  /** The settlers of puts sent and not yet answered: no Map for a proxy awaiting each put. */
  readonly #inflight = new InFlight<(ok: boolean) => void>();
  readonly #waiting = new RingQueue<Waiting>(4);
  #isClosed = false;

  /** @internal Made by the session. */
  readonly #host: ProxyHost;

  constructor(host: ProxyHost, /** The reference id (`s.…`, `c.…`) or `n:` and the name of a named server channel. */
    readonly target: string) {
    this.#host = host;
  }

  /** True once closed here, closed by its owner, or when the session ended. */
  get closed(): boolean {
    return this.#isClosed;
  }

  put(value: T, options?: RemotePutOptions): Promise<boolean> {
    checkPutValue(value);
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason as unknown);
    if (this.#isClosed) return FALSE;
    if (this.#waiting.length >= MAX_PENDING) throw new TooManyPendingError("puts", MAX_PENDING);
    return this.#send(this.#host.encodePut(this.target, value, options?.lazyAnswer === true), signal);
  }

  /**
   * `put` of a value encoded once for many sessions (a server topic's): the same answer, order
   * and credit as `put`, but the value is framed for this session without being encoded again.
   * Throws a `RangeError` for a value too large or too complex for this session's messages.
   */
  putEncoded(value: PreEncodedValue, options?: RemotePutOptions): Promise<boolean> {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason as unknown);
    if (this.#isClosed) return FALSE;
    if (this.#waiting.length >= MAX_PENDING) throw new TooManyPendingError("puts", MAX_PENDING);
    return this.#send(this.#host.encodePreEncodedPut(this.target, value, options?.lazyAnswer === true), signal);
  }

  /** Sends an encoded put now if the session lets it, else queues it behind the waiting ones. */
  #send(wire: unknown, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.#waiting.length === 0) {
      const seq = this.#host.sendPut(this as RemoteChannel<never>, this.target, wire);
      if (seq > 0) return new Promise<boolean>((resolve) => this.#inflight.add(seq, resolve));
    }
    return new Promise<boolean>((resolve, reject) => {
      const item: Waiting = { wire, resolve, reject };
      this.#waiting.push(item);
      if (signal !== undefined) this.#withdrawOnAbort(item, signal);
    });
  }

  /** Takes a waiting put back when `signal` aborts before it was sent. */
  #withdrawOnAbort(item: Waiting, signal: AbortSignal): void {
    const onAbort = (): void => {
      if (!this.#waiting.delete(item)) return; // sent already: its answer settles it
      this.#host.discard(item.wire);
      item.reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    // However the put settles, the listener goes with it.
    const { resolve, reject } = item;
    item.resolve = (ok) => {
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    item.reject = (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    };
  }

  offer(value: T): boolean {
    checkPutValue(value);
    if (this.#isClosed || this.#waiting.length > 0) return false;
    const encoded = this.#host.encodePut(this.target, value);
    const seq = this.#host.sendPut(this as RemoteChannel<never>, this.target, encoded);
    if (seq === 0) {
      this.#host.discard(encoded);
      return false;
    }
    this.#inflight.add(seq, ignoreOutcome);
    return true;
  }

  close(): boolean {
    if (this.#isClosed) return false;
    this.shut(false);
    this.#host.released(this as RemoteChannel<never>);
    return true;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal The put `seq` was taken (`ok`) or refused: settle it and send what waits. */
  settle(seq: number, ok: boolean): void {
    const resolve = this.#inflight.take(seq);
    if (resolve === undefined) return;
    resolve(ok);
    this.pump();
  }

  /** @internal Sends waiting puts while there is credit and room in the session. */
  pump(): void {
    while (!this.#isClosed && this.#waiting.length > 0) {
      const next = this.#waiting.peek() as Waiting;
      const seq = this.#host.sendPut(this as RemoteChannel<never>, this.target, next.wire);
      if (seq === 0) return;
      this.#waiting.shift();
      this.#inflight.add(seq, next.resolve);
    }
  }

  /**
   * @internal Closes the proxy without telling the owner: waiting puts resolve `false`. Puts
   * already sent still get their answer, unless `sessionEnded`: then nothing will answer them.
   */
  shut(sessionEnded: boolean): void {
    this.#isClosed = true;
    for (let item = this.#waiting.shift(); item !== undefined; item = this.#waiting.shift()) {
      // When the session ended its tables are gone with it; otherwise the copies must be given back.
      if (!sessionEnded) this.#host.discard(item.wire);
      item.resolve(false);
    }
    if (sessionEnded) for (const resolve of this.#inflight.drain()) resolve(false);
  }
}

interface Waiting {
  wire: unknown;
  resolve: (ok: boolean) => void;
  reject: (error: unknown) => void;
}

function ignoreOutcome(): void {
  // An offered value's outcome has no one waiting for it.
}

/** Whether `x` is a proxy of a remote channel. */
export function isRemoteChannel(x: unknown): x is RemoteChannel<unknown> {
  return x instanceof RemoteChannel;
}
