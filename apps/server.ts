/**
 * `npm start`: the apps and the wirechan protocol on one port (docs/apps.md). One wirechan
 * server carries the chat and the dashboard (their named channels and `/happiness`), the
 * browser client at `/wirechan/client.js`, the page scripts built in memory at start
 * (page-bundles.ts), and the pages and styles of `apps/public/` (static-files.ts): `/`, `/chat`
 * and `/dashboard` name index.html, chat.html and dashboard.html.
 *
 * Usage: `npm start -- [--port P] [--host H] [--interval MS] [--redis URL | --nats URL]
 * [--node-id ID]` (`PORT`, `REDIS_URL`, `NATS_URL` when the flags are not given; defaults in
 * app-args.ts). With `--redis` or `--nats` the server is one node of a cluster sharing the chat
 * and the dashboard through that engine (docs/apps.md "Running more than one server"); without,
 * it is alone and needs no service. Prints `listening on http://HOST:PORT` once it accepts
 * connections; SIGINT or SIGTERM closes it gracefully (a second one stops it at once).
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Backplane } from "../src/backplane/index.js";
import { consoleLogger, createServer, type ServerOptions, type WirechanServer } from "../src/server/index.js";
import { mountChat } from "./chat/chat-app.js";
import { mountDashboard } from "./dashboard/dashboard-app.js";
import { appArgsDefaults, parseArgs, UsageError } from "./shared/app-args.js";
import { openBackplane } from "./shared/cluster-backplane.js";
import { buildAppAssets, pageEntries } from "./shared/page-bundles.js";
import { withPrivateTopics } from "./shared/private-topics.js";
import { StaticFiles, type StaticFilesOptions } from "./shared/static-files.js";

const APPS = dirname(fileURLToPath(import.meta.url));

/** The pages, by the path a browser asks for: files of the public folder. */
const PAGES: Readonly<Record<string, string>> = { "/": "index.html", "/chat": "chat.html", "/dashboard": "dashboard.html" };

/** The defaults of {@link startApps}: the command line's (app-args.ts), and where the pages are. */
export const appsDefaults = {
  port: appArgsDefaults.port,
  host: appArgsDefaults.host,
  interval: appArgsDefaults.interval,
  /** The folder of the pages, styles and icons. */
  publicDir: resolve(APPS, "public"),
  /** The page scripts, by the name served (`chat` → `/chat.js`). */
  pageEntries,
} as const;

/** An app on the shared server: it has mounted its channels and routes, and stops with `close`. */
export interface MountedApp {
  close(): void;
}

/** What every app is mounted with. */
export interface MountSettings {
  /** The dashboard's reading period, ms. */
  interval: number;
}

export interface AppsOptions {
  /** Default 3000; 0 takes any free port (the result says which). */
  port?: number;
  /** Default `"127.0.0.1"`. */
  host?: string;
  /** The dashboard's reading period in ms; default 1000. */
  interval?: number;
  /** Default {@link appsDefaults}.publicDir. */
  publicDir?: string;
  /** Default {@link appsDefaults}.pageEntries. */
  pageEntries?: Readonly<Record<string, string>>;
  /** Mounts the apps on the server; default {@link mountApps}. A test passes its own. */
  mount?: (server: WirechanServer, settings: MountSettings) => MountedApp[];
  /** The wirechan server's options (session TTL, limits, allowed hosts …); its `backplane` is the option below. */
  server?: Omit<ServerOptions, "backplane">;
  /**
   * This server's node of a cluster (docs/apps.md "Running more than one server"), or none (the
   * default): alone. The apps own it from here: `close()` closes it after the server, and so
   * does a failed start. Its subscriptions are in effect (`ready()`) before the server listens.
   */
  backplane?: Backplane | null;
  /** Limits of the static files (size, cache); defaults in static-files.ts. */
  files?: Pick<StaticFilesOptions, "maxFileSize" | "maxCacheEntries" | "maxCacheBytes">;
}

/** The running apps. */
export interface RunningApps {
  readonly url: string;
  readonly port: number;
  /** Stops listening, ends every session and connection, then stops the apps. */
  close(): Promise<void>;
}

/**
 * The chat and the dashboard, each on its named channel. This is where an app plugs in: it
 * gets the server and returns how to stop it. If one throws (a bad option, a name taken), the
 * ones mounted before it are stopped and the error goes on.
 */
export function mountApps(server: WirechanServer, settings: MountSettings): MountedApp[] {
  const mounted: MountedApp[] = [];
  try {
    mounted.push(mountChat(server));
    mounted.push(mountDashboard(server, { interval: settings.interval }));
    return mounted;
  } catch (error) {
    for (const app of mounted) app.close();
    throw error;
  }
}

/**
 * Builds the client and the page scripts, opens the public folder, mounts the apps and
 * listens. Rejects, with nothing left running, if a build fails (a `PageBuildError` naming
 * the file and line), the folder is missing, or the port is taken.
 */
export async function startApps(options: AppsOptions = {}): Promise<RunningApps> {
  const assets = await buildAppAssets(options.pageEntries ?? appsDefaults.pageEntries);
  const files = await StaticFiles.create({ ...options.files, root: options.publicDir ?? appsDefaults.publicDir, pages: PAGES, assets });
  const backplane = options.backplane ?? null;
  let server: WirechanServer;
  try {
    server = createServer({ ...options.server, backplane, authorize: withPrivateTopics(options.server?.authorize) });
  } catch (error) {
    await backplane?.close();
    throw error;
  }
  let apps: MountedApp[] = [];
  try {
    apps = (options.mount ?? mountApps)(server, { interval: options.interval ?? appsDefaults.interval });
    for (const path of files.paths) server.route(path, files.serve);
    server.route("*", files.serve);
    // The apps' topics exist now: once the engine has their subscriptions, nothing another node
    // publishes from here on is missed.
    await backplane?.ready();
    const handle = await server.listen({ port: options.port ?? appsDefaults.port, host: options.host ?? appsDefaults.host });
    return { url: handle.url, port: handle.port, close: () => closeAll(server, apps, backplane) };
  } catch (error) {
    await closeAll(server, apps, backplane);
    throw error;
  }
}

/** The server first, so no request reaches an app that has stopped; the backplane last, after the server left it. */
async function closeAll(server: WirechanServer, apps: readonly MountedApp[], backplane: Backplane | null): Promise<void> {
  try {
    await server.close();
  } finally {
    for (const app of apps) app.close();
    await backplane?.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  const backplane = args.cluster === null ? null : await openBackplane(args.cluster, args.nodeId, consoleLogger, args.prefix);
  if (args.cluster !== null && backplane !== null) console.log(`node ${backplane.nodeId} of the cluster on ${args.cluster.engine} at ${new URL(args.cluster.url).host}: waiting for it to be ready`);
  const apps = await startApps({ port: args.port, host: args.host, interval: args.interval, backplane });
  console.log(`listening on ${apps.url}`);
  closeOnSignals(apps);
}

function closeOnSignals(apps: RunningApps): void {
  const stop = (): void => {
    // From the first signal on, no listener: a second one ends the process at once (Node's default).
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    apps.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("closing failed:", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function reportStartFailure(error: unknown): void {
  console.error(error instanceof Error ? error.message : error);
  process.exit(error instanceof UsageError ? 2 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) main().catch(reportStartFailure);
