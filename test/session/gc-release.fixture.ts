// Run by peer.test.ts as `node --expose-gc --import tsx test/session/gc-release.fixture.ts`
// when the test process itself has no `gc`: prints the scenario's result as one JSON line.
import { gcReleaseScenario } from "./gc-scenario.js";

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== "function") {
  process.stdout.write(`${JSON.stringify({ error: "run me with --expose-gc" })}\n`);
  process.exitCode = 2;
} else {
  const result = await gcReleaseScenario(gc);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
