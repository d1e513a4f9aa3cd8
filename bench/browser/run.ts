/**
 * The apps in Chromium (`npm run bench:browser`), written to bench/browser/README.md, with its
 * headline numbers in bench/browser/results.json for the summary (`npm run bench`):
 *
 * - the time from navigation to the first chat line shown, per transport (the page made to
 *   fall back by deleting `WebSocket`, then `EventSource` too, as the browser tests do), p50
 *   and p90 of `--loads` loads (default 20) into one browser, measured by the page's own clock
 *   (`performance.now()`, 0 at navigation start) when the first line enters the list;
 * - the dashboard's delivery latency (now − the reading's ts, as the page shows it) p50 and
 *   p99 over `--seconds` (default 60) at `--interval` ms (default 100);
 * - the browser bundles' sizes beside socket.io-client's (scripts/bundle-size.ts).
 *
 * Everything runs on 127.0.0.1 and stops by itself. The server runs in this process; the
 * browser is Debian's /usr/bin/chromium, as in test/browser/.
 */
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { startApps } from "../../apps/server.js";
import { connect } from "../../src/client/index.js";
import { kb, measureSizes } from "../../scripts/bundle-size.js";
import { launchUser, TRANSPORT_CASES } from "../../test/browser/chromium.js";
import { currentLoad, describeMachine } from "../shared/machine.js";
import { stampOf, writeSuiteResults } from "../shared/results.js";
import { percentile } from "../shared/children/percentile.mjs";
import { positiveIntFlag } from "../shared/options.js";
import { commitStamp } from "../shared/source.js";
import { browserHeadlines } from "./headlines.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface BenchOptions {
  loads: number;
  seconds: number;
  interval: number;
}

function parseOptions(argv: readonly string[]): BenchOptions {
  return { loads: positiveIntFlag(argv, "loads", 20), seconds: positiveIntFlag(argv, "seconds", 60), interval: positiveIntFlag(argv, "interval", 100) };
}

/** Records, on the page's clock, when the first line enters the chat's list. */
const RECORD_FIRST_LINE = `(() => {
  const observer = new MutationObserver(() => {
    if (document.querySelector("#lines li") !== null) {
      window.firstLineAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true });
})();`;

/** Collects every latency the dashboard shows, as numbers of ms. */
const RECORD_LATENCIES = `(() => {
  window.latencies = [];
  const watch = () => {
    const shown = document.getElementById("latency");
    new MutationObserver(() => {
      const ms = Number.parseFloat(shown.textContent);
      if (Number.isFinite(ms)) window.latencies.push(ms);
    }).observe(shown, { childList: true, characterData: true, subtree: true });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();`;

async function firstLineTimes(url: string, initScript: string, loads: number): Promise<number[]> {
  const user = await launchUser({ initScript: `${initScript}\n${RECORD_FIRST_LINE}` });
  try {
    const times: number[] = [];
    for (let i = 0; i < loads; i++) {
      await user.page.goto(`${url}/chat`);
      const handle = await user.page.waitForFunction(() => (window as unknown as { firstLineAt?: number }).firstLineAt, undefined, { timeout: 30_000 });
      times.push(Number(await handle.jsonValue()));
    }
    return times.sort((a, b) => a - b);
  } finally {
    await user.close();
  }
}

async function dashboardLatencies(url: string, seconds: number): Promise<number[]> {
  const user = await launchUser({ initScript: RECORD_LATENCIES });
  try {
    await user.page.goto(`${url}/dashboard`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const latencies = await user.page.evaluate(() => (window as unknown as { latencies: number[] }).latencies);
    return [...latencies].sort((a, b) => a - b);
  } finally {
    await user.close();
  }
}

/** One line in the chat's history, said by a Node client, so every load has a line to show. */
async function seedLine(url: string): Promise<void> {
  const session = await connect(url);
  await session.serverChan("chat").put({ say: { id: "bench-1", nick: "bench", text: "the first line" } });
  session.close();
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const commit = commitStamp(REPO_ROOT);
  const loadAtStart = currentLoad();
  const apps = await startApps({ port: 0, interval: options.interval });
  const rows: string[] = [];
  const firstLineP50 = new Map<string, number>();
  try {
    await seedLine(apps.url);
    for (const { transport, initScript } of TRANSPORT_CASES) {
      const times = await firstLineTimes(apps.url, initScript ?? "", options.loads);
      const row = `| ${transport} | ${percentile(times, 0.5).toFixed(0)} ms | ${percentile(times, 0.9).toFixed(0)} ms | ${times.length} |`;
      console.log(row);
      rows.push(row);
      firstLineP50.set(transport, percentile(times, 0.5));
    }
    const latencies = await dashboardLatencies(apps.url, options.seconds);
    const sizes = await measureSizes();
    const report = [
      "# The apps in Chromium",
      "",
      `\`npm run bench:browser\` (bench/browser/run.ts) on ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, commit ${commit}, ${new Date().toISOString().slice(0, 10)}. Server and browser (Debian's Chromium, headless) on the same machine, over 127.0.0.1. Its headline numbers are in \`results.json\` beside this file, summarised with every suite's in [../README.md](../README.md).`,
      "",
      `## Navigation to the first chat line shown (${options.loads} loads per transport)`,
      "",
      "| transport | p50 | p90 | loads |",
      "| --- | --- | --- | --- |",
      ...rows,
      "",
      `## Dashboard delivery latency (${options.seconds} s at one reading every ${options.interval} ms)`,
      "",
      "| readings | p50 | p99 | max |",
      "| --- | --- | --- | --- |",
      `| ${latencies.length} | ${percentile(latencies, 0.5)} ms | ${percentile(latencies, 0.99)} ms | ${latencies.at(-1) ?? NaN} ms |`,
      "",
      "The latency is the page's `Date.now()` minus the server's, on one machine: whole milliseconds.",
      "",
      "## Bundles (min+gzip, 1 KB = 1,000 bytes)",
      "",
      "| bundle | min | min+gzip | / socket.io-client |",
      "| --- | --- | --- | --- |",
      ...[sizes.servedClient, sizes.minimalApp, sizes.socketIoClient].map(
        (weight) => `| ${weight.name} | ${kb(weight.raw)} | ${kb(weight.gzip)} | ${(weight.gzip / sizes.socketIoClient.gzip).toFixed(2)}x |`,
      ),
      "",
    ].join("\n");
    await writeFile(new URL("./README.md", import.meta.url), report);
    const machine = describeMachine(loadAtStart);
    const headlines = browserHeadlines({ firstLineP50, dashboardP99: percentile(latencies, 0.99), sizes });
    writeSuiteResults(fileURLToPath(new URL("./results.json", import.meta.url)), {
      suite: "browser",
      stamp: stampOf(machine, commit, null, performance.now() - started),
      headlines,
    });
    console.log(report);
  } finally {
    await apps.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
