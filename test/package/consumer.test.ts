// The package as another project sees it: `import { chan } from "wirechan"` resolved through
// package.json `exports` to the built dist/, in JavaScript and in TypeScript (.d.ts files).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let project = "";

const consumerJs = `
import { chan, xf } from "wirechan";
import { runServer } from "wirechan/server";
const server = await runServer(() => ({ body: "pong" }));
const pong = await (await fetch(server.url)).text();
const served = await fetch(server.url + "/wirechan/client.js");
const servedClient = served.status + " " + served.headers.get("content-type") + " " + (await served.text()).length;
await server.close();
const browser = await import("wirechan/browser");
const browserBuild = typeof browser.connect + " " + typeof browser.chan;
const { redisBackplane, redisBackplaneDefaults } = await import("wirechan/redis");
const { natsBackplane, natsBackplaneDefaults } = await import("wirechan/nats");
const engines = [typeof redisBackplane, redisBackplaneDefaults.url, typeof natsBackplane, natsBackplaneDefaults.servers].join(" ");
const ch = chan(2, xf.map((n) => n * 10));
await ch.put(1);
await ch.put(2);
ch.close();
const got = [];
for await (const v of ch) got.push(v);
console.log(JSON.stringify({ got, seq: xf.sequence(xf.take(2), [7, 8, 9]), pong, servedClient, browserBuild, engines }));
`;

const consumerTs = `
import { chan, type Channel, xf } from "wirechan";
import { type Connection, withChannel, type Handler } from "wirechan/server";
const echo: Handler = (req) => withChannel(req, (conn: Connection) => conn.onReceive((m) => conn.send(m)));
void echo;
const ch: Channel<string, number> = chan<string, number>(1, xf.map((n: number) => String(n)));
const taken: Promise<string | undefined> = ch.take();
void taken;
// @ts-expect-error -- a Channel<string, number> refuses a string put
void ch.put("not a number");
import type { Backplane } from "wirechan/backplane";
import { redisBackplane } from "wirechan/redis";
import { natsBackplane } from "wirechan/nats";
const engines: [() => Backplane, () => Promise<Backplane>] = [() => redisBackplane({ url: "redis://127.0.0.1:6379" }), () => natsBackplane({ servers: "nats://127.0.0.1:4222" })];
void engines;
`;

/** The README's TypeScript examples, each checked as a module of the consumer project. */
async function readmeExamples(): Promise<string[]> {
  const readme = await readFile(join(root, "README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => `${match[1] ?? ""}\nexport {};\n`);
}

describe("the built package, imported by name from another project", () => {
  let examples: string[] = [];

  before(async () => {
    assert.ok(
      existsSync(join(root, "dist/index.js")) && existsSync(join(root, "dist/index.d.ts")),
      "dist/ is missing: run `npm run build` first (npm test does)",
    );
    project = await mkdtemp(join(tmpdir(), "wirechan-consumer-"));
    await mkdir(join(project, "node_modules"));
    await symlink(root, join(project, "node_modules/wirechan"), "dir");
    // wirechan/server's types name node:http, so a consumer has @types/node, as a Node app does.
    await symlink(join(root, "node_modules/@types"), join(project, "node_modules/@types"), "dir");
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
    await writeFile(join(project, "consumer.mjs"), consumerJs);
    await writeFile(join(project, "consumer.ts"), consumerTs);
    examples = await readmeExamples();
    await Promise.all(examples.map((text, i) => writeFile(join(project, `readme-${i}.ts`), text)));
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, types: ["node"] },
        files: ["consumer.ts", ...examples.map((_, i) => `readme-${i}.ts`)],
      }),
    );
  });

  after(async () => {
    if (project !== "") await rm(project, { recursive: true, force: true });
  });

  it("runs `import { chan, xf } from \"wirechan\"` and wirechan/server in plain Node; the server serves the built browser client, also exported as wirechan/browser; wirechan/redis and wirechan/nats load", async () => {
    const { stdout } = await run(process.execPath, ["consumer.mjs"], { cwd: project });
    const result = JSON.parse(stdout) as { servedClient: string };
    const size = Number(/ (\d+)$/.exec(result.servedClient)?.[1]);
    assert.ok(size > 10_000, `the served browser client is only ${size} bytes`);
    assert.deepEqual(result, {
      got: [10, 20],
      seq: [7, 8],
      pong: "pong",
      servedClient: `200 text/javascript; charset=utf-8 ${size}`,
      browserBuild: "function function",
      engines: "function redis://127.0.0.1:6379 function nats://127.0.0.1:4222",
    });
  });

  it("type-checks against the published .d.ts files, and so do the README's TypeScript examples", async () => {
    assert.ok(examples.length >= 2, `expected the README's server and Node client examples, found ${examples.length} TypeScript blocks`);
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    await run(process.execPath, [tsc, "-p", project], { cwd: project }).catch((error: { stdout?: string }) => {
      assert.fail(`tsc rejected the consumer:\n${error.stdout ?? String(error)}`);
    });
  });
});
