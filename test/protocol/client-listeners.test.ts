// A session's listener sets are bounded: onState and onRefusal each take at most
// MAX_SESSION_LISTENERS (a loop adding listeners it never removes is a leak to report).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connect, type Session } from "../../src/client/index.js";
import { MAX_SESSION_LISTENERS } from "../../src/client/session.js";
import { createServer } from "../../src/server/index.js";

describe("a session's listeners", () => {
  it("onState and onRefusal each take MAX_SESSION_LISTENERS, then throw ERR_TOO_MANY_LISTENERS; removing one makes room", async (t) => {
    const handle = await createServer().listen();
    t.after(() => handle.close());
    const session: Session = await connect(handle.url, { transports: ["websocket"] });
    t.after(() => session.close());
    for (const add of [(fn: () => void) => session.onState(fn), (fn: () => void) => session.onRefusal(fn)]) {
      const removers = Array.from({ length: MAX_SESSION_LISTENERS }, () => add(() => undefined));
      assert.throws(() => add(() => undefined), { name: "RangeError", code: "ERR_TOO_MANY_LISTENERS" });
      removers[0]?.();
      assert.doesNotThrow(() => add(() => undefined), "one removed makes room for one");
    }
  });
});
