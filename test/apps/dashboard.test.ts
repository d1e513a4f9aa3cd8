// The dashboard's pure parts: the walk, the history's bounds, what a watch request is, the options.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDashboardRequest } from "../../apps/dashboard/dashboard-messages.js";
import { dashboardDefaults, resolveDashboardOptions } from "../../apps/dashboard/dashboard-options.js";
import { nextHappiness, ReadingHistory } from "../../apps/dashboard/readings.js";
import { Mulberry32 } from "../../scripts/net/tcp-kit.js";
import { chan } from "../../src/index.js";
import { consoleLogger } from "../../src/server/index.js";

describe("the dashboard's readings", () => {
  it("a random walk: every step at most maxStep, always 0 <= happiness < 10, even pushed at both edges", () => {
    const rng = new Mulberry32(42);
    const random = (): number => rng.next();
    let h = 5;
    let lowest = 10;
    let highest = 0;
    for (let i = 0; i < 100_000; i++) {
      const next = nextHappiness(h, random, 0.5);
      assert.ok(next >= 0 && next < 10, `0 <= ${next} < 10`);
      assert.ok(Math.abs(next - h) <= 0.5 + 1e-9, "one step");
      lowest = Math.min(lowest, next);
      highest = Math.max(highest, next);
      h = next;
    }
    assert.ok(lowest < 1 && highest > 9, "it wanders over the whole range");
    assert.ok(nextHappiness(9.9, () => 0.999999, 0.5) < 10, "reflected below 10");
    assert.ok(nextHappiness(0.1, () => 0, 0.5) >= 0, "reflected above 0");
    assert.ok(nextHappiness(9.999999999, () => 0.5, 0.5) < 10, "never 10 itself");
  });

  it("the history keeps the window, and at most maxReadings whatever the interval", () => {
    const history = new ReadingHistory(1000, 5);
    for (let ts = 0; ts <= 3000; ts += 100) history.add({ happiness: 1, ts });
    assert.deepEqual(
      history.list().map((r) => r.ts),
      [2600, 2700, 2800, 2900, 3000],
      "the count bound",
    );
    const byAge = new ReadingHistory(1000, 1000);
    for (let ts = 0; ts <= 3000; ts += 250) byAge.add({ happiness: 1, ts });
    assert.deepEqual(
      byAge.list().map((r) => r.ts),
      [2000, 2250, 2500, 2750, 3000],
      "the window bound",
    );
    assert.throws(() => new ReadingHistory(0, 1), RangeError);
  });

  it("a watch request has a channel; anything else is not one", () => {
    assert.equal(isDashboardRequest({ watch: chan(1) }), true);
    for (const value of [null, 42, "watch", {}, { watch: "x" }, { watch: null }, { watch: { put: 1, close: 2 } }]) assert.equal(isDashboardRequest(value), false);
  });

  it("options: defaults, and a RangeError naming a bad one", () => {
    const resolved = resolveDashboardOptions({ interval: undefined }, consoleLogger);
    assert.equal(resolved.interval, dashboardDefaults.interval);
    assert.throws(() => resolveDashboardOptions({ interval: 0 }, consoleLogger), /interval/);
    assert.throws(() => resolveDashboardOptions({ maxHistory: -1 }, consoleLogger), /maxHistory/);
    assert.throws(() => resolveDashboardOptions({ maxStep: 10 }, consoleLogger), /maxStep/);
  });
});
