// End-to-end: each example runs as its own process (`examples/run.ts NAME --port 0`), exactly
// as `npm run example` starts it, and is driven with real clients over 127.0.0.1: the ws
// client, fetch and eventsource's EventSource. Every child is killed in `after`, even when a
// test fails.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { within as withinLimit } from "../helpers/async.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const names = ["echo", "streaming", "polling", "happiness", "channel-store", "sse-feed"];
const LISTEN_TIMEOUT_MS = 15_000;
const EXIT_TIMEOUT_MS = 10_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Example {
  name: string;
  child: ChildProcessWithoutNullStreams;
  /** `http://127.0.0.1:P`, from the `listening on` line. */
  url: string;
  exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
}

const children = new Set<ChildProcessWithoutNullStreams>();
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Rejects with `what` if `promise` has not settled after `ms`. */
/** This file's argument order, on the shared helper. */
function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  return withinLimit(promise, what, ms);
}

/** Spawns `examples/run.ts` with `args`; collects its output and how it exits. */
function spawnRunner(args: readonly string[]): Omit<Example, "url" | "name"> {
  const child = spawn(process.execPath, ["--import", "tsx", "examples/run.ts", ...args], { cwd: root, stdio: "pipe" });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** Starts example `name` on a free port and waits (bounded) for its `listening on` line. */
async function startExample(name: string, ...flags: string[]): Promise<Example> {
  const run = spawnRunner([name, "--port", "0", ...flags]);
  const listening = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/m;
  const url = await within(
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const match = listening.exec(run.stdout());
        if (match === null) return;
        run.child.stdout.off("data", check);
        resolve(match[1] ?? "");
      };
      run.child.stdout.on("data", check);
      void run.exited.then(({ code, signal }) =>
        reject(new Error(`${name} exited (${code ?? signal}) before listening; stderr:\n${run.stderr()}`)),
      );
    }),
    LISTEN_TIMEOUT_MS,
    () => `${name}: no "listening on" line after ${LISTEN_TIMEOUT_MS} ms; stderr:\n${run.stderr()}\nstdout:\n${run.stdout()}`,
  );
  assert.doesNotMatch(url, /:0$/, "the real port is printed, not 0");
  return { ...run, name, url };
}

/** SIGTERM (or SIGINT, Ctrl-C), then the example must close its server and exit 0. */
async function stop(example: Example, signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<void> {
  example.child.kill(signal);
  const exit = await within(example.exited, EXIT_TIMEOUT_MS, () => `${example.name} did not exit after ${signal}; stderr:\n${example.stderr()}`);
  assert.deepEqual(exit, { code: 0, signal: null }, `${example.name} stderr:\n${example.stderr()}`);
}

/** Waits until `probe` returns something other than undefined, checking every few ms. */
async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function wsUrl(example: Example, path: string): string {
  return example.url.replace(/^http:/, "ws:") + path;
}

/** Opens a ws client, collecting its messages as text from the start. */
async function openWs(url: string, options?: WebSocket.ClientOptions): Promise<{ ws: WebSocket; got: string[] }> {
  const ws = new WebSocket(url, options);
  const got: string[] = [];
  ws.on("message", (data: WebSocket.RawData) => got.push(String(data)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} instead of a WebSocket`)));
  });
  return { ws, got };
}

async function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, "close");
  ws.close();
  await closed;
}

describe("examples, each its own process started by examples/run.ts", { timeout: 60_000 }, () => {
  it("an unknown NAME prints the list of examples and exits 2", async () => {
    const run = spawnRunner(["no-such-example", "--port", "0"]);
    const exit = await within(run.exited, LISTEN_TIMEOUT_MS, () => `the runner did not exit; stderr:\n${run.stderr()}`);
    assert.deepEqual(exit, { code: 2, signal: null });
    const printed = run.stdout() + run.stderr();
    assert.match(printed, /no-such-example/);
    for (const name of names) assert.match(printed, new RegExp(`^  ${name} `, "m"), `the list names ${name}`);
  });

  it("echo: a WebSocket client gets every message back in order; SIGTERM closes it with 1001", async () => {
    const example = await startExample("echo");
    const { ws, got } = await openWs(wsUrl(example, "/"));
    const sent = ["hello", "wörld", "", "x".repeat(10_000)];
    for (const message of sent) ws.send(message);
    await eventually(() => (got.length >= sent.length ? true : undefined), "the echoes");
    assert.deepEqual(got, sent);

    const plain = await fetch(example.url);
    assert.equal(plain.status, 426, "a plain GET is told to upgrade");
    await plain.text();

    // Shut down with the client still connected: it is told the server is going away.
    const closed = once(ws, "close") as Promise<[number, Buffer]>;
    await stop(example);
    const [code] = await closed;
    assert.equal(code, 1001);
  });

  it("streaming: one chunked response carries message #0 … #9 in order, then ends", async () => {
    const example = await startExample("streaming", "--every", "20", "--close-after", "400");
    const res = await fetch(example.url + "/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("transfer-encoding"), "chunked");
    assert.ok(res.body !== null);
    const decoder = new TextDecoder();
    let text = "";
    let chunks = 0;
    const reader = res.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      chunks++;
      text += decoder.decode(read.value, { stream: true });
    }
    text += decoder.decode();
    assert.ok(chunks >= 1);
    assert.equal(text, Array.from({ length: 10 }, (_, id) => `message from server #${id}`).join(""));
    const log = await eventually(() => /^closed by server, or client (.*)$/m.exec(example.stdout())?.[1], "the close log");
    assert.match(log, /by: 'server', code: 1000/);
    await stop(example);
  });

  it("polling: GET / is held until the next event, then answered with the JSON string", async () => {
    const example = await startExample("polling", "--every", "50");
    const answers = await Promise.all([fetch(example.url + "/"), fetch(example.url + "/")]);
    for (const res of answers) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
      assert.equal(await res.json(), "hello, polling");
    }
    await stop(example, "SIGINT");
  });

  it("happiness: WebSocket clients get a reading every tick; a GET long-polls for the same JSON; any origin", async () => {
    const example = await startExample("happiness", "--interval", "50");
    const origin = "http://dashboard.example";
    const { ws, got } = await openWs(wsUrl(example, "/happiness"), { origin });
    await eventually(() => (got.length >= 2 ? true : undefined), "two readings");
    for (const message of got) {
      const reading: unknown = JSON.parse(message);
      assert.deepEqual(Object.keys(reading as object), ["happiness"]);
      const { happiness } = reading as { happiness: unknown };
      assert.equal(typeof happiness, "number");
      assert.ok((happiness as number) >= 0 && (happiness as number) < 10, `0 <= ${String(happiness)} < 10`);
    }

    const poll = await fetch(example.url + "/happiness", { headers: { origin } });
    assert.equal(poll.status, 200);
    assert.equal(poll.headers.get("content-type"), "application/json; charset=utf-8");
    assert.ok(["*", origin].includes(poll.headers.get("access-control-allow-origin") ?? ""), "CORS is open to any origin");
    const body = await poll.text();
    // The poll was answered at a tick the WebSocket client saw too, with the very same reading.
    await eventually(() => (got.includes(body) ? true : undefined), `the polled reading ${body} among the pushed ones`);

    await closeWs(ws);
    await stop(example);
  });

  it("channel-store: WebSocket and long-poll members of one group each get the message with their own since_ts", async () => {
    const example = await startExample("channel-store");
    const group = "news";
    const connecting = Date.now();
    const { ws, got } = await openWs(wsUrl(example, `/ws?group=${group}`));
    const connected = Date.now();
    const given = await openWs(wsUrl(example, `/ws?group=${group}&since_ts=7`));
    const poll = fetch(`${example.url}/poll?group=${group}&since_ts=42`);
    const members = async (): Promise<number> => Number(await (await fetch(`${example.url}/members?group=${group}`)).text());
    // The poll's fetch only resolves once answered: ask the example when both have joined.
    await eventually(async () => ((await members()) === 3 ? true : undefined), "every member in the group");

    const publish = await fetch(`${example.url}/publish?group=${group}`, { method: "POST", body: "hello, group" });
    assert.equal(publish.status, 200);
    assert.equal(await publish.json(), 3, "every member got it");

    const answer = await poll;
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(await answer.json(), { message: "hello, group", since_ts: 42 });

    await eventually(() => (got.length >= 1 ? true : undefined), "the WebSocket member's message");
    const pushed = JSON.parse(got[0] ?? "") as { message: unknown; since_ts: unknown };
    assert.equal(pushed.message, "hello, group");
    assert.equal(typeof pushed.since_ts, "number", "a WebSocket member without since_ts is attached its join time");
    assert.ok((pushed.since_ts as number) >= connecting && (pushed.since_ts as number) <= connected, "joined while the test connected it");

    await eventually(() => given.got[0], "the message of the WebSocket member with a since_ts");
    assert.deepEqual(JSON.parse(given.got[0] ?? ""), { message: "hello, group", since_ts: 7 });

    // The answered poller has left; the WebSocket members stay.
    assert.equal(await members(), 2);
    await closeWs(given.ws);
    await eventually(async () => ((await members()) === 1 ? true : undefined), "the closed member to leave");
    const again = await fetch(`${example.url}/publish?group=${group}`, { method: "POST", body: "second" });
    assert.equal(await again.json(), 1);
    await eventually(() => (got.length >= 2 ? true : undefined), "the second message");
    assert.deepEqual(JSON.parse(got[1] ?? ""), { message: "second", since_ts: pushed.since_ts });

    await closeWs(ws);
    await stop(example);
  });

  it("sse-feed: an EventSource gets \"It works!\" first, then a POSTed message; CORS is open", async () => {
    const example = await startExample("sse-feed");
    const es = new EventSource(example.url + "/events");
    try {
      const events: MessageEvent[] = [];
      es.addEventListener("message", (event) => events.push(event));
      const first = await eventually(() => events[0], "the first event");
      assert.equal(JSON.parse(first.data as string), "It works!");
      assert.equal(first.lastEventId, "", "an initial value carries no id");

      const origin = "http://chat.example";
      const posted = await fetch(example.url + "/events", { method: "POST", body: "Test message!", headers: { origin } });
      assert.equal(posted.status, 202);
      assert.ok(["*", origin].includes(posted.headers.get("access-control-allow-origin") ?? ""), "CORS is open to any origin");
      await posted.text();

      const second = await eventually(() => events[1], "the posted message");
      assert.equal(JSON.parse(second.data as string), "Test message!");
      assert.match(second.lastEventId, /^[0-9a-f]+-1$/, "the first value of the feed: the feed's epoch and number 1");
    } finally {
      es.close();
    }
    await stop(example);
  });
});
