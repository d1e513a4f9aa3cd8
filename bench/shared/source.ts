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
