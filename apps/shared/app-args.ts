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
} as const;

/**
 * The dashboard's period may not be shorter: every viewer gets every reading, so a period of
 * 1 ms would be a server flooding its own clients. An hour at most: a longer one shows nothing.
 */
export const INTERVAL_RANGE = { min: 10, max: 3_600_000 } as const;

export const USAGE = "usage: npm start -- [--port P] [--host H] [--interval MS]   (PORT sets the port when --port is not given)";

/** What `npm start` runs with. */
export interface AppArgs {
  port: number;
  host: string;
  interval: number;
}

/** A command line that cannot be run: the message says which value and why. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Reads `--port`, `--host` and `--interval` (as `--port 8080` or `--port=8080`) and `PORT`.
 * `--port` wins over `PORT`; an empty `PORT` counts as unset (as a shell's `PORT= npm start`
 * means). Throws a {@link UsageError} for an unknown flag, a flag without its value, a stray
 * argument, a port that is not a whole number from 0 to 65535 (`3e3`, `0x50`, ` 80` included),
 * or an interval outside {@link INTERVAL_RANGE}.
 */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): AppArgs {
  const values = readFlags(argv);
  const portText = values.port ?? (env.PORT === "" ? undefined : env.PORT);
  const port = portText === undefined ? appArgsDefaults.port : wholeNumber(portText, "--port (or PORT)", 0, 65_535, "a port number");
  const host = values.host ?? appArgsDefaults.host;
  if (host.trim() === "" || /\s/.test(host)) throw new UsageError(`--host must be a host name or address, got ${JSON.stringify(host)}\n${USAGE}`);
  const interval =
    values.interval === undefined ? appArgsDefaults.interval : wholeNumber(values.interval, "--interval", INTERVAL_RANGE.min, INTERVAL_RANGE.max, "milliseconds");
  return { port, host, interval };
}

function readFlags(argv: readonly string[]): { port?: string; host?: string; interval?: string } {
  try {
    const { values } = parseFlags({
      args: [...argv],
      options: { port: { type: "string" }, host: { type: "string" }, interval: { type: "string" } },
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
