// resolveServerOptions: every default, and every option no server could honour refused by name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createServer, serverDefaults, type ServerOptions } from "../../src/server/index.js";
import { resolveServerOptions } from "../../src/server/options.js";
import { consoleLogger } from "../../src/session/logger.js";

function refused(options: ServerOptions, name: string, message: RegExp): void {
  assert.throws(() => resolveServerOptions(options), { name, code: "ERR_SERVER_OPTION", message }, JSON.stringify(options));
  assert.throws(() => createServer(options), { name, code: "ERR_SERVER_OPTION" }, "createServer checks the same");
}

describe("resolveServerOptions", () => {
  it("fills in the documented defaults, an option given as undefined included", () => {
    const resolved = resolveServerOptions({ maxConnections: undefined });
    assert.equal(resolved.maxConnections, 10_000);
    assert.deepEqual(resolved.allowedHosts, []);
    assert.equal(resolved.requestTimeout, 30_000);
    assert.equal(resolved.headersTimeout, 10_000);
    assert.equal(resolved.bodyTimeout, 30_000);
    assert.equal(resolved.logger, consoleLogger);
    assert.equal(serverDefaults.bodyTimeout, 30_000);
  });

  it("keeps a copy of allowedHosts, and true as it is", () => {
    const hosts = ["app.test"];
    const resolved = resolveServerOptions({ allowedHosts: hosts });
    hosts.push("evil.example");
    assert.deepEqual(resolved.allowedHosts, ["app.test"]);
    assert.equal(resolveServerOptions({ allowedHosts: true }).allowedHosts, true);
  });

  it("refuses numbers out of range, naming the option, the protocol's included", () => {
    for (const [key, bad] of [
      ["requestTimeout", -1],
      ["headersTimeout", 1.5],
      ["bodyTimeout", 2 ** 31],
      ["maxConnections", Number.NaN],
      ["maxSessionsPerAddress", 0],
      ["linkTimeout", 0],
      ["replayBudget", -5],
      ["window", 0],
    ] as const) {
      refused({ [key]: bad }, "RangeError", new RegExp(`^server option ${key} must be an integer`));
    }
  });

  it("refuses a headersTimeout above requestTimeout while both are on", () => {
    refused({ requestTimeout: 1_000, headersTimeout: 2_000 }, "RangeError", /headersTimeout \(2000\) must be at most requestTimeout \(1000\)/);
    assert.doesNotThrow(() => resolveServerOptions({ requestTimeout: 0, headersTimeout: 2_000 }));
    assert.doesNotThrow(() => resolveServerOptions({ requestTimeout: 1_000, headersTimeout: 0 }));
  });

  it("refuses options of the wrong type: allowedHosts, logger, function options", () => {
    refused({ allowedHosts: ["http://app.test"] }, "TypeError", /allowedHosts\[0\]/);
    refused({ logger: {} as ServerOptions["logger"] }, "TypeError", /logger must have error/);
    refused({ clientAddress: "x" as unknown as ServerOptions["clientAddress"] }, "TypeError", /clientAddress must be a function/);
    refused({ authenticate: 1 as unknown as ServerOptions["authenticate"] }, "TypeError", /authenticate must be a function/);
    refused({ authorize: true as unknown as ServerOptions["authorize"] }, "TypeError", /authorize must be a function/);
  });

  it("still refuses a bad path and heartbeatTimeout not above heartbeat", () => {
    refused({ path: "/a/" }, "RangeError", /path must be a plain absolute path/);
    refused({ heartbeat: 10, heartbeatTimeout: 10 }, "RangeError", /heartbeatTimeout \(10\) must be more than heartbeat \(10\)/);
  });
});
