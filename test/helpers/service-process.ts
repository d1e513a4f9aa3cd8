// A Redis or NATS server of a test's own, so that the test can stop it and start it again on the
// same port (the shared ones of services.ts serve every test file at once and must stay up).
// Bound to 127.0.0.1, on a port the OS chose free, keeping nothing on disk (a temporary
// directory, removed after). Stopped with SIGKILL, as a crash would: connections break at once.
// The process is killed after the test whatever its outcome, and when this process exits.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { accepts } from "./services.js";

const HOST = "127.0.0.1";
const REDIS_SERVER = "/usr/bin/redis-server";
const NATS_SERVER = "/usr/sbin/nats-server";

export interface ServiceProcess {
  readonly port: number;
  /** `redis://127.0.0.1:port` or `nats://127.0.0.1:port`. */
  readonly url: string;
  /** Whether the server runs now. */
  readonly running: boolean;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
}

/** Every server a test started and has not stopped: killed if this process exits first. */
const alive = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of alive) child.kill("SIGKILL");
});

/** A redis-server of the test's own: no persistence, in a temporary directory. */
export function redisProcess(t: TestContext): Promise<ServiceProcess> {
  return serviceProcess(t, "redis", (port, dir) => [REDIS_SERVER, ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"]]);
}

/** A nats-server of the test's own: core NATS, no JetStream, so nothing on disk. */
export function natsProcess(t: TestContext): Promise<ServiceProcess> {
  return serviceProcess(t, "nats", (port) => [NATS_SERVER, ["-a", HOST, "-p", String(port)]]);
}

async function serviceProcess(t: TestContext, scheme: "redis" | "nats", command: (port: number, dir: string) => [string, string[]]): Promise<ServiceProcess> {
  const dir = await mkdtemp(join(tmpdir(), `wirechan-${scheme}-`));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const service: ServiceProcess = {
    port,
    url: `${scheme}://${HOST}:${port}`,
    get running() {
      return child !== null;
    },
    async stop() {
      const running = child;
      if (running === null) return;
      child = null;
      const exited = once(running, "exit");
      running.kill("SIGKILL");
      await exited;
      alive.delete(running);
    },
    async start() {
      if (child !== null) return;
      const [file, args] = command(port, dir);
      const started = spawn(file, args, { cwd: dir, stdio: "ignore" });
      child = started;
      alive.add(started);
      const deadline = Date.now() + 10_000;
      while (!(await accepts(HOST, port))) {
        if (started.exitCode !== null || Date.now() > deadline) {
          await service.stop();
          throw new Error(`${file} did not accept connections on ${HOST}:${port}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
  t.after(async () => {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  });
  await service.start();
  return service;
}

/** A port on 127.0.0.1 that the OS says is free now (listened on, then let go). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, HOST);
  await once(server, "listening");
  const address = server.address();
  server.close();
  await once(server, "close");
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return address.port;
}
