// `npm start` (apps/server.ts) over real HTTP on 127.0.0.1 port 0: the pages, the browser
// client and the page scripts built at start, the protocol and the mounted apps on the same
// port, a clean close, failures at start, and the command line (parsed, and run as a process).
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type MountedApp, type MountSettings, type RunningApps, startApps } from "../../apps/server.js";
import { type AppArgs, appArgsDefaults, parseArgs, UsageError } from "../../apps/shared/app-args.js";
import { PageBuildError } from "../../apps/shared/page-bundles.js";
import { connect } from "../../src/client/index.js";
import { type Channel, chan } from "../../src/index.js";
import type { WirechanServer } from "../../src/server/index.js";
import { runRepoFile } from "../helpers/repo-process.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** A public folder with the three pages and two page scripts that import the client by URL. */
async function makeFixture(): Promise<{ dir: string; publicDir: string; pageEntries: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), "wirechan-apps-"));
  const publicDir = join(dir, "public");
  await writeFile(join(dir, "chat.ts"), 'import { connect } from "/wirechan/client.js";\nexport const page: string = String(connect);\n');
  await writeFile(join(dir, "dashboard.ts"), 'import { chan } from "/wirechan/client.js";\nconsole.log(chan(1));\n');
  await mkdir(publicDir);
  for (const page of ["index", "chat", "dashboard"]) {
    await writeFile(join(publicDir, `${page}.html`), `<!doctype html><title>fixture ${page}</title>`);
  }
  await writeFile(join(publicDir, "style.css"), "body{}");
  return { dir, publicDir, pageEntries: { chat: join(dir, "chat.ts"), dashboard: join(dir, "dashboard.ts") } };
}

/** A stand-in for the chat and the dashboard: one named channel, and a record of its mounting and closing. */
class RecordingApp implements MountedApp {
  settings: MountSettings | null = null;
  closed = 0;
  inbox: Channel<unknown> | null = null;

  readonly mount = (server: WirechanServer, settings: MountSettings): MountedApp[] => {
    this.settings = settings;
    this.inbox = server.channel<unknown>("fixture", 4);
    return [this];
  };

  close(): void {
    this.closed++;
  }
}

async function isFree(port: number): Promise<boolean> {
  const probe = createNetServer();
  try {
    probe.listen(port, "127.0.0.1");
    await once(probe, "listening");
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

describe("startApps with a fixture folder", () => {
  let fixture: Awaited<ReturnType<typeof makeFixture>>;
  let app: RecordingApp;
  let apps: RunningApps;
  before(async () => {
    fixture = await makeFixture();
    app = new RecordingApp();
    apps = await startApps({ port: 0, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries, mount: app.mount, interval: 250 });
  });
  after(async () => {
    await apps.close();
    await rm(fixture.dir, { recursive: true, force: true });
  });

  it("answers /, /chat and /dashboard with their HTML pages", async () => {
    for (const [path, page] of [["/", "index"], ["/chat", "chat"], ["/dashboard", "dashboard"]]) {
      const res = await fetch(apps.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
      assert.equal(await res.text(), `<!doctype html><title>fixture ${page}</title>`);
    }
    assert.equal((await fetch(`${apps.url}/style.css`)).status, 200);
    assert.equal((await fetch(`${apps.url}/nothing.html`)).status, 404);
  });

  it("serves the browser client as JavaScript that exports connect and chan", async () => {
    const res = await fetch(`${apps.url}/wirechan/client.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.match(res.headers.get("etag") ?? "", /^"/);
    const text = await res.text();
    const exported = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(text)?.[1] ?? "";
    const names = exported.split(",").map((item) => item.trim().split(/\s+as\s+/).pop());
    assert.ok(names.includes("connect"), `exports: ${exported.slice(0, 200)}`);
    assert.ok(names.includes("chan"));
    assert.ok(!/from\s*"(node:|ws")/.test(text), "nothing of Node in the browser client");
  });

  it("serves the page scripts built at start, the client left external, and uPlot's stylesheet", async () => {
    for (const path of ["/chat.js", "/dashboard.js"]) {
      const res = await fetch(apps.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.match(await res.text(), /from\s*"\/wirechan\/client\.js"/, "imported by URL, not bundled");
    }
    const css = await fetch(`${apps.url}/uplot.css`);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.match(await css.text(), /\.uplot/);
  });

  it("mounts the apps with the interval, and the protocol runs on the same port", async () => {
    assert.deepEqual(app.settings, { interval: 250 });
    const session = await connect(apps.url, { transports: ["websocket"] });
    try {
      await session.serverChan<string>("fixture").put("hello");
      assert.equal(await app.inbox?.take(), "hello");
    } finally {
      session.close();
    }
  });
});

describe("startApps starts cleanly or not at all", () => {
  it("close() stops the apps and releases the port", async (t) => {
    const fixture = await makeFixture();
    t.after(() => rm(fixture.dir, { recursive: true, force: true }));
    const app = new RecordingApp();
    const apps = await startApps({ port: 0, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries, mount: app.mount });
    assert.equal((await fetch(`${apps.url}/`)).status, 200);
    await apps.close();
    assert.equal(app.closed, 1);
    assert.ok(await isFree(apps.port), "the port is free again");
  });

  it("rejects with a PageBuildError naming the file and line when a page script does not build", async (t) => {
    const fixture = await makeFixture();
    t.after(() => rm(fixture.dir, { recursive: true, force: true }));
    await writeFile(fixture.pageEntries.chat ?? "", "const = ;\n");
    const app = new RecordingApp();
    await assert.rejects(startApps({ port: 0, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries, mount: app.mount }), (error: unknown) => {
      assert.ok(error instanceof PageBuildError);
      assert.match(error.message, /building the page scripts failed/);
      assert.match(error.message, /chat\.ts:1/);
      return true;
    });
    assert.equal(app.settings, null, "nothing was mounted");
  });

  it("rejects when the public folder is missing, and when the port is taken (the apps mounted are closed)", async (t) => {
    const fixture = await makeFixture();
    t.after(() => rm(fixture.dir, { recursive: true, force: true }));
    await assert.rejects(startApps({ port: 0, publicDir: join(fixture.dir, "missing"), pageEntries: fixture.pageEntries }), /ENOENT/);
    const taken = createNetServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    t.after(() => taken.close());
    const address = taken.address();
    assert.ok(address !== null && typeof address === "object");
    const app = new RecordingApp();
    await assert.rejects(startApps({ port: address.port, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries, mount: app.mount }), /EADDRINUSE/);
    assert.equal(app.closed, 1);
  });
});

describe("startApps when an app cannot mount", () => {
  it("rejects with the app's error and listens on nothing", async (t) => {
    const fixture = await makeFixture();
    t.after(() => rm(fixture.dir, { recursive: true, force: true }));
    const refusing = (): MountedApp[] => {
      throw new RangeError("the chat's history limit must be positive");
    };
    await assert.rejects(startApps({ port: 0, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries, mount: refusing }), /history limit/);
  });
});

describe("startApps with the real pages", () => {
  it("serves apps/public and builds apps/chat/page.ts and apps/dashboard/page.ts", async (t) => {
    const pages = ["apps/public/index.html", "apps/public/chat.html", "apps/public/dashboard.html", "apps/chat/page.ts", "apps/dashboard/page.ts"];
    const present = await Promise.all(
      pages.map((file) =>
        access(join(REPO, file)).then(
          () => true,
          () => false,
        ),
      ),
    );
    // Missing pages fail the test: `npm start` would serve nothing.
    assert.deepEqual(pages.filter((_, i) => !present[i]), [], "the apps' pages are in the checkout");
    const apps = await startApps({ port: 0 });
    t.after(() => apps.close());
    for (const path of ["/", "/chat", "/dashboard"]) {
      const res = await fetch(apps.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8", path);
      assert.match(await res.text(), /<!doctype html>/i);
    }
    for (const path of ["/chat.js", "/dashboard.js", "/style.css", "/uplot.css", "/wirechan/client.js"]) {
      const res = await fetch(apps.url + path);
      assert.equal(res.status, 200, path);
      await res.text();
    }
  });

  it("mounts the chat and the dashboard (with the interval), and /happiness answers", async (t) => {
    const fixture = await makeFixture();
    t.after(() => rm(fixture.dir, { recursive: true, force: true }));
    const apps = await startApps({ port: 0, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries, interval: 20 });
    t.after(() => apps.close());
    const session = await connect(apps.url, { transports: ["websocket"] });
    t.after(() => session.close());
    const chatInbox = chan<unknown>(8);
    await session.serverChan<unknown>("chat").put({ join: chatInbox });
    assert.deepEqual(await chatInbox.take(), { history: [], done: true }, "a page that joins the chat gets the history");
    const dashboardInbox = chan<Record<string, unknown>>(64);
    await session.serverChan<unknown>("dashboard").put({ watch: dashboardInbox });
    let event = await dashboardInbox.take();
    while (event !== undefined && !("reading" in event)) event = await dashboardInbox.take();
    assert.ok(event !== undefined && "reading" in event, "a watching page gets readings");
    const plain = await fetch(`${apps.url}/happiness`);
    assert.equal(plain.status, 200);
    assert.equal(typeof (JSON.parse(await plain.text()) as { happiness: unknown }).happiness, "number", "the plain endpoint: a long-poll answered with the next reading");
  });

  it("refuses a client's subscription to the apps' own topics (ERR_FORBIDDEN): pages use \"chat\" and \"dashboard\"", async (t) => {
    const fixture = await makeFixture();
    t.after(() => rm(fixture.dir, { recursive: true, force: true }));
    const apps = await startApps({ port: 0, publicDir: fixture.publicDir, pageEntries: fixture.pageEntries });
    t.after(() => apps.close());
    const session = await connect(apps.url, { transports: ["websocket"] });
    t.after(() => session.close());
    for (const topic of ["apps.chat.lines", "apps.chat.here", "apps.dashboard.readings", "apps.dashboard.viewers", "apps.dashboard.producers"]) {
      const inbox = chan<{ dropped?: { code?: string } }>(8);
      await session.serverChan<unknown>(topic).put({ subscribe: inbox });
      assert.equal((await inbox.take())?.dropped?.code, "ERR_FORBIDDEN", topic);
    }
  });
});

describe("parseArgs", () => {
  const defaults: AppArgs = { ...appArgsDefaults };
  const table: Array<[string, string[], Record<string, string>, AppArgs]> = [
    ["nothing: the defaults", [], {}, defaults],
    ["--port", ["--port", "8080"], {}, { ...defaults, port: 8080 }],
    ["--port=", ["--port=8081"], {}, { ...defaults, port: 8081 }],
    ["PORT", [], { PORT: "4000" }, { ...defaults, port: 4000 }],
    ["--port wins over PORT", ["--port", "5000"], { PORT: "4000" }, { ...defaults, port: 5000 }],
    ["an empty PORT is unset", [], { PORT: "" }, defaults],
    ["port 0: any free port", ["--port", "0"], {}, { ...defaults, port: 0 }],
    ["the highest port", ["--port", "65535"], {}, { ...defaults, port: 65_535 }],
    ["--host", ["--host", "0.0.0.0"], {}, { ...defaults, host: "0.0.0.0" }],
    ["--interval", ["--interval", "250"], {}, { ...defaults, interval: 250 }],
    ["all three", ["--interval", "10", "--host", "::1", "--port", "1"], {}, { ...defaults, port: 1, host: "::1", interval: 10 }],
    ["--redis", ["--redis", "redis://127.0.0.1:6379"], {}, { ...defaults, cluster: { engine: "redis", url: "redis://127.0.0.1:6379" } }],
    ["--nats=", ["--nats=nats://127.0.0.1:4222"], {}, { ...defaults, cluster: { engine: "nats", url: "nats://127.0.0.1:4222" } }],
    ["REDIS_URL", [], { REDIS_URL: "redis://10.0.0.1:6380/2" }, { ...defaults, cluster: { engine: "redis", url: "redis://10.0.0.1:6380/2" } }],
    ["NATS_URL", [], { NATS_URL: "nats://127.0.0.1:4222" }, { ...defaults, cluster: { engine: "nats", url: "nats://127.0.0.1:4222" } }],
    ["an empty REDIS_URL is unset", [], { REDIS_URL: "" }, defaults],
    ["--nats wins over REDIS_URL", ["--nats", "nats://h:1"], { REDIS_URL: "redis://h:2" }, { ...defaults, cluster: { engine: "nats", url: "nats://h:1" } }],
    ["--redis wins over both variables", ["--redis", "rediss://h:1"], { REDIS_URL: "redis://h:2", NATS_URL: "nats://h:3" }, { ...defaults, cluster: { engine: "redis", url: "rediss://h:1" } }],
    ["--node-id", ["--node-id", "node-1.example:3001"], {}, { ...defaults, nodeId: "node-1.example:3001" }],
    ["--prefix", ["--prefix", "staging."], {}, { ...defaults, prefix: "staging." }],
  ];
  for (const [name, argv, env, expected] of table) {
    it(`reads ${name}`, () => assert.deepEqual(parseArgs(argv, env), expected));
  }

  const refused: Array<[string[], Record<string, string>, RegExp]> = [
    [["--port", "70000"], {}, /--port \(or PORT\) must be a port number, a whole number from 0 to 65535; got "70000"/],
    [["--port", "-1"], {}, /--port/],
    [["--port", "abc"], {}, /got "abc"/],
    [["--port", "3e3"], {}, /got "3e3"/],
    [["--port", "0x50"], {}, /got "0x50"/],
    [["--port", " 80"], {}, /got " 80"/],
    [["--port", "80.5"], {}, /got "80.5"/],
    [["--port", ""], {}, /got ""/],
    [[], { PORT: "http" }, /PORT.*got "http"/],
    [["--port"], {}, /argument missing/],
    [["--port", "--host", "x"], {}, /ambiguous/],
    [["--interval", "0"], {}, /--interval must be milliseconds, a whole number from 10 to 3600000; got "0"/],
    [["--interval", "5"], {}, /--interval/],
    [["--interval", "fast"], {}, /--interval/],
    [["--interval", "99999999999"], {}, /--interval/],
    [["--host", ""], {}, /--host/],
    [["--host", "a b"], {}, /--host/],
    [["--verbose"], {}, /Unknown option '--verbose'/],
    [["3000"], {}, /Unexpected argument '3000'/],
    [["--redis", "redis://h:1", "--nats", "nats://h:2"], {}, /--redis and --nats exclude each other/],
    [[], { REDIS_URL: "redis://h:1", NATS_URL: "nats://h:2" }, /REDIS_URL and NATS_URL are both set/],
    [["--redis", "nats://h:1"], {}, /--redis \(or REDIS_URL\) must be a redis:\/\/ or rediss:\/\/ URL/],
    [["--nats", "127.0.0.1:4222"], {}, /--nats \(or NATS_URL\) must be a URL such as nats:\/\/127\.0\.0\.1:4222; got "127\.0\.0\.1:4222"/],
    [["--nats", "http://127.0.0.1:4222"], {}, /--nats \(or NATS_URL\) must be a nats:\/\/ or tls:\/\/ URL/],
    [[], { REDIS_URL: "not a url" }, /--redis \(or REDIS_URL\) must be a URL/],
    [["--redis"], {}, /argument missing/],
    [["--node-id", "a b"], {}, /--node-id must be/],
    [["--node-id", "x".repeat(65)], {}, /--node-id must be/],
    [["--prefix", "a b"], {}, /--prefix must be/],
    [["--prefix", "*"], {}, /--prefix must be/],
  ];
  for (const [argv, env, message] of refused) {
    it(`refuses ${JSON.stringify(argv)} ${JSON.stringify(env)} with a usage message`, () => {
      assert.throws(
        () => parseArgs(argv, env),
        (error: unknown) => error instanceof UsageError && message.test(error.message) && error.message.includes("usage: npm start"),
      );
    });
  }
});

describe("apps/server.ts as a process", () => {
  it("prints where it listens, serves, and exits 0 on SIGTERM", { timeout: 60_000 }, async (t) => {
    const { child, output } = runRepoFile("apps/server.ts", ["--port", "0"]);
    t.after(() => child.kill("SIGKILL"));
    const exited = once(child, "exit");
    const url = await listeningUrl(child, output);
    assert.equal((await fetch(`${url}/wirechan/client.js`)).status, 200);
    child.kill("SIGTERM");
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, output.stderr);
  });

  it("exits 2 with the reason and the usage on a bad value", { timeout: 60_000 }, async () => {
    const { child, output } = runRepoFile("apps/server.ts", ["--interval", "soon"]);
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 2);
    assert.match(output.stderr, /--interval must be milliseconds/);
    assert.match(output.stderr, /usage: npm start/);
    assert.equal(output.stdout, "");
  });
});

/** The URL the process prints once it listens; rejects if it exits first. */
function listeningUrl(child: ChildProcess, output: { stdout: string; stderr: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output.stdout)?.[1];
      if (url !== undefined) resolve(url);
    };
    child.stdout?.on("data", check);
    child.on("exit", (code) => reject(new Error(`exited with ${code} before listening; stderr: ${output.stderr}`)));
    check();
  });
}
