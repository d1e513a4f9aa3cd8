// The browser client, served by every wirechan server at `path` + `/client.js` (the
// `serveClient` option), as Socket.IO serves its own: a page with no bundler writes
// `import { chan, connect } from "/wirechan/client.js"` and gets the build of the very version
// the server runs. `npm run build` writes that build to dist/browser/client.js
// (scripts/build-browser.ts); running from the sources, there is none, and the answer says so.
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { etagOf, ifNoneMatchHits } from "./etag.js";
import type { ServerRequest } from "./request.js";
import type { Handler } from "./types.js";
import type { ResponseParts } from "./connection.js";

/** Where `npm run build` puts the browser client, beside this module's folder in dist/. */
export const CLIENT_SCRIPT = new URL("../browser/client.js", import.meta.url);

/** One representation of the file: as is, or gzipped. */
interface Representation {
  body: Uint8Array;
  etag: string;
}

/** The file, read once, in both representations: made once, sent to every browser. */
interface Loaded {
  identity: Representation;
  gzip: Representation;
}

function represent(body: Uint8Array): Loaded {
  const gzipped = gzipSync(body);
  // A strong ETag names one representation: the gzipped bytes get a tag of their own.
  return { identity: { body, etag: etagOf(body) }, gzip: { body: gzipped, etag: etagOf(gzipped) } };
}

/** Whether `Accept-Encoding` takes gzip (listed, and not with q=0). */
function acceptsGzip(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(",") : (header ?? "");
  return text.split(",").some((part) => {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "x-gzip") return false;
    const q = params.map((param) => param.trim()).find((param) => param.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * A handler serving the file at `file` as JavaScript, read (and gzipped) once on the first
 * request: GET and HEAD, gzip when the browser accepts it (about a third of the size), a strong
 * ETag per representation with 304 on a matching `If-None-Match`, `Cache-Control: no-cache`
 * (the name carries no version, so a browser revalidates). A missing file is a 404 that says
 * how to build it; another method a 405.
 */
export function clientScriptHandler(file: URL = CLIENT_SCRIPT): Handler {
  let loading: Promise<Loaded | null> | null = null;
  const load = (): Promise<Loaded | null> => {
    loading ??= readFile(file).then(represent, () => null);
    return loading;
  };
  return async function serveClientScript(req: ServerRequest): Promise<ResponseParts> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return { status: 405, headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }, body: "GET or HEAD only\n" };
    }
    const loaded = await load();
    if (loaded === null) {
      return {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
        body: "the browser client is not built here: `npm run build` writes dist/browser/client.js (serveClient option)\n",
      };
    }
    const gzip = acceptsGzip(req.headers["accept-encoding"]);
    const chosen = gzip ? loaded.gzip : loaded.identity;
    const headers: Record<string, string> = {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
      vary: "Accept-Encoding",
      etag: chosen.etag,
      "x-content-type-options": "nosniff",
    };
    if (gzip) headers["content-encoding"] = "gzip";
    const ifNoneMatch = req.headers["if-none-match"];
    if (ifNoneMatchHits(typeof ifNoneMatch === "string" ? ifNoneMatch : undefined, chosen.etag)) return { status: 304, headers };
    // For a HEAD, node:http sends the headers (Content-Length included) and leaves the body out.
    return { status: 200, headers, body: chosen.body };
  };
}
