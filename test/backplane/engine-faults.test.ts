// The server of an engine going away and coming back (docs/api.md "More than one server",
// "When Redis or NATS is down"): each test starts its own redis-server or nats-server on a free
// port (test/helpers/service-process.ts), connects two nodes, kills the server, and while it is
// down checks that the nodes go on (subscribe, unsubscribe, pending) and that publishes pile up
// to maxPending and then throw ERR_BACKPLANE_FULL, typed, with nothing crashing. It starts the
// server again on the same port and polls until both nodes' subscriptions work again. What
// became of the publishes made during the outage is checked against the documented policy: sent
// once the connection is back, at most once each and in order, reaching the nodes that are
// subscribed again by then (not promised to be all of them).
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { type Backplane, BackplaneError, type BackplaneOptions } from "../../src/backplane/index.js";
import { natsBackplane } from "../../src/backplane/nats.js";
import { redisBackplane } from "../../src/backplane/redis.js";
import { settle, until } from "../helpers/async.js";
import { RecordingLogger } from "../helpers/recording-logger.js";
import { natsProcess, redisProcess, type ServiceProcess } from "../helpers/service-process.js";

const TEST = { timeout: 90_000 };
/** Bounds on waiting (never timing assertions): reconnecting takes the engines' backoff, up to 2 s. */
const BACK_WITHIN = 30_000;

interface Engine {
  readonly name: string;
  service(t: TestContext): Promise<ServiceProcess>;
  node(url: string, options: BackplaneOptions): Promise<Backplane>;
  /** Whether the node's logger says the connection is down (then a publish waits rather than going to a dead socket). */
  readonly down: RegExp;
}

const ENGINES: Engine[] = [
  {
    name: "Redis",
    service: redisProcess,
    node: (url, options) => Promise.resolve(redisBackplane({ url, ...options })),
    down: /publisher connection is down/,
  },
  {
    name: "NATS",
    service: natsProcess,
    node: (url, options) => natsBackplane({ servers: url, reconnectTimeWait: 100, ...options }),
    down: /disconnected from/,
  },
];

/** The bodies `got` holds that start with `prefix`. */
function bodies(got: readonly string[], prefix: string): string[] {
  return got.filter((body) => body.startsWith(prefix));
}

for (const engine of ENGINES) {
  describe(`${engine.name} server down, then back on the same port`, () => {
    it("while down the nodes go on and publishes stop at maxPending (ERR_BACKPLANE_FULL); once back, subscriptions work again and the held publishes go out at most once, in order", TEST, async (t) => {
      const service = await engine.service(t);
      const loggers = [new RecordingLogger(), new RecordingLogger()];
      const [a, b] = await Promise.all(["a", "b"].map((nodeId, i) => engine.node(service.url, { nodeId, maxPending: 8, logger: loggers[i]! })));
      t.after(() => a!.close());
      t.after(() => b!.close());
      const gotA: string[] = [];
      const gotB: string[] = [];
      a!.subscribe("s", (m) => gotA.push(m.body));
      b!.subscribe("s", (m) => gotB.push(m.body));
      await Promise.all([a!.ready(), b!.ready()]);
      a!.publish("s", "before");
      await until(() => gotA.length === 1 && gotB.length === 1, "the message before the outage");

      await service.stop();
      await until(() => loggers.every((logger) => logger.lines.some((line) => engine.down.test(line.message))), "both nodes saw the server go");

      // Local bookkeeping goes on while the server is down.
      const gotLater: string[] = [];
      b!.subscribe("later", (m) => gotLater.push(m.body));
      const stop = a!.subscribe("gone", () => undefined);
      stop();
      for (let i = 0; i < 8; i++) a!.publish("s", `held ${i}`);
      assert.equal(a!.pending, 8);
      assert.throws(
        () => a!.publish("s", "one too many"),
        (error: unknown) => error instanceof BackplaneError && error.code === "ERR_BACKPLANE_FULL" && /maxPending/.test(error.message),
      );
      // A while down (not a timing assertion: nothing may give up on its own meanwhile).
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(a!.pending, 8, "the held publishes wait: neither taken nor refused");
      assert.equal(b!.pending, 0);

      await service.start();
      await until(() => a!.pending === 0, "the held publishes taken once the server is back", BACK_WITHIN);
      await within(Promise.all([a!.ready(), b!.ready()]), "both nodes subscribed again");
      // Poll: publish from each node until the other hears it.
      for (const [from, to, got] of [[a!, "b", gotB], [b!, "a", gotA]] as const) {
        for (let i = 0; bodies(got, `probe from ${from.nodeId}`).length === 0; i++) {
          assert.ok(i < 1_000, `${to} never heard ${from.nodeId} again`);
          from.publish("s", `probe from ${from.nodeId} ${i}`);
          await until(() => from.pending === 0, "the probe taken", BACK_WITHIN);
          await settle();
        }
      }
      a!.publish("later", "subscribed during the outage");
      await until(() => gotLater.length === 1, "the subscription made during the outage works", BACK_WITHIN);

      // The held publishes: none refused, and whatever reached a node came once, in order.
      for (const [name, logger] of [["a", loggers[0]!], ["b", loggers[1]!]] as const) {
        assert.deepEqual(logger.lines.filter((line) => /refused|lost|threw/.test(line.message)), [], `node ${name} lost or refused nothing`);
      }
      for (const got of [gotA, gotB]) {
        const held = bodies(got, "held ");
        const expected = Array.from({ length: 8 }, (_, i) => `held ${i}`).filter((body) => held.includes(body));
        assert.deepEqual(held, expected, "at most once each, in order");
      }
      t.diagnostic(`held publishes delivered after the restart: a got ${bodies(gotA, "held ").length} of 8, b got ${bodies(gotB, "held ").length} of 8`);
    });
  });
}

/** `promise`, or a failure naming `what` after BACK_WITHIN ms (a bound on a hang). */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BACK_WITHIN);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
