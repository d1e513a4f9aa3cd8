// The session table's sweep pings a slice of the sessions each time, every session once per
// heartbeat: 5,000 pings never go in one sweep. A SessionTable on mocked timers and clock,
// with links that record their packets. Counts of pings, never durations.
import assert from "node:assert/strict";
import { describe, it, mock, type TestContext } from "node:test";
import { resolveServerOptions, type ServerOptions } from "../../src/server/options.js";
import { type ActiveLink, SessionTable } from "../../src/server/protocol/sessions.js";

/** A link that counts the pings written to it. */
class RecordingLink implements ActiveLink {
  readonly transport = "websocket" as const;
  readonly oneShot = false;
  pings = 0;
  send(packet: string): void {
    for (const frame of JSON.parse(packet) as unknown[][]) if (frame[0] === "ping") this.pings++;
  }
  drop(): void {
    // Nothing to close.
  }
}

function table(t: TestContext, options: ServerOptions, sessions: number): { links: RecordingLink[]; sweep: (n: number) => Promise<void>; intervalMs: number } {
  mock.timers.enable({ apis: ["setInterval", "Date"] });
  t.after(() => mock.timers.reset());
  const resolved = resolveServerOptions(options);
  const sessionTable = new SessionTable(resolved, () => undefined);
  const links: RecordingLink[] = [];
  for (let i = 0; i < sessions; i++) {
    const session = sessionTable.create(null, `10.0.${Math.floor(i / 200)}.${i % 200}`);
    const link = new RecordingLink();
    session.attach(link, 0);
    links.push(link);
  }
  const { heartbeat, heartbeatTimeout, sessionTtl, linkTimeout } = resolved;
  const intervalMs = Math.min(heartbeat, Math.floor(heartbeatTimeout / 2), Math.floor(sessionTtl / 2), Math.floor(linkTimeout / 2));
  const sweep = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      mock.timers.tick(intervalMs);
      // Pings are flushed at the end of the tick.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  t.after(() => {
    for (const link of links) link.drop();
  });
  return { links, sweep, intervalMs };
}

describe("the session table pings a slice of the sessions per sweep", () => {
  it("defaults (heartbeat 25 s, a sweep every 5 s): 5,000 sessions are pinged 1,000 per sweep, each once per heartbeat", async (t) => {
    const { links, sweep, intervalMs } = table(t, { maxSessions: 10_000, maxSessionsPerAddress: 10_000 }, 5_000);
    assert.equal(intervalMs, 5_000);
    const pinged = (): number => links.filter((l) => l.pings > 0).length;
    await sweep(1);
    assert.equal(pinged(), 1_000, "a fifth on the first sweep");
    await sweep(4);
    assert.ok(links.every((l) => l.pings === 1), "every session once after five sweeps (one heartbeat)");
    await sweep(5);
    assert.ok(links.every((l) => l.pings === 2), "and once more in the next heartbeat");
  });

  it("a heartbeat no longer than the sweep pings everyone on every sweep", async (t) => {
    const { links, sweep } = table(t, { heartbeat: 1_000, linkTimeout: 10_000, heartbeatTimeout: 60_000 }, 20);
    await sweep(3);
    assert.ok(links.every((l) => l.pings === 3), "each session on each of the three sweeps");
  });
});
