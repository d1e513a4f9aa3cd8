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
import { build, type BuildOptions, transform } from "esbuild";
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
  return bundleText({ stdin: { contents: source, resolveDir: REPO, loader: "ts", sourcefile: "app.ts" }, minify: true });
}

async function bundleText(options: BuildOptions): Promise<string> {
  const result = await build({ ...options, bundle: true, format: "esm", platform: "browser", target: "es2022", write: false, logLevel: "silent" });
  const [file] = result.outputFiles ?? [];
  if (file === undefined) throw new Error("esbuild produced no output");
  return file.text;
}

/** A bundle's part without its whitespace; the export list that ends the served file does not parse alone (its names are declared elsewhere), so it is squeezed by hand. */
async function minifyPart(part: string): Promise<string> {
  try {
    return (await transform(part, { loader: "js", format: "esm", minifyWhitespace: true, logLevel: "silent" })).code;
  } catch {
    return part.replace(/^\/\/.*$/gm, "").replace(/\s+/g, "");
  }
}

/** One source file's share of a bundle. */
export interface ModuleWeight {
  /** Its path in the repository (`<stdin>` for the app itself). */
  path: string;
  /** Its minified bytes in the bundle. */
  raw: number;
  /**
   * What the bundle's gzip size would lose without it, everything else kept: what a cut of the
   * whole file would save against the budget. Shared text (a name used across files) counts for
   * none of them, so these add up to a little less than the whole.
   */
  gzip: number;
}

/**
 * Each source file's share of the served client (`"served"`) or the minimal app, heaviest first:
 * esbuild's module comments mark where each file's code starts in a bundle minified but for its
 * whitespace; each part is then minified on its own (names were already shortened across the
 * bundle) and left out in turn.
 */
export async function moduleWeights(bundle: "served" | "minimal"): Promise<ModuleWeight[]> {
  const entry: BuildOptions =
    bundle === "served" ? { entryPoints: [fileURLToPath(new URL("../src/browser.ts", import.meta.url))] } : { stdin: { contents: MINIMAL_APP, resolveDir: REPO, loader: "ts" } };
  const text = await bundleText({ ...entry, minifySyntax: true, minifyIdentifiers: true });
  const parts = text.split(/^(?=\/\/ (?:src\/|<stdin>))/m).filter((part) => part.startsWith("// "));
  const minified = await Promise.all(parts.map(minifyPart));
  const whole = gzipSync(minified.join("")).length;
  const weights = parts.map((part, i) => ({
    path: part.slice(3, part.indexOf("\n")),
    raw: Buffer.byteLength(minified[i] ?? "", "utf8"),
    gzip: whole - gzipSync(minified.filter((_, j) => j !== i).join("")).length,
  }));
  return weights.sort((a, b) => b.gzip - a.gzip);
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
