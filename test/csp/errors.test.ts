import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  alts,
  buffer,
  chan,
  mix,
  pipeline,
  timeout,
  TooManyPendingError,
  WirechanError,
  WirechanRangeError,
  WirechanTypeError,
  xf,
} from "../../src/index.js";
import { thrown } from "../helpers/async.js";

describe("argument errors are the standard classes, with a code to switch on", () => {
  const cases: Array<[string, () => unknown, typeof WirechanTypeError | typeof WirechanRangeError, string]> = [
    ["put(undefined)", () => chan(1).put(undefined as unknown as number), WirechanTypeError, "ERR_UNDEFINED_PUT"],
    ["chan(0, xform)", () => chan(0, xf.map((x: number) => x)), WirechanTypeError, "ERR_XFORM_NEEDS_BUFFER"],
    ["buffer(0)", () => buffer(0), WirechanRangeError, "ERR_BUFFER_SIZE"],
    ["timeout(-1)", () => timeout(-1), WirechanRangeError, "ERR_TIMEOUT_DELAY"],
    ["alts([])", () => alts([]), WirechanTypeError, "ERR_ALTS_NO_OPERATIONS"],
    ["pipeline(0, …)", () => pipeline(0, chan(), xf.map((x: number) => x), chan()), WirechanRangeError, "ERR_PIPELINE_PARALLELISM"],
    ["xf.take(-1)", () => xf.take(-1), WirechanRangeError, "ERR_INVALID_COUNT"],
    ["xf.map(not a function)", () => xf.map(42 as unknown as (x: number) => number), WirechanTypeError, "ERR_INVALID_ARGUMENT"],
    ["soloMode(bad)", () => mix(chan()).soloMode("loud" as "mute"), WirechanTypeError, "ERR_SOLO_MODE"],
  ];
  for (const [name, f, cls, code] of cases) {
    it(`${name} throws ${cls.name} ${code}`, () => {
      const error = thrown(f);
      assert.ok(error instanceof cls, `${name} threw ${String(error)}`);
      assert.ok(error instanceof (cls === WirechanTypeError ? TypeError : RangeError), "still a standard TypeError/RangeError");
      assert.equal((error as { code: string }).code, code);
      assert.match((error as Error).message, /\S/);
    });
  }

  it("TooManyPendingError is a WirechanError naming the limit", () => {
    const error = new TooManyPendingError("puts", 1024);
    assert.ok(error instanceof WirechanError);
    assert.equal(error.code, "ERR_TOO_MANY_PENDING_PUTS");
    assert.equal(error.name, "TooManyPendingError");
    assert.match(error.message, /1024/);
  });
});
