// The heartbeat sweep, on mocked timers: every member checked once per interval, a slice of
// them per tick (never all 5,000 at once), nobody checked after leaving, no timer without
// members. Counts of checks, never durations.
import assert from "node:assert/strict";
import { describe, it, mock, type TestContext } from "node:test";
import { HeartbeatSweep, maxSweepSlices, minSweepTickMs } from "../../src/server/heartbeat-sweep.js";

class Member {
  /** The tick numbers at which this member was checked. */
  readonly checks: number[] = [];
  constructor(private readonly clock: { tick: number }) {}
  checkAlive(): void {
    this.checks.push(this.clock.tick);
  }
}

function setup(t: TestContext, idleTimeout: number, members: number): { sweep: HeartbeatSweep; all: Member[]; tick: (n?: number) => void } {
  mock.timers.enable({ apis: ["setInterval"] });
  t.after(() => mock.timers.reset());
  const clock = { tick: 0 };
  const sweep = new HeartbeatSweep(idleTimeout);
  const all = Array.from({ length: members }, () => new Member(clock));
  for (const member of all) sweep.add(member);
  const tick = (n = 1): void => {
    for (let i = 0; i < n; i++) {
      clock.tick++;
      mock.timers.tick(sweep.tickMs);
    }
  };
  return { sweep, all, tick };
}

describe("HeartbeatSweep", () => {
  it("at the default idleTimeout (60 s): 30 slices, one a second; 5,000 members are checked 167 at a time, each once per 30 s", (t) => {
    const { sweep, all, tick } = setup(t, 60_000, 5_000);
    assert.equal(sweep.tickMs, 1_000, "a tick a second");
    tick();
    const first = all.filter((m) => m.checks.length === 1).length;
    assert.ok(first >= 166 && first <= 167, `one slice checked on the first tick (${first})`);
    tick(29);
    assert.ok(all.every((m) => m.checks.length === 1), "after 30 ticks (one interval) every member was checked exactly once");
    tick(30);
    assert.ok(all.every((m) => m.checks.length === 2 && (m.checks[1] ?? 0) - (m.checks[0] ?? 0) === maxSweepSlices), "checked again exactly one interval later");
  });

  it("a member that left is not checked again, and the timer stops with the last one", (t) => {
    const { sweep, all, tick } = setup(t, 60_000, 100);
    const [gone, ...rest] = all as [Member, ...Member[]];
    sweep.delete(gone);
    sweep.delete(gone);
    assert.equal(sweep.size, 99, "deleting twice counts once");
    tick(60);
    assert.deepStrictEqual(gone.checks, [], "never checked");
    assert.ok(rest.every((m) => m.checks.length === 2), "the others twice in two intervals");
    for (const member of rest) sweep.delete(member);
    assert.equal(sweep.size, 0);
    tick(60);
    assert.ok(rest.every((m) => m.checks.length === 2), "no check once everyone left");
  });

  it("iterates every member once, across its slices, and not those that left", (t) => {
    const { sweep, all } = setup(t, 60_000, 100);
    for (const member of all.slice(0, 10)) sweep.delete(member);
    const seen = [...sweep];
    assert.equal(seen.length, 90);
    assert.deepEqual(new Set(seen), new Set(all.slice(10)));
  });

  it("a member added twice is one member", (t) => {
    const { sweep, all, tick } = setup(t, 60_000, 3);
    for (const member of all) sweep.add(member);
    assert.equal(sweep.size, 3);
    tick(30);
    assert.ok(all.every((m) => m.checks.length === 1), "each checked once per interval");
  });

  it("a short interval is swept whole on each tick, never faster than minSweepTickMs apart", (t) => {
    const { sweep, all, tick } = setup(t, 2 * minSweepTickMs, 50);
    assert.equal(sweep.tickMs, minSweepTickMs, "one slice: the tick is the interval");
    tick();
    assert.ok(all.every((m) => m.checks.length === 1), "everyone on the one tick");
    assert.equal(new HeartbeatSweep(100).tickMs, 50, "an interval under minSweepTickMs is kept as it is, in one slice");
  });

  it("idleTimeout 0 turns the checks off: members are kept (the server counts its WebSocket connections here), never checked", (t) => {
    const { sweep, all, tick } = setup(t, 0, 10);
    assert.equal(sweep.size, 10);
    assert.equal(sweep.tickMs, 0);
    tick(5);
    assert.ok(all.every((m) => m.checks.length === 0));
    assert.deepEqual(new Set(sweep), new Set(all));
  });

  it("a check that ends members, itself or others of its slice, leaves every other member checked exactly once", (t) => {
    const { sweep, all, tick } = setup(t, 2 * minSweepTickMs, 20);
    const ended = new Set<number>();
    // Member 3 ends itself, 5 ends 12 (not checked yet) and 1 (checked already); 19 ends itself.
    const ends: Record<number, number[]> = { 3: [3], 5: [12, 1], 19: [19] };
    all.forEach((member, i) => {
      const check = member.checkAlive.bind(member);
      member.checkAlive = () => {
        check();
        for (const j of ends[i] ?? []) {
          ended.add(j);
          sweep.delete(all[j] as Member);
        }
      };
    });
    tick();
    all.forEach((member, i) => assert.equal(member.checks.length, i === 12 ? 0 : 1, `member ${i}`));
    assert.equal(sweep.size, 16);
    tick();
    all.forEach((member, i) => assert.equal(member.checks.length, i === 12 ? 0 : ended.has(i) ? 1 : 2, `member ${i} on the second tick`));
    for (const member of all) sweep.delete(member);
    assert.equal(sweep.size, 0);
    for (const member of all) sweep.add(member);
    assert.equal(sweep.size, 20, "members that left can come back");
  });
});
