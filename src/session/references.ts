// The channel references of one session (docs/protocol.md section 5): the channels this side
// exported, with how many copies the peer holds, and the proxies it made of the peer's.
import { Channel, chan } from "../csp/channel.js";
import { WirechanRangeError, WirechanTypeError } from "../csp/errors.js";
import type { Operation } from "../wire/frames.js";
import { ProtocolError } from "../wire/protocol-error.js";
import { type ProxyHost, RemoteChannel } from "../wire/remote-channel.js";
import { LazyMap } from "./lazy-collections.js";

/** What the tables need from their session. */
export interface ReferenceOptions {
  side: "client" | "server";
  exportPrefix: string;
  maxChannels: number;
  /** The session: its proxies talk to it, and it sends the close and release frames. */
  host: ReferenceHost;
}

/** What the tables need of their session. */
export interface ReferenceHost extends ProxyHost {
  /** Sends a close (`"c"`) or release (`"r"`) frame to the peer. */
  sendReferenceOp(operation: Operation): void;
}

interface Export {
  ref: string;
  channel: Channel<unknown, unknown>;
  /** Copies sent and not yet released by the peer. */
  sent: number;
  unwatch: () => void;
}

interface Import {
  proxy: WeakRef<RemoteChannel<never>>;
  /** Copies received, reported back when the proxy is released. */
  received: number;
}

/** The tables of a session that exported, imported or named a channel. */
class Tables {
  readonly exportsByRef = new LazyMap<string, Export>();
  readonly exportsByChannel = new LazyMap<Channel<unknown, unknown>, Export>();
  readonly imports = new LazyMap<string, Import>();
  readonly named = new LazyMap<string, RemoteChannel<never>>();
}

/** What a session without tables reads: never written to (every `set` goes through `#own`). */
const NO_TABLES = new Tables();

/** Exports, imports and named proxies of a session, bounded together by `maxChannels`. */
export class References {
  // Every table, and the registry, is made on first use: most server sessions never send a
  // channel, and the empty ones cost more than the rest of an idle session's tables. Even the
  // four empty LazyMaps cost 128 bytes, so they come in one object, made with the first entry.
  #tables: Tables | null = null;
  #nextExport = 1;
  /** Releases the imports nobody holds any more; made with the first import. */
  #finalizer: FinalizationRegistry<string> | null = null;
  #ended = false;

  // The options' fields, not the object: it would be one more object per session.
  readonly #side: "client" | "server";
  readonly #exportPrefix: string;
  readonly #maxChannels: number;
  readonly #host: ReferenceHost;

  constructor(options: ReferenceOptions) {
    this.#side = options.side;
    this.#exportPrefix = options.exportPrefix;
    this.#maxChannels = options.maxChannels;
    this.#host = options.host;
  }

  /** The tables, or empty ones when none were made (reads and deletes; every `set` goes through `#own`). */
  get #current(): Tables {
    return this.#tables ?? NO_TABLES;
  }

  /** The tables to write to, made now if they were not. */
  get #own(): Tables {
    return (this.#tables ??= new Tables());
  }

  /** Exported plus imported channels, plus named proxies. */
  get count(): number {
    return this.#current.exportsByRef.size + this.#current.imports.size + this.#current.named.size;
  }

  /** Client: the proxy of the server channel `name` (one per name while it is open). */
  namedProxy(name: string): RemoteChannel<never> {
    let proxy = this.#current.named.get(name);
    if (proxy !== undefined && !proxy.closed) return proxy;
    proxy = new RemoteChannel<never>(this.#host, `n:${name}`);
    if (this.#ended) {
      proxy.shut(true);
      return proxy;
    }
    this.#checkRoom(() => new WirechanRangeError("ERR_TOO_MANY_CHANNELS", this.#tooMany()));
    this.#own.named.set(name, proxy);
    return proxy;
  }

  /**
   * The reference id of a channel or proxy met while encoding; undefined for other objects.
   * Each copy of our own channel it counts is added to `counted`, so a put that cannot be sent
   * can take them back ({@link unsend}).
   */
  refFor(object: object, counted: string[]): string | undefined {
    if (object instanceof Channel) {
      const ref = this.#exportChannel(object as Channel<unknown, unknown>);
      counted.push(ref);
      return ref;
    }
    if (object instanceof RemoteChannel) {
      const entry = this.#current.imports.get(object.target);
      if (entry !== undefined && entry.proxy.deref() === object) return object.target;
      throw new WirechanTypeError(
        "ERR_WIRE_VALUE",
        "only a proxy that arrived in this session can be sent back in it (a named server channel, or a proxy from another session, cannot)",
      );
    }
    return undefined;
  }

  /** What a reference read from the wire stands for here: our own channel, or a proxy of the peer's. */
  readRef(ref: string): unknown {
    if (ref.startsWith(this.#exportPrefix)) {
      // One of ours coming back: the channel itself, or a closed one if it is no longer exported.
      return this.#current.exportsByRef.get(ref)?.channel ?? closedChannel();
    }
    this.#checkPeerRef(ref);
    const known = this.#current.imports.get(ref);
    const alive = known?.proxy.deref();
    if (known !== undefined && alive !== undefined) {
      known.received++;
      return alive;
    }
    // New, or collected while this copy was on its way (its release has not gone out yet).
    if (known === undefined) this.#checkRoom(() => new ProtocolError("ERR_TOO_MANY_CHANNELS", this.#tooMany()));
    const proxy = new RemoteChannel<never>(this.#host, ref);
    this.#finalizer ??= new FinalizationRegistry<string>((collected) => this.#importCollected(collected));
    this.#finalizer.register(proxy, ref, proxy);
    this.#own.imports.set(ref, { proxy: new WeakRef(proxy), received: (known?.received ?? 0) + 1 });
    return proxy;
  }

  /**
   * The local channel a put `target` (one of our references) goes to, or undefined when it is
   * no longer exported. Throws for a reference that is not ours (`ERR_FOREIGN_REFERENCE` for
   * another session's).
   */
  exported(target: string): Channel<unknown, unknown> | undefined {
    this.#checkOwnRef(target);
    return this.#current.exportsByRef.get(target)?.channel;
  }

  /** A proxy of this session was closed by its holder: tell the owner. */
  released(proxy: RemoteChannel<never>): void {
    const target = proxy.target;
    if (target.startsWith("n:")) {
      if (this.#current.named.get(target.slice(2)) === proxy) this.#current.named.delete(target.slice(2));
      return;
    }
    const entry = this.#current.imports.get(target);
    if (entry === undefined || entry.proxy.deref() !== proxy) return;
    this.#finalizer?.unregister(proxy);
    this.#release(target, entry);
  }

  /** The peer closed its channel `ref`: our proxy closes and is released. */
  remoteClosed(ref: string): void {
    const entry = this.#current.imports.get(ref);
    if (entry === undefined) return;
    const proxy = entry.proxy.deref();
    if (proxy !== undefined) {
      proxy.shut(false);
      this.#finalizer?.unregister(proxy);
    }
    this.#release(ref, entry);
  }

  /** The peer dropped `count` copies of our reference `ref`; forgotten when none is left. */
  peerReleased(ref: string, count: number): void {
    this.#checkOwnRef(ref);
    this.#uncount(ref, count);
  }

  /** Copies counted for a put that was never sent: the peer will never release them. */
  unsend(refs: readonly string[]): void {
    for (const ref of refs) this.#uncount(ref, 1);
  }

  /**
   * A put carrying `refs` went out. One of them may be a channel closed already, whose
   * close the peer was told and whose proxy it released: say it again, after this put, so the
   * new proxy closes too.
   */
  sent(refs: readonly string[]): void {
    for (const ref of refs) {
      const entry = this.#current.exportsByRef.get(ref);
      if (entry !== undefined && entry.channel.closed) this.#host.sendReferenceOp({ op: "c", ref });
    }
  }

  #uncount(ref: string, count: number): void {
    const entry = this.#current.exportsByRef.get(ref);
    if (entry === undefined) return;
    entry.sent -= count;
    if (entry.sent > 0) return;
    entry.unwatch();
    this.#current.exportsByRef.delete(ref);
    this.#current.exportsByChannel.delete(entry.channel);
  }

  /** The session ended: every proxy closes, every table empties. */
  end(): void {
    this.#ended = true;
    for (const entry of this.#current.imports.values()) entry.proxy.deref()?.shut(true);
    for (const proxy of this.#current.named.values()) proxy.shut(true);
    for (const entry of this.#current.exportsByRef.values()) entry.unwatch();
    this.#current.imports.clear();
    this.#current.named.clear();
    this.#current.exportsByRef.clear();
    this.#current.exportsByChannel.clear();
    this.#tables = null;
  }

  #exportChannel(channel: Channel<unknown, unknown>): string {
    if (this.#ended) throw new WirechanTypeError("ERR_WIRE_VALUE", "the session has ended");
    let entry = this.#current.exportsByChannel.get(channel);
    if (entry === undefined) {
      this.#checkRoom(() => new WirechanRangeError("ERR_TOO_MANY_CHANNELS", this.#tooMany()));
      const ref = `${this.#exportPrefix}${this.#nextExport++}`;
      const created: Export = { ref, channel, sent: 0, unwatch: noop };
      // A channel closed already is announced after each put that carries it (see `sent`).
      if (!channel.closed) created.unwatch = channel.watchClose(() => this.#exportClosed(created));
      entry = created;
      this.#own.exportsByRef.set(ref, entry);
      this.#own.exportsByChannel.set(channel, entry);
    }
    entry.sent++;
    return entry.ref;
  }

  #exportClosed(entry: Export): void {
    if (this.#ended || this.#current.exportsByRef.get(entry.ref) !== entry) return;
    this.#host.sendReferenceOp({ op: "c", ref: entry.ref });
  }

  #importCollected(ref: string): void {
    const entry = this.#current.imports.get(ref);
    if (entry !== undefined && entry.proxy.deref() === undefined) this.#release(ref, entry);
  }

  #release(ref: string, entry: Import): void {
    this.#current.imports.delete(ref);
    if (!this.#ended) this.#host.sendReferenceOp({ op: "r", ref, count: entry.received });
  }

  /** A target or released reference must be one this side exported, in this session. */
  #checkOwnRef(ref: string): void {
    if (ref.startsWith(this.#exportPrefix)) return;
    if (this.#side === "server" && ref.startsWith("s.")) throw foreign();
    throw new ProtocolError("ERR_BAD_FRAME", `${JSON.stringify(ref.slice(0, 64))} is not a reference this side exported`);
  }

  /** A reference read inside a value that is not ours must be the peer's kind. */
  #checkPeerRef(ref: string): void {
    if (this.#side === "server") {
      if (ref.startsWith("c.")) return;
      if (ref.startsWith("s.")) throw foreign();
    } else if (ref.startsWith("s.")) return;
    throw new ProtocolError("ERR_BAD_FRAME", `${JSON.stringify(ref.slice(0, 64))} is not a channel reference`);
  }

  #checkRoom(error: () => Error): void {
    if (this.count >= this.#maxChannels) throw error();
  }

  #tooMany(): string {
    return `a session may hold at most ${this.#maxChannels} channels, exported and imported (maxChannelsPerSession); close proxies you no longer need`;
  }
}

function foreign(): ProtocolError {
  return new ProtocolError("ERR_FOREIGN_REFERENCE", "a reference of another session: references are valid only in the session that sent them");
}

function closedChannel(): Channel<unknown, unknown> {
  const channel = chan<unknown>();
  channel.close();
  return channel;
}

function noop(): void {}
