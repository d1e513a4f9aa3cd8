// The static file server of `npm start` (apps/shared/static-files.ts), over real HTTP on
// 127.0.0.1: content types, ETag and 304, HEAD and 405, the security headers, the limits, and
// every way out of the folder an attacker would try, sent as raw request targets over TCP
// (fetch and node:http would normalise `..` before it left the client).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ifNoneMatchHits } from "../../src/server/etag.js";
import { pagePolicy } from "../../apps/shared/page-policy.js";
import { fileSegments } from "../../apps/shared/safe-path.js";
import { StaticFiles } from "../../apps/shared/static-files.js";
import { createServer, type ServerHandle } from "../../src/server/index.js";
import { rawExchange, send } from "../server/raw-clients.js";

const SECRET = "TOP-SECRET";
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

interface Fixture {
  dir: string;
  root: string;
  files: StaticFiles;
  handle: ServerHandle;
}

/** A public folder with one file of each type, a dotfile, a big file and symlinks in and out, beside secrets outside it. */
async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), "wirechan-static-"));
  const root = join(dir, "public");
  await mkdir(join(root, "sub"), { recursive: true });
  await mkdir(join(dir, "outside"));
  await writeFile(join(dir, "secret.txt"), `${SECRET} beside the folder`);
  await writeFile(join(dir, "outside", "secret.txt"), `${SECRET} in a folder beside`);
  const files: Record<string, string | Uint8Array> = {
    "index.html": "<!doctype html><title>index</title>",
    "chat.html": "<!doctype html><title>chat</title>",
    "style.css": "body { color: black }",
    "app.js": "export const x = 1;",
    "data.json": '{"a":1}',
    "pic.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>',
    "pic.png": PNG,
    "favicon.ico": Uint8Array.from([0, 0, 1, 0]),
    "notes.txt": "plain text",
    "blob.bin": "bytes",
    ".secret": `${SECRET} dotfile`,
    "big.txt": "x".repeat(2048),
    "sub/page.html": "<!doctype html><title>sub</title>",
  };
  for (const [name, body] of Object.entries(files)) await writeFile(join(root, name), body);
  await mkdir(join(root, ".git"));
  await writeFile(join(root, ".git", "config"), `${SECRET} git`);
  await symlink(join(dir, "secret.txt"), join(root, "link-out.txt"));
  await symlink(join(dir, "outside"), join(root, "link-dir"));
  await symlink(join(root, "notes.txt"), join(root, "link-in.txt"));
  const staticFiles = await StaticFiles.create({
    root,
    pages: { "/": "index.html", "/chat": "chat.html" },
    assets: { "/wirechan/client.js": "export{a as connect};", "/built.css": "p{}" },
    maxFileSize: 1024,
  });
  const server = createServer();
  for (const path of staticFiles.paths) server.route(path, staticFiles.serve);
  server.route("*", staticFiles.serve);
  const handle = await server.listen({ port: 0, host: "127.0.0.1" });
  return { dir, root, files: staticFiles, handle };
}

/** One raw request on its own connection: the target goes on the wire byte for byte. */
async function rawGet(port: number, target: string, method = "GET"): Promise<{ status: number; text: string }> {
  const answer = await rawExchange(port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  return { status, text: answer };
}

describe("static files over HTTP", () => {
  let fx: Fixture;
  before(async () => {
    fx = await makeFixture();
  });
  after(async () => {
    await fx.handle.close();
    await rm(fx.dir, { recursive: true, force: true });
  });

  it("answers each file with its content type, nosniff and no-cache", async () => {
    const expected: Array<[string, string]> = [
      ["/index.html", "text/html; charset=utf-8"],
      ["/style.css", "text/css; charset=utf-8"],
      ["/app.js", "text/javascript; charset=utf-8"],
      ["/data.json", "application/json"],
      ["/pic.svg", "image/svg+xml"],
      ["/pic.png", "image/png"],
      ["/favicon.ico", "image/x-icon"],
      ["/notes.txt", "text/plain; charset=utf-8"],
      ["/blob.bin", "application/octet-stream"],
      ["/sub/page.html", "text/html; charset=utf-8"],
      ["/wirechan/client.js", "text/javascript; charset=utf-8"],
      ["/built.css", "text/css; charset=utf-8"],
    ];
    for (const [path, type] of expected) {
      const res = await fetch(fx.handle.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), type, path);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
      assert.equal(res.headers.get("cache-control"), "no-cache", path);
      await res.arrayBuffer();
    }
    const png = new Uint8Array(await (await fetch(`${fx.handle.url}/pic.png`)).arrayBuffer());
    assert.deepEqual(png, PNG, "binary files arrive byte for byte");
  });

  it("serves the pages under their short paths, and a symlink that stays inside", async () => {
    assert.match(await (await fetch(`${fx.handle.url}/`)).text(), /<title>index<\/title>/);
    assert.match(await (await fetch(`${fx.handle.url}/chat`)).text(), /<title>chat<\/title>/);
    assert.match(await (await fetch(`${fx.handle.url}/chat?room=1`)).text(), /<title>chat<\/title>/, "a query does not change the file");
    assert.equal(await (await fetch(`${fx.handle.url}/link-in.txt`)).text(), "plain text");
  });

  it("puts the Content-Security-Policy on pages and SVG, naming the WebSocket origins of the Host", async () => {
    const host = `127.0.0.1:${fx.handle.port}`;
    for (const path of ["/", "/pic.svg"]) {
      const csp = (await fetch(fx.handle.url + path)).headers.get("content-security-policy") ?? "";
      assert.match(csp, /script-src 'self'/, path);
      assert.ok(csp.includes(`connect-src 'self' ws://${host} wss://${host}`), csp);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    }
    assert.equal((await fetch(`${fx.handle.url}/style.css`)).headers.get("content-security-policy"), null);
  });

  it("answers 304 to a matching If-None-Match: the tag, a list, *, a weak tag", async () => {
    const first = await fetch(`${fx.handle.url}/style.css`);
    const etag = first.headers.get("etag") ?? "";
    assert.match(etag, /^"[A-Za-z0-9_-]{22}"$/, "a strong tag from the content hash");
    await first.text();
    for (const header of [etag, `"nope", ${etag}`, "*", `W/${etag}`, `W/"x",W/${etag}`]) {
      const res = await send(fx.handle.port, { path: "/style.css", headers: { "if-none-match": header } });
      assert.equal(res.status, 304, header);
      assert.equal(res.text, "", "a 304 has no body");
      assert.equal(res.headers.etag, etag);
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
    for (const header of ['"other"', "garbage", etag.slice(1, -1)]) {
      const res = await send(fx.handle.port, { path: "/style.css", headers: { "if-none-match": header } });
      assert.equal(res.status, 200, `${header}: no match, the whole file`);
    }
    const asset = await fetch(`${fx.handle.url}/wirechan/client.js`);
    await asset.text();
    const again = await send(fx.handle.port, { path: "/wirechan/client.js", headers: { "if-none-match": asset.headers.get("etag") ?? "" } });
    assert.equal(again.status, 304, "in-memory assets revalidate too");
  });

  it("serves a file changed on disk with its new content and a new tag", async () => {
    await writeFile(join(fx.root, "changing.txt"), "one");
    const first = await fetch(`${fx.handle.url}/changing.txt`);
    assert.equal(await first.text(), "one");
    await writeFile(join(fx.root, "changing.txt"), "two, longer");
    const second = await fetch(`${fx.handle.url}/changing.txt`);
    assert.equal(await second.text(), "two, longer");
    assert.notEqual(second.headers.get("etag"), first.headers.get("etag"));
  });

  it("answers HEAD without a body and other methods with 405", async () => {
    const head = await send(fx.handle.port, { method: "HEAD", path: "/style.css" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String("body { color: black }".length));
    assert.equal(head.text, "");
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const res = await send(fx.handle.port, { method, path: "/style.css", body: method === "POST" || method === "PUT" || method === "PATCH" ? "x" : undefined });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, "GET, HEAD");
      assert.equal(res.headers["x-content-type-options"], "nosniff");
    }
    assert.equal((await send(fx.handle.port, { method: "POST", path: "/nothing.txt", body: "x" })).status, 404, "a path that names nothing: 404 whatever the method");
    assert.equal((await rawGet(fx.handle.port, "/../secret.txt", "POST")).status, 404);
  });

  it("does not serve a file over the size limit, nor a folder", async () => {
    for (const path of ["/big.txt", "/sub", "/sub/", "/link-dir"]) {
      const res = await fetch(fx.handle.url + path);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      await res.text();
    }
  });

  it("answers 404 to every way out of the folder, sent raw", async () => {
    const attempts = [
      "/../secret.txt",
      "/../../../../etc/passwd",
      "/sub/../../secret.txt",
      "/..%2fsecret.txt",
      "/..%2f..%2f..%2fetc%2fpasswd",
      "/..%2F..",
      "/%2e%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/%2E%2E/%2E%2E/etc/passwd",
      "/.%2e/secret.txt",
      "/%252e%252e%252fsecret.txt",
      "/%252e%252e/secret.txt",
      "/%25252e%25252e%25252fsecret.txt",
      "/..\\secret.txt",
      "/sub\\..\\..\\secret.txt",
      "/%5c..%5csecret.txt",
      "/..%5csecret.txt",
      "/notes.txt%00.html",
      "/notes.txt%00",
      "/%00",
      "//etc/passwd",
      "/%2fetc%2fpasswd",
      "/%2Fetc/passwd",
      "/C:/Windows/win.ini",
      "/C:%5cWindows%5cwin.ini",
      "http://127.0.0.1/../secret.txt",
      "/link-out.txt",
      "/link-dir/secret.txt",
      "/.secret",
      "/%2esecret",
      "/.git/config",
      "/sub/.hidden",
      "/./notes.txt",
      "/sub/./page.html",
      "/%c0%ae%c0%ae/secret.txt",
      "/%uff0e%uff0e/secret.txt",
      "/%e0%80%ae%e0%80%ae/secret.txt",
      "/%",
    ];
    for (const target of attempts) {
      const { status, text } = await rawGet(fx.handle.port, target);
      assert.equal(status, 404, `${target}: ${text.slice(0, 80)}`);
      assert.ok(!text.includes(SECRET), target);
    }
  });

  it("never serves a path with a raw NUL, control or non-ASCII byte (the HTTP parser refuses it first)", async () => {
    for (const target of ["/notes.txt\0.html", "/\0../secret.txt", "/\uff0e\uff0e/secret.txt", "/notes.txt\x7f"]) {
      const { status, text } = await rawGet(fx.handle.port, target);
      assert.ok(status === 400 || status === 404, `${JSON.stringify(target)}: ${status}`);
      assert.ok(!text.includes(SECRET));
    }
  });

  it("answers a WebSocket upgrade to a file with 404", async () => {
    const answer = await rawExchange(
      fx.handle.port,
      `GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 404 /);
  });
});

describe("the cache stays within its bounds", () => {
  it("keeps at most maxCacheEntries files and maxCacheBytes bytes, and still serves the rest", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "wirechan-cache-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (let i = 0; i < 10; i++) await writeFile(join(dir, `f${i}.txt`), "y".repeat(100 + i));
    await writeFile(join(dir, "large.txt"), "z".repeat(600));
    const files = await StaticFiles.create({ root: dir, maxCacheEntries: 3, maxCacheBytes: 500, maxFileSize: 1000 });
    for (let i = 0; i < 10; i++) {
      assert.equal((await files.folder.read([`f${i}.txt`]))?.bytes.length, 100 + i);
      assert.ok(files.folder.cached.entries <= 3);
      assert.ok(files.folder.cached.bytes <= 500);
    }
    assert.equal((await files.folder.read(["large.txt"]))?.bytes.length, 600, "bigger than the cache: served, not kept");
    assert.ok(files.folder.cached.bytes <= 500);
  });

  it("reads a file once for many requests at the same time, and not again while it is unchanged", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "wirechan-flight-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, "page.html"), "p".repeat(900));
    const files = await StaticFiles.create({ root: dir });
    const served = await Promise.all(Array.from({ length: 50 }, () => files.folder.read(["page.html"])));
    assert.ok(served.every((file) => file?.bytes.length === 900));
    assert.equal(files.folder.cached.diskReads, 1);
    await files.folder.read(["page.html"]);
    assert.equal(files.folder.cached.diskReads, 1, "served from the cache");
  });

  it("refuses limits that are not positive integers and paths no request could reach", async () => {
    await assert.rejects(StaticFiles.create({ root: tmpdir(), maxFileSize: 0 }), TypeError);
    await assert.rejects(StaticFiles.create({ root: tmpdir(), maxCacheEntries: Number.NaN }), TypeError);
    await assert.rejects(StaticFiles.create({ root: tmpdir(), pages: { "/a": "../x.html" } }), TypeError);
    await assert.rejects(StaticFiles.create({ root: tmpdir(), assets: { "/.env": "x" } }), TypeError);
    await assert.rejects(StaticFiles.create({ root: tmpdir(), assets: { "a.js": "x" } }), TypeError);
    await assert.rejects(StaticFiles.create({ root: join(tmpdir(), "no-such-folder-wirechan") }), /ENOENT/);
  });
});

describe("the pure parts", () => {
  it("fileSegments keeps plain names and refuses everything else", () => {
    assert.deepEqual(fileSegments("/"), []);
    assert.deepEqual(fileSegments("/a/b-c_d.1.css?x=../y#z"), ["a", "b-c_d.1.css"]);
    assert.deepEqual(fileSegments("/%61pp.js"), ["app.js"], "an encoded plain letter is fine");
    for (const bad of ["", "a.js", "/..", "/a/", "//a", "/.a", "/a%2fb", "/a%00", "/%252e", "/a b", "/é.html", "/x".repeat(9)]) {
      assert.equal(fileSegments(bad), null, bad);
    }
    assert.equal(fileSegments(`/${"a".repeat(129)}`), null, "a segment too long");
  });

  it("ifNoneMatchHits compares tags weakly, and a malformed header matches nothing", () => {
    const tag = '"abc"';
    assert.ok(ifNoneMatchHits('"abc"', tag));
    assert.ok(ifNoneMatchHits('W/"abc"', tag));
    assert.ok(ifNoneMatchHits(' "x" , W/"abc" ', tag));
    assert.ok(ifNoneMatchHits(" * ", tag));
    assert.ok(ifNoneMatchHits('"a,b", "abc"', tag), "a comma inside a tag does not split it");
    assert.ok(!ifNoneMatchHits(undefined, tag));
    assert.ok(!ifNoneMatchHits("abc", tag));
    assert.ok(!ifNoneMatchHits('"abcd"', tag));
    assert.ok(!ifNoneMatchHits("", tag));
  });

  it("pagePolicy names ws/wss only for a plain Host", () => {
    assert.match(pagePolicy("example.com:3000"), /connect-src 'self' ws:\/\/example\.com:3000 wss:\/\/example\.com:3000;/);
    assert.match(pagePolicy("[::1]:3000"), /ws:\/\/\[::1\]:3000/);
    for (const host of [undefined, "", "a b", "evil.com; script-src *", "x\r\ny", "a/b"]) {
      assert.match(pagePolicy(host), /connect-src 'self';/, String(host));
    }
  });
});
