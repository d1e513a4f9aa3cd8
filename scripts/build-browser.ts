/**
 * `npm run build`'s last step: writes the browser client (scripts/browser-bundle.ts) to
 * dist/browser/client.js, which every wirechan server serves at `path/client.js` (the
 * `serveClient` option) and the package exports as `wirechan/browser`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { buildBrowserClient } from "./browser-bundle.js";

const OUT = new URL("../dist/browser/client.js", import.meta.url);

await mkdir(new URL(".", OUT), { recursive: true });
await writeFile(OUT, await buildBrowserClient());
console.log(`wrote ${fileURLToPath(OUT)}`);
