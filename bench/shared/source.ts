// Which sources a benchmark measured: others may be editing src/ while it runs.
import { spawnSync } from "node:child_process";

/** "commit abc1234, src/ unmodified", or the files of src/ changed since that commit. */
export function sourceState(repoRoot: string): string {
  const git = (args: string[]): string => {
    const result = spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
    // trimEnd: porcelain lines start with a space that is part of the status.
    return result.status === 0 ? result.stdout.trimEnd() : "";
  };
  const commit = git(["rev-parse", "--short", "HEAD"]);
  if (commit === "") return "not a git checkout";
  const dirty = git(["status", "--porcelain", "--", "src"])
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => line.slice(3));
  return dirty.length === 0 ? `commit ${commit}, src/ unmodified` : `commit ${commit} with uncommitted changes in ${dirty.join(", ")}`;
}

/**
 * Files a benchmark run writes itself: they are not sources, so a run that rewrote them (or an
 * earlier suite of `npm run bench` that did) does not make the next one "uncommitted".
 */
const BENCH_OUTPUT = /^bench\/(README\.md|[^/]+\/README\.md|[^/]+\/results\.json)$/;

/** The short commit, with " + uncommitted changes" when anything but the benchmarks' own outputs differs from it. */
export function commitStamp(repoRoot: string): string {
  const git = (args: string[]): string | null => {
    const result = spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
    return result.status === 0 ? result.stdout.trimEnd() : null;
  };
  const commit = git(["rev-parse", "--short", "HEAD"]);
  if (commit === null || commit === "") return "unknown (not a git checkout)";
  const changed = (git(["status", "--porcelain", "--untracked-files=all"]) ?? "")
    .split("\n")
    .filter((line) => line.length > 0)
    // "XY path" or "XY old -> new": the path as it is now.
    .map((line) => line.slice(3).split(" -> ").pop() ?? "")
    .filter((file) => !BENCH_OUTPUT.test(file));
  return changed.length === 0 ? commit : `${commit} + uncommitted changes`;
}
