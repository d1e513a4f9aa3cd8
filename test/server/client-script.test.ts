// The browser client served at `path/client.js` (the serveClient option): a real server on
// 127.0.0.1, real HTTP. The file comes from the build (dist/browser/client.js); here the
// handler is also given a file of the test's own, so the answers are checked from the sources.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { clientScriptHandler } from "../../src/server/client-script.js";
import { createServer, type ServerHandle } from "../../src/server/index.js";

const SCRIPT = 'export function connect() {}\nexport const note = "é";\n';

describe("the browser client at path/client.js", () => {
  let folder = "";
  let handle: ServerHandle;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "wirechan-client-script-"));
    await writeFile(join(folder, "client.js"), SCRIPT);
    const server = createServer()
      .route("/given/client.js", clientScriptHandler(pathToFileURL(join(folder, "client.js"))))
      .route("/missing/client.js", clientScriptHandler(pathToFileURL(join(folder, "nothing.js"))));
    handle = await server.listen();
  });

  after(async () => {
    await handle.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("serves the file as JavaScript with a strong ETag, and 304 when the browser has it", async () => {
    const first = await fetch(`${handle.url}/given/client.js`);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(first.headers.get("cache-control"), "no-cache");
    assert.equal(first.headers.get("x-content-type-options"), "nosniff");
    assert.equal(await first.text(), SCRIPT);
    const etag = first.headers.get("etag") ?? "";
    assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
    const again = await fetch(`${handle.url}/given/client.js`, { headers: { "if-none-match": `"other", W/${etag}` } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");
  });

  it("answers HEAD with the length and no body, and another method with 405", async () => {
    const head = await fetch(`${handle.url}/given/client.js`, { method: "HEAD", headers: { "accept-encoding": "identity" } });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get("content-length")), Buffer.byteLength(SCRIPT));
    const post = await fetch(`${handle.url}/given/client.js`, { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  it("sends it gzipped to a browser that takes gzip, with a tag of its own, and as is to one that does not", async () => {
    const zipped = await fetch(`${handle.url}/given/client.js`, { headers: { "accept-encoding": "br, gzip" } });
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    assert.equal(zipped.headers.get("vary"), "Accept-Encoding");
    assert.equal(await zipped.text(), SCRIPT, "fetch unzips it");
    const plain = await fetch(`${handle.url}/given/client.js`, { headers: { "accept-encoding": "gzip;q=0, identity" } });
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(await plain.text(), SCRIPT);
    const zippedTag = zipped.headers.get("etag") ?? "";
    assert.notEqual(zippedTag, plain.headers.get("etag"), "one strong tag per representation");
    const again = await fetch(`${handle.url}/given/client.js`, { headers: { "accept-encoding": "gzip", "if-none-match": zippedTag } });
    assert.equal(again.status, 304);
  });

  it("says how to build it when there is no file", async () => {
    const missing = await fetch(`${handle.url}/missing/client.js`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /npm run build/);
  });

  it("is at path/client.js by default, follows the path option, and is gone with serveClient: false", async () => {
    const servers = [createServer(), createServer({ path: "/rt" }), createServer({ serveClient: false })];
    const handles = await Promise.all(servers.map((server) => server.listen()));
    try {
      const [byDefault, moved, off] = await Promise.all([
        fetch(`${handles[0]?.url}/wirechan/client.js`),
        fetch(`${handles[1]?.url}/rt/client.js`),
        fetch(`${handles[2]?.url}/wirechan/client.js`),
      ]);
      // From the sources there is no build: the answer is the handler's, saying so.
      assert.match(await byDefault.text(), /dist\/browser\/client\.js/);
      assert.match(await moved.text(), /dist\/browser\/client\.js/);
      assert.equal(off.status, 404);
      assert.doesNotMatch(await off.text(), /dist\/browser\/client\.js/);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });

  it("refuses a serveClient that is not a boolean, naming the option", () => {
    assert.throws(() => createServer({ serveClient: "yes" as unknown as boolean }), { name: "TypeError", code: "ERR_SERVER_OPTION", message: /serveClient must be true or false/ });
  });
});
