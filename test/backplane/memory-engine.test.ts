// The engine suite and the three-node topics suite over the in-memory engine: a MemoryBus per
// space. The memory bus is never down, so its cuttable node is an engine in front of the bus that
// holds publishes while "cut", as a network engine's client does while its server is unreachable.
import type { TestContext } from "node:test";
import { type Backplane, type BackplaneEngine, type BackplaneOptions, createBackplane, MemoryBus, memoryBackplane, type Unsubscribe } from "../../src/backplane/index.js";
import { type EngineFixture, engineSuite } from "./engine-suite.js";
import { clusterFeaturesSuite } from "./cluster-features-suite.js";
import { topicsSuite } from "./topics-suite.js";

const buses = new Map<string, MemoryBus>();

function bus(space: string): MemoryBus {
  let found = buses.get(space);
  if (found === undefined) {
    found = new MemoryBus();
    buses.set(space, found);
  }
  return found;
}

/** An engine on `bus` that holds publishes while cut, and hands them over in order once restored. */
class CuttableEngine implements BackplaneEngine {
  #cut = false;
  readonly #held: Array<{ subject: string; text: string; taken: () => void }> = [];
  readonly #subscriptions = new Set<Unsubscribe>();

  constructor(readonly bus: MemoryBus) {}

  cut(): void {
    this.#cut = true;
  }

  restore(): void {
    this.#cut = false;
    for (const { subject, text, taken } of this.#held.splice(0)) void this.bus.publish(subject, text).then(taken);
  }

  publish(subject: string, text: string): Promise<void> {
    if (!this.#cut) return this.bus.publish(subject, text);
    return new Promise((taken) => this.#held.push({ subject, text, taken }));
  }

  subscribe(subject: string, onMessage: (text: string) => void): Unsubscribe {
    const stop = this.bus.subscribe(subject, onMessage);
    this.#subscriptions.add(stop);
    return () => {
      if (this.#subscriptions.delete(stop)) stop();
    };
  }

  append(log: string, text: string, maxEntries: number): Promise<void> {
    return this.bus.append(log, text, maxEntries);
  }

  read(log: string, maxEntries: number): Promise<string[]> {
    return this.bus.read(log, maxEntries);
  }

  close(): Promise<void> {
    for (const stop of this.#subscriptions) stop();
    this.#subscriptions.clear();
    return Promise.resolve();
  }
}

function closing(t: TestContext, node: Backplane): Backplane {
  t.after(() => node.close());
  return node;
}

const memoryFixture: EngineFixture = {
  name: "memory",
  ordersAcrossPublishers: true,
  node: (t, space, options?: BackplaneOptions) => Promise.resolve(closing(t, memoryBackplane(bus(space), options))),
  cuttableNode: (t, space, options?: BackplaneOptions) => {
    const engine = new CuttableEngine(bus(space));
    const node = closing(t, createBackplane(engine, options));
    return Promise.resolve({ node, cut: () => Promise.resolve(engine.cut()), restore: () => engine.restore() });
  },
};

engineSuite(memoryFixture);
topicsSuite(memoryFixture);
clusterFeaturesSuite(memoryFixture);
