// The Host check against DNS rebinding, as pure functions: the option, the header, the address.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hostOf, isHostAllowed, isLoopbackAddress, resolveAllowedHosts } from "../../src/server/hosts.js";
import { assertThrowsCode } from "../helpers/errors.js";

const none = resolveAllowedHosts(undefined);

describe("isLoopbackAddress", () => {
  it("knows 127.0.0.0/8, ::1 and IPv4-mapped 127.x, and nothing else", () => {
    for (const address of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "::FFFF:127.0.0.2"]) assert.ok(isLoopbackAddress(address), address);
    for (const address of ["10.0.0.1", "192.168.1.2", "::", "0.0.0.0", "::ffff:10.0.0.1", "fe80::1", "", undefined]) assert.ok(!isLoopbackAddress(address), String(address));
  });
});

describe("hostOf", () => {
  it("reads names with and without a port, lowercase, without the trailing dot", () => {
    assert.deepEqual(hostOf("Evil.Example:8080"), { ip: false, name: "evil.example" });
    assert.deepEqual(hostOf("localhost."), { ip: false, name: "localhost" });
    assert.deepEqual(hostOf("app.localhost:3000"), { ip: false, name: "app.localhost" });
  });

  it("reads IP literals, v4 and bracketed v6, with and without a port", () => {
    for (const host of ["127.0.0.1", "127.0.0.1:80", "10.1.2.3:9", "[::1]", "[::1]:3000", "[::ffff:127.0.0.1]:1"]) assert.deepEqual(hostOf(host), { ip: true }, host);
  });

  it("is null for what is no host", () => {
    for (const host of ["a b", "a:b", "[::1", "[nope]:1", "[::1]x", "evil.example:80:80", "a/b", "a@b", ":80", "x".repeat(254)]) assert.equal(hostOf(host), null, host);
  });
});

describe("isHostAllowed", () => {
  it("on a loopback address: loopback names and IP literals only, by default", () => {
    for (const host of ["localhost", "localhost:3000", "LOCALHOST", "app.localhost:1", "127.0.0.1:3000", "[::1]:3000", "192.168.0.7"]) {
      assert.ok(isHostAllowed(none, host, "127.0.0.1"), host);
    }
    for (const host of ["evil.example:3000", "evil.example", "localhost.evil.example", "evillocalhost", "a b"]) {
      assert.ok(!isHostAllowed(none, host, "127.0.0.1"), host);
      assert.ok(!isHostAllowed(none, host, "::1"), host);
      assert.ok(!isHostAllowed(none, host, "::ffff:127.0.0.1"), host);
    }
  });

  it("reads the local address only when the answer depends on it, and answers as with the address given", () => {
    const policies = [none, resolveAllowedHosts(["app.lan", ".corp.example"]), resolveAllowedHosts(true)];
    const hosts = [undefined, "", "localhost", "127.0.0.1:80", "[::1]", "app.lan", "x.corp.example", "evil.example", "a b"];
    for (const policy of policies) {
      for (const host of hosts) {
        for (const address of ["127.0.0.1", "10.0.0.5", undefined]) {
          let reads = 0;
          const lazy = isHostAllowed(policy, host, () => (reads++, address));
          assert.equal(lazy, isHostAllowed(policy, host, address), `${String(host)} on ${String(address)}`);
          assert.ok(reads <= 1);
        }
        let reads = 0;
        isHostAllowed(policy, host, () => (reads++, "127.0.0.1"));
        // Allowed on a loopback address, where the check is strictest: allowed on any, without reading it.
        if (isHostAllowed(policy, host, "127.0.0.1")) assert.equal(reads, 0, `${String(host)}: the address is not read`);
      }
    }
  });

  it("without a Host header, or with an empty one, a request passes", () => {
    assert.ok(isHostAllowed(none, undefined, "127.0.0.1"));
    assert.ok(isHostAllowed(none, "", "127.0.0.1"));
  });

  it("on any other local address every Host passes while allowedHosts names none", () => {
    for (const address of ["10.0.0.5", "192.168.1.2", "2001:db8::1", undefined]) assert.ok(isHostAllowed(none, "evil.example:80", address), String(address));
  });

  it("once allowedHosts names hosts, the check applies on every local address (a server on a private network)", () => {
    const policy = resolveAllowedHosts(["app.lan"]);
    for (const address of ["10.0.0.5", "192.168.1.2", undefined]) {
      assert.ok(!isHostAllowed(policy, "evil.example:80", address), `evil.example on ${String(address)}`);
      assert.ok(isHostAllowed(policy, "app.lan:8080", address), `app.lan on ${String(address)}`);
      assert.ok(isHostAllowed(policy, "192.168.1.2:8080", address), `an IP literal on ${String(address)}`);
    }
  });

  it("allowedHosts adds exact names and, with a leading dot, a domain and its subdomains; true allows any", () => {
    const policy = resolveAllowedHosts(["App.Test", ".example.com"]);
    for (const host of ["app.test:3000", "app.test.", "example.com", "a.example.com:1", "a.b.example.com"]) assert.ok(isHostAllowed(policy, host, "127.0.0.1"), host);
    for (const host of ["other.test", "badexample.com", "example.com.evil"]) assert.ok(!isHostAllowed(policy, host, "127.0.0.1"), host);
    assert.ok(isHostAllowed(resolveAllowedHosts(true), "evil.example:1", "127.0.0.1"));
  });
});

describe("resolveAllowedHosts", () => {
  it("refuses anything but true or a list of host names, naming the entry", () => {
    assertThrowsCode(() => resolveAllowedHosts(false), "ERR_SERVER_OPTION", "false", TypeError);
    assertThrowsCode(() => resolveAllowedHosts("app.test"), "ERR_SERVER_OPTION", "a string", TypeError);
    for (const bad of ["", ".", "http://app.test", "app.test:3000", "a b", "*.app.test", "app/x"]) {
      assert.throws(() => resolveAllowedHosts(["ok.test", bad]), { name: "TypeError", code: "ERR_SERVER_OPTION", message: /allowedHosts\[1\]/ }, bad);
    }
    assert.throws(() => resolveAllowedHosts([42]), { code: "ERR_SERVER_OPTION", message: /allowedHosts\[0\]/ });
  });
});
