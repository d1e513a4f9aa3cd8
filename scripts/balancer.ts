/**
 * `npm run balancer -- --port 3000 3001 3002 3003`: a round-robin load balancer on
 * 127.0.0.1:3000 in front of the servers on 127.0.0.1:3001, 3002 and 3003, without sticky
 * sessions: each HTTP request and each WebSocket goes to the next server in turn (README,
 * "Running more than one server"). It is the balancer the tests run (net/round-robin-balancer.ts),
 * for trying a cluster on one machine with nothing installed; in production use your own
 * (nginx, HAProxy, a cloud's), with no sticky sessions needed.
 *
 * A server that is down answers its turn with 502 (the wirechan client tries again); the
 * balancer does not check health. Ctrl-C stops it.
 */
import { parseArgs } from "node:util";
import { RoundRobinBalancer } from "./net/round-robin-balancer.js";

const USAGE = "usage: npm run balancer -- [--port P] PORT…   (P: where it listens on 127.0.0.1, default 3000; then the servers' ports on 127.0.0.1)";

/** The command line: the balancer's port and the servers' ports, each a whole number from 1 to 65535. */
function readCommandLine(argv: readonly string[]): { port: number; ports: number[] } {
  const { values, positionals } = parseArgs({ args: [...argv], options: { port: { type: "string" } }, allowPositionals: true, strict: true });
  const port = tcpPort(values.port ?? "3000", "--port");
  const ports = positionals.map((text) => tcpPort(text, "a server's port"));
  if (ports.length === 0) throw new Error("name at least one server's port");
  if (ports.includes(port)) throw new Error(`the balancer's port ${port} is also a server's`);
  return { port, ports };
}

function tcpPort(text: string, what: string): number {
  const value = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= 65_535)) throw new Error(`${what} must be a port, a whole number from 1 to 65535; got ${JSON.stringify(text)}`);
  return value;
}

async function main(): Promise<void> {
  let settings: { port: number; ports: number[] };
  try {
    settings = readCommandLine(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
  const balancer = new RoundRobinBalancer({ ports: settings.ports, port: settings.port });
  await balancer.listen();
  console.log(`balancing ${balancer.url} over ${settings.ports.map((p) => `127.0.0.1:${p}`).join(", ")}`);
  const stop = (): void => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    balancer.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
