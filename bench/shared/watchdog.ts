// How a child-process benchmark's entry point runs: whatever hangs, it ends, and takes its
// children with it.
import { Child } from "./child.js";

/** Runs `main`; after `totalTimeoutMs` (or on a fatal error) every child is killed and the run fails. */
export function runWithWatchdog(name: string, totalTimeoutMs: number, main: () => Promise<void>): void {
  const watchdog = setTimeout(function giveUp() {
    console.error(`${name}: still running after ${totalTimeoutMs / 60_000} minutes; killing every child and giving up`);
    Child.killAll();
    process.exit(1);
  }, totalTimeoutMs);
  watchdog.unref();
  main().catch(function reportFatal(error: unknown) {
    console.error(error instanceof Error ? error.message : error);
    Child.killAll();
    process.exitCode = 1;
  });
}
