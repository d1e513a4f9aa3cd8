// How a benchmark runs one row of child processes: with a time limit, and with every child
// stopped afterwards whatever happened.
import type { Child } from "./child.js";

export type RowOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/**
 * Runs `body`, which pushes every child it starts onto `children`; fails it after `timeoutMs`.
 * Afterwards the children are stopped in reverse order (load generators, started last, before
 * the servers, so that a server does not spend its last moments on sessions dropping), then
 * `cleanup` runs. Never rejects.
 */
export async function runRowOfChildren<T>(timeoutMs: number, body: (children: Child[]) => Promise<T>, cleanup: () => Promise<void> = async () => {}): Promise<RowOutcome<T>> {
  const children: Child[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`killed after the ${timeoutMs / 1000} s row timeout`)), timeoutMs);
  });
  try {
    return { ok: true, value: await Promise.race([body(children), timeout]) };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
    for (const child of [...children].reverse()) await child.stop();
    await cleanup().catch(() => {});
  }
}
