/**
 * Runs a background loop (the go-blocks behind `pipe`, `mult`, `mix` …) whose promise nobody
 * awaits. A loop can only fail through a bug or a channel misuse elsewhere (for example a
 * `TooManyPendingError` because other producers flooded the target); that failure is logged
 * rather than left as an unhandled rejection that would end a Node process.
 */
export function spawn(loop: Promise<unknown>, name: string): void {
  loop.catch((error: unknown) => {
    console.error(`wirechan: the ${name} loop stopped:`, error);
  });
}
