/**
 * Runs one of the examples in this folder:
 *
 *   npm run example -- NAME [--port P] [example flags]
 *   npm run example -- echo --port 9090
 *   npm run example -- streaming --port 0 --every 50 --close-after 2000
 *
 * `--port` defaults to `PORT` (as `npm start` reads it), else 8080; `--port 0` picks a free port. Once the server accepts connections
 * this prints `listening on http://127.0.0.1:P` (the real port). SIGINT (Ctrl-C) or SIGTERM
 * closes the server gracefully and exits 0; a second signal exits at once with 1. An unknown
 * NAME or flag prints the list of examples and exits 2.
 */
import process from "node:process";

/** What every example's `start` receives: the port, plus its own flags (camelCased, in ms). */
export interface ExampleOptions {
  /** 0 picks a free port. */
  port: number;
}

/** What every example's `start` resolves to once it listens. */
export interface Running {
  /** `http://127.0.0.1:P`. */
  readonly url: string;
  /** Stops the server (and the example's timers); resolves once every connection has closed. */
  close(): Promise<void>;
}

type Start = (opts: ExampleOptions & Record<string, number>) => Promise<Running>;

interface Example {
  summary: string;
  /** The flags it takes besides `--port`, each a duration in ms: `--close-after` → `closeAfter`. */
  flags: Readonly<Record<string, string>>;
  load(): Promise<Start>;
}

const examples: Readonly<Record<string, Example>> = {
  echo: {
    summary: "WebSocket echo at / (withChannel + onReceive → send)",
    flags: {},
    load: async () => (await import("./echo.js")).start,
  },
  streaming: {
    summary: "GET / streams 10 chunks on one response, then closes (http-kit's streaming example)",
    flags: { every: "the gap between messages (200)", "close-after": "when the server closes the response (10000)" },
    load: async () => (await import("./streaming.js")).start,
  },
  polling: {
    summary: "GET / is a long-poll answered at the next event with JSON (http-kit's long-polling example)",
    flags: { every: "the gap between events (1000)" },
    load: async () => (await import("./polling.js")).start,
  },
  happiness: {
    summary: "/happiness pushes {\"happiness\": x} to WebSocket clients; a plain GET long-polls (the live dashboard article)",
    flags: { interval: "the gap between readings (5000)" },
    load: async () => (await import("./happiness.js")).start,
  },
  "channel-store": {
    summary: "groups of WebSocket and long-poll members; POST /publish?group=G broadcasts (http-kit's ChannelStore)",
    flags: {},
    load: async () => (await import("./channel-store.js")).start,
  },
  "sse-feed": {
    summary: "GET /events is a server-sent-event feed of a mult; POST /events adds to it (JUXT's chat feed)",
    flags: {},
    load: async () => (await import("./sse-feed.js")).start,
  },
};

const MAX_MS = 2 ** 31 - 1;

function usage(): string {
  const lines = ["usage: npm run example -- NAME [--port P] [flags]", "", "examples:"];
  for (const [name, example] of Object.entries(examples)) {
    lines.push(`  ${name.padEnd(14)} ${example.summary}`);
    for (const [flag, help] of Object.entries(example.flags)) lines.push(`  ${"".padEnd(14)}   --${flag} MS: ${help}`);
  }
  lines.push("", "--port P: the port to listen on, on 127.0.0.1 (default PORT, else 8080; 0 picks a free one)");
  return lines.join("\n");
}

function fail(message: string): never {
  console.error(`${message}\n\n${usage()}`);
  process.exit(2);
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Reads `NAME --flag value --flag=value …`; every value is a non-negative integer. */
function parse(argv: readonly string[]): { name: string; example: Example; options: ExampleOptions & Record<string, number> } {
  const names: string[] = [];
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") {
      console.log(usage());
      process.exit(0);
    }
    if (!arg.startsWith("--")) {
      names.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) fail(`--${flag} needs a value`);
    values.set(flag, value);
  }
  if (names.length !== 1) fail(names.length === 0 ? "which example?" : `one example at a time, got ${names.join(", ")}`);
  const name = names[0] ?? "";
  const example = Object.hasOwn(examples, name) ? examples[name] : undefined;
  if (example === undefined) fail(`unknown example ${JSON.stringify(name)}`);
  const options: ExampleOptions & Record<string, number> = { port: 8080 };
  const envPort = process.env.PORT;
  if (envPort !== undefined && envPort !== "" && !values.has("port")) values.set("port", envPort);
  for (const [flag, value] of values) {
    if (flag !== "port" && !Object.hasOwn(example.flags, flag)) fail(`${name} takes no --${flag}`);
    const max = flag === "port" ? 65_535 : MAX_MS;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(n <= max)) fail(`--${flag}${flag === "port" ? " (or PORT)" : ""} must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
    options[camel(flag)] = n;
  }
  return { name, example, options };
}

async function main(): Promise<void> {
  const { example, options } = parse(process.argv.slice(2));
  const start = await example.load();
  const running = await start(options);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`${signal}: closing`);
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("close failed:", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  console.log(`listening on ${running.url}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
