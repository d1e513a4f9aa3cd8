/**
 * Weighs the browser bundles, for `npm run size` (scripts/size.ts) and the budget test
 * (test/browser-bundle/size.test.ts): the served `/wirechan/client.js`, a minimal app
 * (`chan` and `connect`, as a page's bundler would build it), and socket.io-client built the
 * same way, for comparison. Every bundle is esbuild's minified ESM for the browser platform,
 * built in memory; its weight is its UTF-8 length, raw and gzipped (zlib's default level, what
 * a server's compression uses). A KB here is 1,000 bytes.
 */
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { buildBrowserClient } from "./browser-bundle.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The budgets of issue 10, min+gzip, in bytes. */
export const sizeBudgets = {
  /** `/wirechan/client.js`: the whole channel library and the client. */
  servedClient: 16_000,
  /** An app that imports `chan` and `connect` and uses both. */
  minimalApp: 11_000,
} as const;

/** A bundle's weight, in bytes. */
export interface BundleWeight {
  name: string;
  raw: number;
  gzip: number;
}

/** The three weights `npm run size` prints. `budget` is absent for socket.io-client, which is only compared. */
export interface SizeReport {
  servedClient: BundleWeight & { budget: number };
  minimalApp: BundleWeight & { budget: number };
  socketIoClient: BundleWeight;
}

/** `text`'s weight: UTF-8 bytes, raw and gzipped. */
export function weigh(name: string, text: string): BundleWeight {
  const bytes = Buffer.from(text, "utf8");
  return { name, raw: bytes.length, gzip: gzipSync(bytes).length };
}

/** A minimal page script: a channel of its own, put on a server channel over a session. */
const MINIMAL_APP = `
import { chan, connect } from "./src/browser.ts";
const inbox = chan();
const session = await connect(location.origin);
await session.serverChan("chat").put({ join: inbox });
console.log(await inbox.take());
`;

/** socket.io-client's smallest use, bundled with the same options. */
const SOCKET_IO_APP = `
import { io } from "socket.io-client";
const socket = io(location.origin);
socket.on("message", (m) => console.log(m));
`;

/** Minified ESM for the browser of a module given as text, resolved from the repository. */
export async function bundleApp(source: string): Promise<string> {
  const result = await build({
    stdin: { contents: source, resolveDir: REPO, loader: "ts", sourcefile: "app.ts" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error("esbuild produced no output");
  return file.text;
}

/** Builds the three bundles and weighs them. */
export async function measureSizes(): Promise<SizeReport> {
  const [served, minimal, socketIo] = await Promise.all([buildBrowserClient(), bundleApp(MINIMAL_APP), bundleApp(SOCKET_IO_APP)]);
  return {
    servedClient: { ...weigh("/wirechan/client.js (served)", served), budget: sizeBudgets.servedClient },
    minimalApp: { ...weigh("minimal app (chan + connect)", minimal), budget: sizeBudgets.minimalApp },
    socketIoClient: weigh("socket.io-client (io)", socketIo),
  };
}

/** Bytes as KB (1,000 bytes), one decimal. */
export function kb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}
