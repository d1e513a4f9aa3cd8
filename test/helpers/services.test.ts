// The services check (services.ts): an unreachable Redis or NATS fails the test with how to start
// it, never skips it. Pointed at a port where nothing listens, through REDIS_URL and NATS_URL.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort } from "./service-process.js";
import { natsUrl, redisUrl, requireNats, requireRedis } from "./services.js";

describe("the services the backplane tests need", () => {
  it("defaults to 127.0.0.1, REDIS_URL and NATS_URL override", (t) => {
    const saved = { redis: process.env.REDIS_URL, nats: process.env.NATS_URL };
    t.after(() => {
      for (const [name, value] of [["REDIS_URL", saved.redis], ["NATS_URL", saved.nats]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    delete process.env.REDIS_URL;
    delete process.env.NATS_URL;
    assert.equal(redisUrl(), "redis://127.0.0.1:6379");
    assert.equal(natsUrl(), "nats://127.0.0.1:4222");
    process.env.REDIS_URL = "redis://127.0.0.1:7000";
    process.env.NATS_URL = "nats://127.0.0.1:7001";
    assert.equal(redisUrl(), "redis://127.0.0.1:7000");
    assert.equal(natsUrl(), "nats://127.0.0.1:7001");
  });

  it("nothing listening: the check fails, saying how to start the service", async (t) => {
    const saved = { redis: process.env.REDIS_URL, nats: process.env.NATS_URL };
    t.after(() => {
      for (const [name, value] of [["REDIS_URL", saved.redis], ["NATS_URL", saved.nats]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}`;
    process.env.NATS_URL = `nats://127.0.0.1:${await freePort()}`;
    await assert.rejects(requireRedis(), (error: Error) => error instanceof assert.AssertionError && /redis-server --daemonize yes .*--port 6379/.test(error.message) && /REDIS_URL/.test(error.message));
    await assert.rejects(requireNats(), (error: Error) => error instanceof assert.AssertionError && /start-stop-daemon .*nats-server -- -a 127\.0\.0\.1 -p 4222 -js/.test(error.message) && /NATS_URL/.test(error.message));
  });
});
