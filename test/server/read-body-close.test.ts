// readBody (src/server/request.ts) over a real request on 127.0.0.1: a body read to its end is
// not rejected afterwards. Node closes every request once it is read; the 'close' listener left
// there made a BodyAbortedError (a stack trace) per request, to reject a settled promise: Node's
// 'multipleResolves' event counts such a late rejection.
import assert from "node:assert/strict";
import http from "node:http";
import { describe, it } from "node:test";
import { readBody } from "../../src/server/request.js";

describe("readBody", () => {
  it("rejects nothing once the body was read, when the request closes (regression: an error made per request)", { timeout: 30_000 }, async (t) => {
    let lateRejections = 0;
    const countLate = (type: string): void => {
      if (type === "reject") lateRejections++;
    };
    process.on("multipleResolves", countLate);
    t.after(() => process.off("multipleResolves", countLate));
    const server = http.createServer(function answer(req, res) {
      void readBody(req, { maxMessageSize: 1024, bodyTimeout: 5_000 }).then((body) => res.end(Buffer.from(body).toString("utf8")));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      server.closeAllConnections();
      server.close();
    });
    const { port } = server.address() as { port: number };
    for (let i = 0; i < 5; i++) {
      const answer = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "[1,2]" });
      assert.equal(await answer.text(), "[1,2]");
    }
    // Every request has closed by now: the server answered it and its body was read long before.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lateRejections, 0, "no rejection after the body was read");
  });
});
