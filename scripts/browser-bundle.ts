/**
 * Builds the browser client with esbuild, in memory: `npm start` serves the result as
 * `/wirechan/client.js` and `npm run size` weighs it. Takes a few tens of milliseconds.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ENTRY = fileURLToPath(new URL("../src/browser.ts", import.meta.url));

/** The minified ESM text of `/wirechan/client.js`. */
export async function buildBrowserClient(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const [file] = result.outputFiles;
  if (file === undefined) throw new Error("esbuild produced no output for the browser client");
  return file.text;
}
