import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { WirechanTypeError } from "../../src/csp/errors.js";
import { corsResponseHeaders, isOriginAllowed, preflightResponse, resolveCors } from "../../src/server/cors.js";
import type { CorsPolicy } from "../../src/server/cors.js";
import type { ServerOptions } from "../../src/server/options.js";
import { thrown } from "../helpers/async.js";

/** One policy of every origin shape, for checks that must hold whatever the policy. */
function everyPolicy(): Array<[string, CorsPolicy]> {
  return [
    ["false", resolveCors(false)],
    ["true", resolveCors(true)],
    ["true + credentials", resolveCors({ origin: true, credentials: true })],
    ["string", resolveCors("https://app.example")],
    ["list", resolveCors(["https://app.example", "null"])],
    ["RegExp", resolveCors(/.*/s)],
    ["predicate", resolveCors({ origin: () => true, exposedHeaders: ["X-Request-Id"] })],
  ];
}

describe("resolveCors: option shapes and defaults", () => {
  const defaults = {
    credentials: false,
    maxAge: 600,
    methods: ["GET", "HEAD", "POST", "OPTIONS"],
    exposedHeaders: [],
    allowedHeaders: undefined,
  };

  it("undefined and false are same-origin only, with every default", () => {
    for (const option of [undefined, false] as const) {
      assert.deepEqual(resolveCors(option), { origin: { kind: "same-origin" }, ...defaults });
    }
  });

  it("true allows any origin", () => {
    assert.deepEqual(resolveCors(true), { origin: { kind: "any" }, ...defaults });
  });

  it("a string or an array is a list of exact origins", () => {
    assert.deepEqual(resolveCors("https://app.example"), { origin: { kind: "list", origins: new Set(["https://app.example"]) }, ...defaults });
    assert.deepEqual(resolveCors(["https://a.example", "http://localhost:3000"]), {
      origin: { kind: "list", origins: new Set(["https://a.example", "http://localhost:3000"]) },
      ...defaults,
    });
  });

  it("a RegExp and a function are kept as the rule", () => {
    const re = resolveCors(/^https:\/\/a\.example$/i);
    assert.equal(re.origin.kind, "pattern");
    assert.equal(re.origin.kind === "pattern" && re.origin.pattern.source, "^https:\\/\\/a\\.example$");
    assert.equal(re.origin.kind === "pattern" && re.origin.pattern.flags, "i");
    const fn = resolveCors((o) => o.endsWith(".example"));
    assert.equal(fn.origin.kind, "predicate");
    assert.equal(isOriginAllowed(fn, "https://b.example", undefined), true);
    assert.equal(isOriginAllowed(fn, "https://b.test", undefined), false);
  });

  it("an options object keeps what it sets and fills the rest", () => {
    const policy = resolveCors({
      origin: "https://app.example",
      credentials: true,
      maxAge: 0,
      methods: ["GET", "PUT"],
      exposedHeaders: ["X-Request-Id"],
      allowedHeaders: ["Content-Type"],
    });
    assert.deepEqual(policy, {
      origin: { kind: "list", origins: new Set(["https://app.example"]) },
      credentials: true,
      maxAge: 0,
      methods: ["GET", "PUT"],
      exposedHeaders: ["X-Request-Id"],
      allowedHeaders: ["Content-Type"],
    });
    assert.deepEqual(resolveCors({ origin: true, maxAge: 5 }), { origin: { kind: "any" }, ...defaults, maxAge: 5 });
  });

  it("copies the option's arrays, so changing them later changes nothing", () => {
    const origins = ["https://a.example"];
    const methods = ["GET"];
    const policy = resolveCors({ origin: origins, methods });
    origins.push("https://evil.example");
    methods.push("DELETE");
    assert.equal(isOriginAllowed(policy, "https://evil.example", undefined), false);
    assert.deepEqual(policy.methods, ["GET"]);
    assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.methods));
  });

  it("accepts origin true together with credentials", () => {
    const policy = resolveCors({ origin: true, credentials: true });
    assert.equal(policy.origin.kind, "any");
    assert.equal(policy.credentials, true);
  });

  it("accepts every origin form a browser sends", () => {
    for (const origin of ["null", "http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:8080", "https://xn--bcher-kva.example", "chrome-extension://abcdefghijklmnop"]) {
      assert.ok(isOriginAllowed(resolveCors(origin), origin, undefined), origin);
    }
  });
});

describe("resolveCors: bad options throw ERR_CORS_OPTION naming the option", () => {
  const cases: Array<[string, unknown, string, RegExp?]> = [
    ["a trailing slash", "https://app.example/", "cors", /did you mean "https:\/\/app\.example"\?/],
    ["a path", "https://app.example/chat", "cors", /no path/],
    ["an uppercase host", "https://App.example", "cors", /did you mean "https:\/\/app\.example"/],
    ["a default port", "https://app.example:443", "cors", /did you mean "https:\/\/app\.example"/],
    ["no scheme", "app.example", "cors"],
    ["an empty string", "", "cors"],
    ["a wildcard string", "*", "cors", /use `true`/],
    ["a port out of range", "https://app.example:70000", "cors"],
    ["a bad list entry", ["https://ok.example", "ok.example"], "cors[1]"],
    ["a non-string list entry", ["https://ok.example", 42], "cors[1]"],
    ["a bad origin in an object", { origin: "https://ok.example/" }, "cors.origin"],
    ["a bad list entry in an object", { origin: ["https://ok.example", "nope"] }, "cors.origin[1]"],
    ["origin false in an object", { origin: false }, "cors.origin"],
    ["a missing origin", {}, "cors.origin"],
    ["a negative maxAge", { origin: true, maxAge: -1 }, "cors.maxAge", /non-negative integer/],
    ["a fractional maxAge", { origin: true, maxAge: 1.5 }, "cors.maxAge"],
    ["a NaN maxAge", { origin: true, maxAge: Number.NaN }, "cors.maxAge"],
    ["an infinite maxAge", { origin: true, maxAge: Number.POSITIVE_INFINITY }, "cors.maxAge"],
    ["a string maxAge", { origin: true, maxAge: "600" }, "cors.maxAge"],
    ["a non-boolean credentials", { origin: true, credentials: "yes" }, "cors.credentials"],
    ["methods that are not an array", { origin: true, methods: "GET" }, "cors.methods"],
    ["a method with a space", { origin: true, methods: ["GET", "BAD METHOD"] }, "cors.methods[1]"],
    ["a header name with CR/LF", { origin: true, exposedHeaders: ["X-Ok", "X-Bad\r\nSet-Cookie: a=b"] }, "cors.exposedHeaders[1]"],
    ["an empty header name", { origin: true, allowedHeaders: [""] }, "cors.allowedHeaders[0]"],
    ["an unknown key", { origin: true, maxage: 10 }, "cors.maxage", /not a CORS option/],
    ["null", null, "cors"],
    ["a number", 42, "cors"],
  ];
  for (const [name, option, optionName, message] of cases) {
    it(`${name}: ${optionName}`, () => {
      const error = thrown(() => resolveCors(option as ServerOptions["cors"]));
      assert.ok(error instanceof WirechanTypeError, String(error));
      assert.ok(error instanceof TypeError);
      assert.equal(error.code, "ERR_CORS_OPTION");
      assert.ok(error.message.startsWith(`${optionName} `), error.message);
      if (message !== undefined) assert.match(error.message, message);
    });
  }
});

describe("isOriginAllowed: same origin", () => {
  const sameOriginOnly = resolveCors(false);

  it("allows a request without Origin under every policy", () => {
    for (const [name, policy] of everyPolicy()) {
      assert.equal(isOriginAllowed(policy, undefined, "api.example"), true, name);
      assert.equal(isOriginAllowed(policy, undefined, undefined), true, name);
    }
  });

  it("allows an Origin equal to http:// + Host, port included", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example:8080", "api.example:8080"), true);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", "api.example"), true);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://[::1]:3000", "[::1]:3000"), true);
  });

  it("refuses a different port, host or scheme", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example:8081", "api.example:8080"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example:8080", "api.example"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", "api.example:8080"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://other.example", "api.example"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://sub.api.example", "api.example"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "https://api.example", "api.example"), false);
  });

  it("expects https:// when the connection is secure", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "https://api.example", "api.example", true), true);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", "api.example", true), false);
  });

  it("treats a default port as no port, on either side", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", "api.example:80"), true);
    assert.equal(isOriginAllowed(sameOriginOnly, "https://api.example", "api.example:443", true), true);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", "api.example:443"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "https://api.example", "api.example:80", true), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "https://api.example:8443", "api.example", true), false);
  });

  it("compares host names case-insensitively", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", "API.Example"), true);
  });

  it("cannot tell without a Host header: the policy decides", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", undefined), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example", ""), false);
    assert.equal(isOriginAllowed(resolveCors("http://api.example"), "http://api.example", undefined), true);
  });

  it("does not take a Host with a path or user info as an authority", () => {
    assert.equal(isOriginAllowed(sameOriginOnly, "http://api.example/x", "api.example/x"), false);
    assert.equal(isOriginAllowed(sameOriginOnly, "http://u@api.example", "u@api.example"), false);
  });

  it("allows the same origin even when a list does not name it", () => {
    const list = resolveCors(["https://app.example"]);
    assert.equal(isOriginAllowed(list, "http://api.example:8080", "api.example:8080"), true);
    assert.equal(isOriginAllowed(list, "http://elsewhere.example", "api.example:8080"), false);
    assert.equal(isOriginAllowed(list, "https://app.example", "api.example:8080"), true);
  });
});

describe("isOriginAllowed: the null origin", () => {
  const cases: Array<[string, ServerOptions["cors"], boolean]> = [
    ["false", false, false],
    ["true", true, true],
    ['"null"', "null", true],
    ['a list with "null"', ["https://a.example", "null"], true],
    ['a list without "null"', ["https://a.example"], false],
    ["a RegExp that matches it", /^null$/, true],
    ["a RegExp for https origins", /^https:\/\//, false],
    ["a predicate that accepts it", (o: string) => o === "null", true],
    ["a predicate that refuses it", (o: string) => o !== "null", false],
  ];
  for (const [name, option, expected] of cases) {
    it(`${expected ? "allowed" : "refused"} by ${name}`, () => {
      assert.equal(isOriginAllowed(resolveCors(option), "null", "api.example"), expected);
    });
  }

  it("is never the same origin, even with Host: null", () => {
    assert.equal(isOriginAllowed(resolveCors(false), "null", "null"), false);
  });
});

describe("isOriginAllowed: RegExp and predicate rules", () => {
  it("tests the RegExp as given: an unanchored pattern also matches look-alike domains", () => {
    // Documented: users must anchor. This pins that behaviour down so the docs stay true.
    const loose = resolveCors(/example\.com$/);
    assert.equal(isOriginAllowed(loose, "https://example.com", undefined), true);
    assert.equal(isOriginAllowed(loose, "https://evil-example.com", undefined), true);
  });

  it("an anchored pattern allows the domain and its subdomains only", () => {
    const anchored = resolveCors(/^https:\/\/([a-z0-9-]+\.)*example\.com$/);
    assert.equal(isOriginAllowed(anchored, "https://example.com", undefined), true);
    assert.equal(isOriginAllowed(anchored, "https://app.example.com", undefined), true);
    assert.equal(isOriginAllowed(anchored, "https://evil-example.com", undefined), false);
    assert.equal(isOriginAllowed(anchored, "https://example.com.evil.test", undefined), false);
    assert.equal(isOriginAllowed(anchored, "http://example.com", undefined), false);
  });

  it("gives the same answer every time for a global or sticky RegExp", () => {
    for (const pattern of [/^https:\/\/a\.example$/g, /https:\/\/a\.example/y]) {
      const policy = resolveCors(pattern);
      for (let i = 0; i < 4; i++) assert.equal(isOriginAllowed(policy, "https://a.example", undefined), true, `${String(pattern)} call ${i}`);
    }
  });

  it("passes the origin to the predicate and allows only on a real true", () => {
    const seen: string[] = [];
    const policy = resolveCors((o) => {
      seen.push(o);
      return o === "https://a.example";
    });
    assert.equal(isOriginAllowed(policy, "https://a.example", "api.example"), true);
    assert.equal(isOriginAllowed(policy, "https://b.example", "api.example"), false);
    assert.deepEqual(seen, ["https://a.example", "https://b.example"]);
    const truthy = resolveCors((() => "yes") as unknown as (o: string) => boolean);
    assert.equal(isOriginAllowed(truthy, "https://a.example", undefined), false);
  });

  it("does not ask the predicate about a missing, same-origin or malformed Origin", () => {
    let calls = 0;
    const policy = resolveCors(() => {
      calls++;
      return true;
    });
    isOriginAllowed(policy, undefined, "api.example");
    isOriginAllowed(policy, "http://api.example", "api.example");
    isOriginAllowed(policy, "https://a.example\r\nX: y", "api.example");
    assert.equal(calls, 0);
  });

  it("lets what a predicate throws through", () => {
    const policy = resolveCors(() => {
      throw new Error("boom");
    });
    assert.throws(() => isOriginAllowed(policy, "https://a.example", undefined), /boom/);
  });
});

describe("isOriginAllowed: malformed Origin values", () => {
  for (const origin of ["", "https://a.example\r\n", "https://a.example\nSet-Cookie: a=b", "https://a .example", "https://bücher.example", "https://a.example\0"]) {
    it(`refuses ${JSON.stringify(origin)} under every policy`, () => {
      for (const [name, policy] of everyPolicy()) {
        assert.equal(isOriginAllowed(policy, origin, "a.example"), false, name);
        assert.deepEqual(corsResponseHeaders(policy, origin), {}, name);
        assert.deepEqual(preflightResponse(policy, origin, "GET", undefined, "a.example"), { status: 403, headers: {} }, name);
      }
    });
  }
});

describe("corsResponseHeaders", () => {
  it("origin true without credentials: * and no Vary", () => {
    assert.deepEqual(corsResponseHeaders(resolveCors(true), "https://a.example"), { "access-control-allow-origin": "*" });
  });

  it("origin true with credentials echoes the origin, since browsers refuse * with credentials", () => {
    assert.deepEqual(corsResponseHeaders(resolveCors({ origin: true, credentials: true }), "https://a.example"), {
      "access-control-allow-origin": "https://a.example",
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
  });

  it("a list, RegExp or predicate echoes the origin with Vary: Origin", () => {
    for (const option of ["https://a.example", ["https://b.example", "https://a.example"], /^https:\/\/a\./, (o: string) => o.startsWith("https://a.")]) {
      assert.deepEqual(corsResponseHeaders(resolveCors(option), "https://a.example"), {
        "access-control-allow-origin": "https://a.example",
        vary: "Origin",
      });
    }
  });

  it("adds exposed headers and credentials when configured", () => {
    const policy = resolveCors({ origin: "https://a.example", credentials: true, exposedHeaders: ["X-Request-Id", "X-Cursor"] });
    assert.deepEqual(corsResponseHeaders(policy, "https://a.example"), {
      "access-control-allow-origin": "https://a.example",
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "X-Request-Id, X-Cursor",
      vary: "Origin",
    });
    assert.deepEqual(corsResponseHeaders(resolveCors({ origin: true, exposedHeaders: ["X-Cursor"] }), "https://a.example"), {
      "access-control-allow-origin": "*",
      "access-control-expose-headers": "X-Cursor",
    });
  });

  it("is empty without Origin or for a refused origin", () => {
    assert.deepEqual(corsResponseHeaders(resolveCors(true), undefined), {});
    assert.deepEqual(corsResponseHeaders(resolveCors("https://a.example"), "https://b.example"), {});
    assert.deepEqual(corsResponseHeaders(resolveCors(false), "https://a.example"), {});
  });

  it('echoes "null" only where null is allowed', () => {
    assert.deepEqual(corsResponseHeaders(resolveCors(["null"]), "null"), { "access-control-allow-origin": "null", vary: "Origin" });
    assert.deepEqual(corsResponseHeaders(resolveCors(["https://a.example"]), "null"), {});
  });
});

describe("preflightResponse", () => {
  const list = resolveCors(["https://app.example"]);

  it("204 with every header for an allowed origin and method, echoing the requested headers", () => {
    assert.deepEqual(preflightResponse(list, "https://app.example", "POST", "content-type,x-token", "api.example"), {
      status: 204,
      headers: {
        "access-control-allow-origin": "https://app.example",
        "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
        "access-control-allow-headers": "content-type, x-token",
        "access-control-max-age": "600",
        vary: "Origin, Access-Control-Request-Headers",
      },
    });
  });

  it("sends the configured allowed headers instead of echoing", () => {
    const policy = resolveCors({ origin: "https://app.example", allowedHeaders: ["Content-Type"], credentials: true, maxAge: 0 });
    assert.deepEqual(preflightResponse(policy, "https://app.example", "GET", "content-type, x-other", "api.example"), {
      status: 204,
      headers: {
        "access-control-allow-origin": "https://app.example",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
        "access-control-allow-headers": "Content-Type",
        "access-control-max-age": "0",
        vary: "Origin",
      },
    });
  });

  it("origin true without credentials: * and Vary only on the echoed headers", () => {
    assert.deepEqual(preflightResponse(resolveCors(true), "https://a.example", "GET", undefined, "api.example"), {
      status: 204,
      headers: {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
        "access-control-max-age": "600",
        vary: "Access-Control-Request-Headers",
      },
    });
    const fixed = preflightResponse(resolveCors({ origin: true, allowedHeaders: [] }), "https://a.example", "GET", "x-a", "api.example");
    assert.deepEqual(fixed.headers, {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, HEAD, POST, OPTIONS",
      "access-control-max-age": "600",
    });
  });

  it("echoes only well-formed requested header names", () => {
    const { headers } = preflightResponse(list, "https://app.example", "GET", " x-ok ,, bad name, x-a\r\nset-cookie: a=b,x-b", "api.example");
    assert.equal(headers["access-control-allow-headers"], "x-ok, x-b");
  });

  it("403 with no headers for a refused origin", () => {
    assert.deepEqual(preflightResponse(list, "https://evil.example", "GET", "x-a", "api.example"), { status: 403, headers: {} });
    assert.deepEqual(preflightResponse(resolveCors(false), "https://app.example", "GET", undefined, "api.example"), { status: 403, headers: {} });
  });

  it("403 with no headers for a method not in the list, compared case-sensitively", () => {
    assert.deepEqual(preflightResponse(list, "https://app.example", "DELETE", undefined, "api.example"), { status: 403, headers: {} });
    assert.deepEqual(preflightResponse(list, "https://app.example", "post", undefined, "api.example"), { status: 403, headers: {} });
    assert.deepEqual(preflightResponse(list, "https://app.example", undefined, undefined, "api.example"), { status: 403, headers: {} });
    const put = resolveCors({ origin: "https://app.example", methods: ["PUT"] });
    assert.equal(preflightResponse(put, "https://app.example", "PUT", undefined, "api.example").status, 204);
    assert.equal(preflightResponse(put, "https://app.example", "GET", undefined, "api.example").status, 403);
  });

  it("allows a same-origin preflight whatever the policy, https when secure", () => {
    const sameOriginOnly = resolveCors(false);
    const plain = preflightResponse(sameOriginOnly, "http://api.example:8080", "POST", undefined, "api.example:8080");
    assert.equal(plain.status, 204);
    assert.equal(plain.headers["access-control-allow-origin"], "http://api.example:8080");
    assert.equal(preflightResponse(sameOriginOnly, "https://api.example", "POST", undefined, "api.example").status, 403);
    assert.equal(preflightResponse(sameOriginOnly, "https://api.example", "POST", undefined, "api.example", true).status, 204);
  });

  it("without Origin it is no CORS preflight: 204 and no headers", () => {
    assert.deepEqual(preflightResponse(list, undefined, "GET", undefined, "api.example"), { status: 204, headers: {} });
  });
});

describe("properties", () => {
  const hostnames = ["a.example", "b.example", "localhost", "127.0.0.1", "[::1]"];
  const ports = [undefined, 80, 443, 3000, 8080];
  const defaultPort = (scheme: string): number => (scheme === "https" ? 443 : 80);
  const withPort = (hostname: string, port: number | undefined): string => (port === undefined ? hostname : `${hostname}:${port}`);
  /** Every origin a browser could send for these hosts: canonical, so default ports left out. */
  const canonical = [...new Set(["http", "https"].flatMap((s) => hostnames.flatMap((h) => ports.map((p) => new URL(`${s}://${withPort(h, p)}`).origin))))];

  it("a list policy allows an origin iff it is in the list or the same origin", () => {
    fc.assert(
      fc.property(
        fc.subarray(canonical),
        fc.record({ scheme: fc.constantFrom("http", "https"), hostname: fc.constantFrom(...hostnames), port: fc.constantFrom(...ports) }),
        fc.option(fc.record({ hostname: fc.constantFrom(...hostnames), port: fc.constantFrom(...ports) }), { nil: undefined }),
        fc.boolean(),
        (list, o, host, secure) => {
          const origin = `${o.scheme}://${withPort(o.hostname, o.port)}`;
          const expectedScheme = secure ? "https" : "http";
          // Same origin by components, not by strings: scheme, host name and effective port.
          const same =
            host !== undefined &&
            o.scheme === expectedScheme &&
            o.hostname === host.hostname &&
            (o.port ?? defaultPort(o.scheme)) === (host.port ?? defaultPort(expectedScheme));
          const allowed = isOriginAllowed(resolveCors(list), origin, host === undefined ? undefined : withPort(host.hostname, host.port), secure);
          assert.equal(allowed, list.includes(origin) || same);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("an arbitrary Origin string passes a list policy iff it is in the list", () => {
    fc.assert(
      fc.property(fc.subarray(canonical), fc.oneof(fc.constantFrom(...canonical), fc.string({ unit: "binary" })), (list, origin) => {
        assert.equal(isOriginAllowed(resolveCors(list), origin, undefined), list.includes(origin));
      }),
    );
  });

  it("an Origin containing CR or LF is refused and never echoed, whatever the policy", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("\r", "\n", "\r\n"), fc.string(), (before, lineBreak, after) => {
        const origin = `https://a.example${before}${lineBreak}${after}`;
        for (const [name, policy] of everyPolicy()) {
          assert.equal(isOriginAllowed(policy, origin, "a.example"), false, name);
          assert.deepEqual(corsResponseHeaders(policy, origin), {}, name);
          assert.equal(preflightResponse(policy, origin, "GET", undefined, "a.example").status, 403, name);
        }
      }),
    );
  });

  it("response headers never contain CR, LF or other control characters", () => {
    const printable = /^[\x20-\x7e]*$/;
    const anyString = fc.oneof(fc.string({ unit: "binary" }), fc.constantFrom("https://a.example", "null"));
    fc.assert(
      fc.property(anyString, fc.option(anyString, { nil: undefined }), fc.option(anyString, { nil: undefined }), (origin, method, requested) => {
        for (const [name, policy] of everyPolicy()) {
          const preflight = preflightResponse(policy, origin, method ?? "GET", requested, "a.example");
          for (const headers of [corsResponseHeaders(policy, origin), preflight.headers]) {
            for (const [key, value] of Object.entries(headers)) {
              assert.match(key, printable, name);
              assert.match(value, printable, `${name}: ${key}`);
            }
          }
        }
      }),
    );
  });

  it("the echoed origin is always the request's own, and only for an allowed one", () => {
    fc.assert(
      fc.property(fc.constantFrom(...canonical, "null"), fc.subarray(canonical), (origin, list) => {
        for (const policy of [resolveCors({ origin: list, credentials: true }), resolveCors({ origin: true, credentials: true })]) {
          const allowOrigin = corsResponseHeaders(policy, origin)["access-control-allow-origin"];
          assert.equal(allowOrigin, isOriginAllowed(policy, origin, undefined) ? origin : undefined);
        }
      }),
    );
  });
});
