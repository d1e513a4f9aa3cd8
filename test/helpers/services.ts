// The services the backplane tests talk to: Redis at 127.0.0.1:6379 and NATS at 127.0.0.1:4222,
// or where REDIS_URL and NATS_URL say. A test that needs one and cannot reach it FAILS, saying
// how to start it: it is never skipped (a green run must mean the engines were tested).
// .ci/run starts both when they are down.
import assert from "node:assert/strict";
import { connect } from "node:net";

/** Where the tests find Redis: `REDIS_URL`, else redis://127.0.0.1:6379. */
export function redisUrl(): string {
  return process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
}

/** Where the tests find NATS: `NATS_URL`, else nats://127.0.0.1:4222. */
export function natsUrl(): string {
  return process.env.NATS_URL ?? "nats://127.0.0.1:4222";
}

const START_REDIS = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`;
const START_NATS = "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js";

/** Fails the test, with how to start Redis, unless something accepts TCP connections at {@link redisUrl}. */
export async function requireRedis(): Promise<string> {
  const url = redisUrl();
  await requireService(url, 6379, `Redis is not reachable at ${url}: start it with\n  ${START_REDIS}\nor set REDIS_URL to a Redis server (the backplane tests need a real one; they are never skipped).`);
  return url;
}

/** Fails the test, with how to start NATS, unless something accepts TCP connections at {@link natsUrl}. */
export async function requireNats(): Promise<string> {
  const url = natsUrl();
  await requireService(url, 4222, `NATS is not reachable at ${url}: start it with\n  ${START_NATS}\nor set NATS_URL to a NATS server (the backplane tests need a real one; they are never skipped).`);
  return url;
}

async function requireService(url: string, defaultPort: number, howToStart: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, "");
  const reachable = await accepts(host, port === "" ? defaultPort : Number(port));
  if (!reachable) assert.fail(howToStart);
}

/** Whether `host:port` accepts a TCP connection within two seconds. */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2_000);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
