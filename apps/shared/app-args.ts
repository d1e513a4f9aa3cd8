/**
 * The command line of `npm start` (apps/server.ts), pure: flags and environment in, settings
 * out, or a {@link UsageError} that says what was wrong and how to write it.
 */
import { parseArgs as parseFlags } from "node:util";

/** The defaults of `npm start`'s command line. */
export const appArgsDefaults = {
  /** `--port P`, else the `PORT` environment variable, else 3000. 0 takes any free port (printed). */
  port: 3000,
  /** `--host H`: loopback only unless told otherwise (`0.0.0.0`, `::`). */
  host: "127.0.0.1",
  /** `--interval MS`: the dashboard's reading period. */
  interval: 1000,
  /**
   * `--redis URL` or `--nats URL` (else `REDIS_URL` or `NATS_URL`): the engine this server shares
   * the apps through, as one node of a cluster (docs/apps.md "Running more than one server").
   * Neither: one process on its own, no backplane at all, so `npm start` needs no service.
   */
  cluster: null,
  /** `--node-id ID`: this node's id among the cluster's; default a random UUID (the backplane's own default). */
  nodeId: undefined,
  /**
   * `--prefix P`: put before every subject, Redis key and NATS stream subject of the cluster, so
   * that two clusters (or a test and your own cluster) share one Redis or NATS without meeting.
   * Every node of one cluster gives the same. Default none.
   */
  prefix: "",
} as const;

/**
 * The dashboard's period may not be shorter: every viewer gets every reading, so a period of
 * 1 ms would be a server flooding its own clients. An hour at most: a longer one shows nothing.
 */
export const INTERVAL_RANGE = { min: 10, max: 3_600_000 } as const;

export const USAGE =
  "usage: npm start -- [--port P] [--host H] [--interval MS] [--redis URL | --nats URL] [--node-id ID] [--prefix P]\n" +
  "  (PORT sets the port when --port is not given; REDIS_URL or NATS_URL the cluster when neither --redis nor --nats is)";

/** The engine a node of a cluster shares the apps through, and where it is. */
export type ClusterArg = { engine: "redis"; url: string } | { engine: "nats"; url: string };

/** What a node id may be (the backplane's rule): 1 to 64 of letters, digits, `_ . : -`. */
const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** What a prefix may be: as a node id, or empty. */
const PREFIX = /^[A-Za-z0-9_.:-]{0,64}$/;

/** What `npm start` runs with. */
export interface AppArgs {
  port: number;
  host: string;
  interval: number;
  /** The cluster this server is a node of, or null: alone. */
  cluster: ClusterArg | null;
  /** This node's id, or undefined: the backplane's random default. */
  nodeId: string | undefined;
  /** What the cluster's subjects and keys start with ("" for none). */
  prefix: string;
}

/** A command line that cannot be run: the message says which value and why. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Reads `--port`, `--host`, `--interval`, `--redis`, `--nats`, `--node-id` and `--prefix` (as `--port 8080`
 * or `--port=8080`), and `PORT`, `REDIS_URL`, `NATS_URL`.
 * `--port` wins over `PORT`; an empty `PORT` counts as unset (as a shell's `PORT= npm start`
 * means). Throws a {@link UsageError} for an unknown flag, a flag without its value, a stray
 * argument, a port that is not a whole number from 0 to 65535 (`3e3`, `0x50`, ` 80` included),
 * an interval outside {@link INTERVAL_RANGE}, both `--redis` and `--nats` (or, with neither,
 * both `REDIS_URL` and `NATS_URL`), an engine URL of another scheme, or a bad `--node-id` or `--prefix`.
 */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AppArgs {
  const values = readFlags(argv);
  const portText = values.port ?? (env.PORT === "" ? undefined : env.PORT);
  const port = portText === undefined ? appArgsDefaults.port : wholeNumber(portText, "--port (or PORT)", 0, 65_535, "a port number");
  const host = values.host ?? appArgsDefaults.host;
  if (host.trim() === "" || /\s/.test(host)) throw new UsageError(`--host must be a host name or address, got ${JSON.stringify(host)}\n${USAGE}`);
  const interval =
    values.interval === undefined ? appArgsDefaults.interval : wholeNumber(values.interval, "--interval", INTERVAL_RANGE.min, INTERVAL_RANGE.max, "milliseconds");
  const nodeId = values["node-id"];
  if (nodeId !== undefined && !NODE_ID.test(nodeId)) throw new UsageError(`--node-id must be 1 to 64 of letters, digits, _ . : -; got ${JSON.stringify(nodeId)}\n${USAGE}`);
  const prefix = values.prefix ?? appArgsDefaults.prefix;
  if (!PREFIX.test(prefix)) throw new UsageError(`--prefix must be at most 64 of letters, digits, _ . : -; got ${JSON.stringify(prefix)}\n${USAGE}`);
  return { port, host, interval, cluster: readCluster(values, env), nodeId, prefix };
}

/**
 * `--redis` or `--nats`, else `REDIS_URL` or `NATS_URL` (an empty one counts as unset). Two of
 * one kind (both flags, or both variables with no flag) is a usage error: which cluster to join
 * must not depend on an order nobody sees. A flag wins over the variables.
 */
function readCluster(values: Flags, env: Readonly<Record<string, string | undefined>>): ClusterArg | null {
  if (values.redis !== undefined && values.nats !== undefined) throw new UsageError(`--redis and --nats exclude each other: a node joins one cluster\n${USAGE}`);
  const redisEnv = env.REDIS_URL === "" ? undefined : env.REDIS_URL;
  const natsEnv = env.NATS_URL === "" ? undefined : env.NATS_URL;
  if (values.redis === undefined && values.nats === undefined && redisEnv !== undefined && natsEnv !== undefined) {
    throw new UsageError(`REDIS_URL and NATS_URL are both set: say which with --redis or --nats (or unset one)\n${USAGE}`);
  }
  const redis = values.redis ?? (values.nats === undefined ? redisEnv : undefined);
  const nats = values.nats ?? (values.redis === undefined ? natsEnv : undefined);
  if (redis !== undefined) return { engine: "redis", url: engineUrl(redis, "--redis (or REDIS_URL)", ["redis:", "rediss:"]) };
  if (nats !== undefined) return { engine: "nats", url: engineUrl(nats, "--nats (or NATS_URL)", ["nats:", "tls:"]) };
  return null;
}

function engineUrl(text: string, what: string, schemes: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new UsageError(`${what} must be a URL such as ${schemes[0]}//127.0.0.1:${schemes[0] === "redis:" ? 6379 : 4222}; got ${JSON.stringify(text)}\n${USAGE}`, { cause: error });
  }
  if (!schemes.includes(url.protocol) || url.hostname === "") throw new UsageError(`${what} must be a ${schemes.map((s) => `${s}//`).join(" or ")} URL with a host; got ${JSON.stringify(text)}\n${USAGE}`);
  return text;
}

interface Flags {
  port?: string;
  host?: string;
  interval?: string;
  redis?: string;
  nats?: string;
  "node-id"?: string;
  prefix?: string;
}

function readFlags(argv: readonly string[]): Flags {
  try {
    const { values } = parseFlags({
      args: [...argv],
      options: { port: { type: "string" }, host: { type: "string" }, interval: { type: "string" }, redis: { type: "string" }, nats: { type: "string" }, "node-id": { type: "string" }, prefix: { type: "string" } },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (error) {
    throw new UsageError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`, { cause: error });
  }
}

function wholeNumber(text: string, what: string, min: number, max: number, unit: string): number {
  const value = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(`${what} must be ${unit}, a whole number from ${min} to ${max}; got ${JSON.stringify(text)}\n${USAGE}`);
  }
  return value;
}
