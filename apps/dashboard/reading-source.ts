/**
 * Who makes the dashboard's readings when several nodes serve it (docs/apps.md "Running more than
 * one server"): one node at a time, so that every page on every node draws the same series. Each
 * node is an entry of the presence of a topic of its own (`producers`); the producer is the one
 * whose node id sorts first among them. Every node ticks; only the producer makes a reading and
 * puts it on the readings topic, which delivers it to every node (this one included), and
 * appends it to the engine's log for nodes that start later. When the producer leaves (closed:
 * at once; killed: after the presence `timeout`), the next node takes over, and its walk goes
 * on from the last reading it received, so the chart does not jump. Alone (no backplane), the
 * node is the only entry and so the producer.
 */
import type { Logger, Topic } from "../../src/server/index.js";
import { chan } from "../../src/index.js";
import type { EngineLog } from "../shared/engine-log.js";
import { PresenceTally } from "../shared/presence-tally.js";
import { ThrottledWarning } from "../shared/throttled-warning.js";
import { nextHappiness, type Reading } from "./readings.js";

export interface ReadingSourceOptions {
  maxStep: number;
  random: () => number;
  logger: Logger;
}

export class ReadingSource {
  readonly #producers: PresenceTally;
  /** This node's entry among the producers: a channel nothing is put on (the topic carries no values). */
  readonly #entry = chan<never>(1);
  /** An engine down fails every tick: said once in a while, not every second. */
  readonly #lost: ThrottledWarning;
  #happiness: number;

  constructor(
    private readonly readings: Topic<Reading>,
    private readonly producers: Topic<never>,
    private readonly log: EngineLog<Reading> | null,
    private readonly options: ReadingSourceOptions,
  ) {
    this.#happiness = options.random() * 10;
    this.#lost = new ThrottledWarning(options.logger, "dashboard: a reading could not be published", 60);
    const presence = producers.presence;
    if (presence === null) throw new TypeError("ReadingSource: the producers topic needs its presence on");
    this.#producers = new PresenceTally(presence, ignoreChange, options.logger);
    producers.subscribe(this.#entry, { principal: "producer" });
  }

  /** Whether this node makes the readings now: its id sorts first among the producers it knows of. */
  get producing(): boolean {
    const own = this.producers.presence?.node;
    let first: string | undefined;
    for (const entry of this.#producers.entries()) if (first === undefined || entry.node < first) first = entry.node;
    return first === own;
  }

  /** A reading came (from whichever node made it): the walk goes on from it if this node takes over. */
  received(reading: Reading): void {
    this.#happiness = reading.happiness;
  }

  /** One period: the producer makes the next reading and puts it; the other nodes wait for it. */
  readonly tick = (): void => {
    if (!this.producing) return;
    this.#happiness = nextHappiness(this.#happiness, this.options.random, this.options.maxStep);
    const reading: Reading = { happiness: this.#happiness, ts: Date.now() };
    try {
      void this.readings.put(reading);
    } catch (error) {
      // The engine is slow or down (ERR_BACKPLANE_FULL): this reading is lost, the next may pass.
      this.#lost.note(error instanceof Error ? error.message : String(error));
      return;
    }
    this.log?.append(JSON.stringify(reading));
  };

  close(): void {
    this.producers.unsubscribe(this.#entry);
    this.#producers.close();
  }
}

function ignoreChange(): void {
  // The producer is decided at each tick, from the entries then.
}
