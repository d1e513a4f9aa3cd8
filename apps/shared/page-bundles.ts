/**
 * Builds what the apps' pages load besides the folder's files, in memory, when the server
 * starts: the browser client (`/wirechan/client.js`), each page's script bundled by esbuild
 * (`/chat.js`, `/dashboard.js`), and uPlot's stylesheet (`/uplot.css`). So `npm install &&
 * npm start` needs no build step; esbuild takes milliseconds.
 *
 * A page script imports the client by URL, `import { chan, connect } from
 * "/wirechan/client.js"`, as a page without a bundler would: it stays external, so both pages
 * share the one client file the browser caches, and the bundle holds only the page's own code
 * and its npm packages (uPlot).
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { buildBrowserClient } from "../../scripts/browser-bundle.js";

/** The URL every page imports the client from, served as the client itself. */
export const CLIENT_PATH = "/wirechan/client.js";

/** Where uPlot's stylesheet is served; the dashboard page links it. */
export const UPLOT_CSS_PATH = "/uplot.css";

const APPS = dirname(dirname(fileURLToPath(import.meta.url)));

/** The apps' page scripts, by the name they are served under (`chat` → `/chat.js`). */
export const pageEntries: Readonly<Record<string, string>> = {
  chat: resolve(APPS, "chat/page.ts"),
  dashboard: resolve(APPS, "dashboard/page.ts"),
};

/** A page script, or the whole set of assets, that could not be built: the server does not start. */
export class PageBuildError extends Error {
  override readonly name = "PageBuildError";
}

/**
 * Bundles each entry for the browser (ESM, minified, the client external) and returns the
 * outputs by URL path: `/name.js`, and `/name.css` when the script imports a stylesheet.
 * Rejects with a {@link PageBuildError} that carries esbuild's messages (file, line, what).
 */
export async function buildPageScripts(entries: Readonly<Record<string, string>>): Promise<Record<string, string>> {
  // esbuild needs an output folder to name its outputs; with write: false nothing goes there.
  const outdir = resolve(APPS, ".build");
  try {
    const result = await build({
      entryPoints: { ...entries },
      outdir,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      external: [CLIENT_PATH],
      write: false,
      logLevel: "silent",
    });
    const outputs: Record<string, string> = {};
    for (const file of result.outputFiles) outputs[`/${basename(file.path)}`] = file.text;
    return outputs;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new PageBuildError(`building the page scripts failed: ${detail}`, { cause: error });
  }
}

/** Everything {@link buildPageScripts} and the client make, plus uPlot's stylesheet, by URL path. */
export async function buildAppAssets(entries: Readonly<Record<string, string>> = pageEntries): Promise<Record<string, string>> {
  const [client, pages, uplotCss] = await Promise.all([buildClient(), buildPageScripts(entries), readUplotCss()]);
  return { ...pages, [CLIENT_PATH]: client, [UPLOT_CSS_PATH]: uplotCss };
}

async function buildClient(): Promise<string> {
  try {
    return await buildBrowserClient();
  } catch (error) {
    throw new PageBuildError(`building the browser client failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function readUplotCss(): Promise<string> {
  return readFile(createRequire(import.meta.url).resolve("uplot/dist/uPlot.min.css"), "utf8");
}
