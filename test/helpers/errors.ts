// Asserting the typed errors wirechan throws: the class and the machine-readable code.
import assert from "node:assert/strict";

/** `f` throws synchronously an error with `code` (and of class `type`, when given). */
export function assertThrowsCode(f: () => unknown, code: string, what: string, type?: new (...args: never[]) => Error): void {
  assert.throws(
    f,
    (error: unknown) => {
      if (type !== undefined) assert.ok(error instanceof type, `${what}: expected a ${type.name}, got ${String(error)}`);
      assert.equal((error as { code?: unknown }).code, code, `${what}: code`);
      return true;
    },
    what,
  );
}
