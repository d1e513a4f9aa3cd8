/**
 * The codec suite (`npm run bench:codec`): wirechan's JSON beside msgpackr, the compact binary
 * codec issue 12 names, on the packets a session sends, in Node and in Chromium. Writes
 * bench/codec/README.md and results.json (report.ts). Options: `--rounds N` (default 7),
 * `--iterations N` packets per case, codec and round (default 50,000).
 *
 * Nothing goes over a network: the rounds run in this process, then in a page of Debian's
 * Chromium (/usr/bin/chromium, headless, the browser tests' launcher) that loads no URL.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { build } from "esbuild";
import { CHROMIUM, launchUser } from "../../test/browser/chromium.js";
import { currentLoad, describeMachine, packageVersions } from "../shared/machine.js";
import { stampOf } from "../shared/results.js";
import { positiveIntFlag } from "../shared/options.js";
import { commitStamp } from "../shared/source.js";
import { endSuiteRun } from "../shared/suite-report.js";
import { runWithWatchdog } from "../shared/watchdog.js";
import { type CaseTiming, timeRound } from "./cases.js";
import { msgpackrCodec, nodeJsonCodec } from "./codecs.js";
import { codecHeadlines, codecReadme, type PlatformRounds } from "./report.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

interface Options {
  readonly rounds: number;
  readonly iterations: number;
}

function parseOptions(argv: readonly string[]): Options {
  return { rounds: positiveIntFlag(argv, "rounds", 7), iterations: positiveIntFlag(argv, "iterations", 50_000) };
}

type Round = Record<string, Record<string, CaseTiming>>;

function nodeRounds(options: Options): Round[] {
  const codecs = [nodeJsonCodec(), msgpackrCodec()];
  const rounds: Round[] = [];
  for (let round = 0; round < options.rounds; round++) {
    rounds.push(timeRound(codecs, options.iterations, round, () => performance.now()));
    console.log(`[node ${round + 1}/${options.rounds}] done`);
  }
  return rounds;
}

/** The page's script: cases.ts, codecs.ts and msgpackr's browser build, as esbuild bundles them for an app. */
async function pageScript(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL("./page.ts", import.meta.url))],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error("esbuild produced no output for bench/codec/page.ts");
  return file.text;
}

async function chromiumRounds(options: Options): Promise<{ rounds: Round[]; version: string }> {
  const script = await pageScript();
  const user = await launchUser();
  try {

    await user.page.setContent("<!doctype html><title>codec bench</title>");
    await user.page.addScriptTag({ content: script });
    const rounds: Round[] = [];
    // One round per evaluate, so a slow page reports progress and stays under playwright's timeouts.
    for (let round = 0; round < options.rounds; round++) {
      const [timed] = await user.page.evaluate(
        ([iterations]) => (globalThis as unknown as { runCodecRounds(r: number, n: number): Round[] }).runCodecRounds(1, iterations),
        [options.iterations] as const,
      );
      if (timed === undefined) throw new Error("the page returned no round");
      rounds.push(timed);
      console.log(`[chromium ${round + 1}/${options.rounds}] done`);
    }
    if (user.pageErrors.length > 0) throw new Error(`the page threw: ${user.pageErrors.join("; ")}`);
    return { rounds, version: chromiumVersion() };
  } finally {
    await user.close();
  }
}

/** "Chromium 156.0.8078.73 built on Debian …" as the binary says it (the page's user agent hides the minor numbers). */
function chromiumVersion(): string {
  try {
    return execFileSync(CHROMIUM, ["--version"], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const options = parseOptions(process.argv.slice(2));
  const commit = commitStamp(REPO_ROOT);
  const loadAtStart = currentLoad();
  const node = nodeRounds(options);
  const chromium = await chromiumRounds(options);
  const platforms: PlatformRounds[] = [
    { platform: "Node", rounds: node },
    { platform: "Chromium", rounds: chromium.rounds },
  ];
  const machine = describeMachine(loadAtStart);
  const versions = packageVersions(REPO_ROOT, [["msgpackr", "node_modules/msgpackr/package.json"]]);
  const input = { machine, commit, options, platforms, msgpackr: versions.get("msgpackr") ?? "unknown", chromium: chromium.version, durationMs: performance.now() - started };
  endSuiteRun({
    readmePath: fileURLToPath(new URL("./README.md", import.meta.url)),
    resultsPath: fileURLToPath(new URL("./results.json", import.meta.url)),
    failures: [],
    partial: null,
    readme: () => codecReadme(input, REPO_ROOT),
    results: () => ({ suite: "codec", stamp: stampOf(machine, commit, options.rounds, input.durationMs), headlines: codecHeadlines(platforms) }),
  });
}

runWithWatchdog("bench:codec", 10 * 60_000, main);
