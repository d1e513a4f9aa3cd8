// The served /wirechan/client.js (scripts/browser-bundle.ts) is one ES module that exports the
// whole channel library (every export of src/index.ts, the `wirechan` entry) and the
// client's exports (`connect` and the rest of src/client/browser.ts). Loaded here as a data:
// URL, as a browser would load the file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildBrowserClient } from "../../scripts/browser-bundle.js";
import * as client from "../../src/client/browser.js";
import * as library from "../../src/index.js";

describe("/wirechan/client.js", { timeout: 60_000 }, () => {
  it("exports connect, chan and every value export of the channel library and the client", async () => {
    const text = await buildBrowserClient();
    const served = (await import(`data:text/javascript;base64,${Buffer.from(text).toString("base64")}`)) as Record<string, unknown>;
    const names = Object.keys(served).sort();
    for (const name of ["connect", "chan"]) assert.equal(typeof served[name], "function", `${name} is not exported`);
    const expected = [...new Set([...Object.keys(library), ...Object.keys(client)])].sort();
    assert.deepEqual(names, expected);
  });
});
