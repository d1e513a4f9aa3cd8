// The browser client, served by every wirechan server at `path` + `/client.js` (the
// `serveClient` option), as Socket.IO serves its own: a page with no bundler writes
// `import { chan, connect } from "/wirechan/client.js"` and gets the build of the very version
// the server runs. `npm run build` writes that build to dist/browser/client.js
// (scripts/build-browser.ts); running from the sources, there is none, and the answer says so.
import { readFile } from "node:fs/promises";
import { etagOf, ifNoneMatchHits } from "./etag.js";
import type { ServerRequest } from "./request.js";
import type { Handler } from "./types.js";
import type { ResponseParts } from "./connection.js";

/** Where `npm run build` puts the browser client, beside this module's folder in dist/. */
export const CLIENT_SCRIPT = new URL("../browser/client.js", import.meta.url);

interface Loaded {
  body: Uint8Array;
  etag: string;
}

/**
 * A handler serving the file at `file` as JavaScript, read once on the first request: GET and
 * HEAD, a strong ETag with 304 on a matching `If-None-Match`, `Cache-Control: no-cache` (the
 * name carries no version, so a browser revalidates). A missing file is a 404 that says how to
 * build it; another method a 405.
 */
export function clientScriptHandler(file: URL = CLIENT_SCRIPT): Handler {
  let loading: Promise<Loaded | null> | null = null;
  const load = (): Promise<Loaded | null> => {
    loading ??= readFile(file).then(
      (body) => ({ body, etag: etagOf(body) }),
      () => null,
    );
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
    const headers = {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
      etag: loaded.etag,
      "x-content-type-options": "nosniff",
    };
    const ifNoneMatch = req.headers["if-none-match"];
    if (ifNoneMatchHits(typeof ifNoneMatch === "string" ? ifNoneMatch : undefined, loaded.etag)) return { status: 304, headers };
    // For a HEAD, node:http sends the headers (Content-Length included) and leaves the body out.
    return { status: 200, headers, body: loaded.body };
  };
}
