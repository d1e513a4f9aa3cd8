// The handler's view of a request: routing's path parser against the WHATWG URL parser.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { parseTarget, pathOf } from "../../src/server/request.js";

/** What routing computes off the fast path. */
function urlPath(target: string): string {
  return parseTarget(target).pathname;
}

describe("pathOf", () => {
  it("reads //host/x as a path, never as a host, and never throws", () => {
    assert.equal(pathOf("//evil.example/x"), "//evil.example/x");
    assert.equal(pathOf("//"), "//");
    assert.equal(parseTarget("//").pathname, "//");
    assert.equal(pathOf("http://other.example/feed?x"), "/feed", "absolute-form, as a proxy sends it");
    assert.equal(pathOf("*"), "/*");
  });

  it("agrees with the URL parser on plain and tricky targets", () => {
    const targets = [
      "/", "/chat", "/chat?room=1", "/a/b/", "/a#frag", "/a?x#y", "//evil.example/x", "/a//b", "/a/./b", "/a/../b",
      "/%41", "/a b", "/é", "/a\\b", "/{x}", "/a\"b", "/<>", "/`", "?q", "", "x", "/a?b/../c", "/:@!$&'()*+,;=~-_",
    ];
    for (const target of targets) assert.equal(pathOf(target), urlPath(target), `path of ${JSON.stringify(target)}`);
  });

  it("agrees with the URL parser on any printable target (property)", () => {
    const chars = fc.constantFrom(..."/ab.%?#\\:@!$&'()*+,;=~-_ \"<>`{}|^é0".split(""));
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 16 }).map((cs) => `/${cs.join("")}`), (target) => {
        assert.equal(pathOf(target), urlPath(target), `path of ${JSON.stringify(target)}`);
      }),
      { numRuns: 2000 },
    );
  });
});
