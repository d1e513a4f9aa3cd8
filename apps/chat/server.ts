/**
 * The seed's chat over the network (`npm start`): the named server channel `"chat"` runs the
 * chat loop of chat-server.ts. A client puts `{ add: ch }` with a channel of its own and gets
 * every line so far, then `[line]` for each new one; `{ msg: text }` says something. Values
 * arrive through the censor (seed 001), and anything that is not a chat request is ignored.
 *
 * Usage: `npm start` (`--port P` or `PORT`, default 3000; `--host H`, default 127.0.0.1).
 * Prints `listening on http://127.0.0.1:PORT` once it accepts connections.
 */
import { pathToFileURL } from "node:url";
import { chan, pipe, xf } from "../../src/index.js";
import { createServer, type ServerHandle, type ServerOptions } from "../../src/server/index.js";
import { censor } from "./censor.js";
import { type ChatRequest, type ChatServerOptions, isChatRequest, runChatServer } from "./chat-server.js";

export interface ChatAppOptions extends ChatServerOptions {
  port?: number;
  host?: string;
  /** Options of the wirechan server (session TTL, heartbeat …). */
  server?: ServerOptions;
}

/** Starts the chat server; resolves once it listens. */
export async function startChatApp(options: ChatAppOptions = {}): Promise<ServerHandle> {
  const server = createServer(options.server);
  const incoming = server.channel<unknown>("chat", 64);
  const requests = chan<ChatRequest, unknown>(64, xf.comp(xf.filter(isChatRequest), censor));
  pipe(incoming, requests);
  void runChatServer(requests, options);
  return server.listen({ port: options.port ?? 3000, host: options.host ?? "127.0.0.1" });
}

/** `--port P` / `PORT` / 3000, and `--host H` / 127.0.0.1. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): { port: number; host: string } {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at === -1 ? undefined : argv[at + 1];
  };
  const portText = flag("port") ?? env.PORT ?? "3000";
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port (or PORT) must be a port number from 0 to 65535, got ${JSON.stringify(portText)}`);
  return { port, host: flag("host") ?? "127.0.0.1" };
}

async function main(): Promise<void> {
  const { port, host } = parseArgs(process.argv.slice(2), process.env);
  const handle = await startChatApp({ port, host });
  console.log(`listening on ${handle.url}`);
  const stop = (): void => {
    void handle.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
