// Values on the wire: JSON, plus channels written as tagged references. Pure functions; the
// caller says how a channel becomes a reference id and how an id becomes a channel or proxy.
import { WirechanTypeError } from "../csp/errors.js";
import { ProtocolError } from "./protocol-error.js";

/** The key of a channel reference: `{"~c": ref}`. */
export const REF_KEY = "~c";

const TILDE = 0x7e;

/** Deepest nesting of arrays and objects a value may have, either way. */
export const MAX_DEPTH = 256;

/** Counts the arrays and objects of a value's wire form while it is encoded (the packet bound counts them). */
export interface NodeCounter {
  nodes: number;
}

/** Turns a channel (or a proxy) met while encoding into its reference id, exporting it if needed. */
export type RefWriter = (channel: object) => string | undefined;
/** Turns a reference id read from the wire into the value the application gets. */
export type RefReader = (ref: string) => unknown;

/**
 * The wire form of `value`: what `JSON.stringify` would write, with every channel (an object
 * for which `writeRef` returns an id) replaced by `{"~c": id}` and every key starting with `~`
 * given one more `~`. Parts that need no change are shared, not copied. Throws a `TypeError`
 * (`ERR_WIRE_VALUE`) for a cycle, nesting deeper than {@link MAX_DEPTH}, or `undefined` at the
 * top; `JSON.stringify` later throws its own `TypeError` for a `BigInt`.
 */
export function encodeValue(value: unknown, writeRef: RefWriter, counter?: NodeCounter): unknown {
  if (value === undefined || typeof value === "function" || typeof value === "symbol") {
    throw new WirechanTypeError("ERR_WIRE_VALUE", `cannot send ${typeof value}: a value must be representable as JSON`);
  }
  // Numbers, strings, booleans and null are their own wire form.
  if (typeof value !== "object" || value === null) return checkPrimitive(value);
  const encoder = new Encoder(writeRef, counter);
  const top = encoder.jsonForm(value, "");
  if (top === undefined || typeof top === "function" || typeof top === "symbol") {
    throw new WirechanTypeError("ERR_WIRE_VALUE", "cannot send a value whose toJSON gives undefined: a value must be representable as JSON");
  }
  return encoder.encode(top, "", 0);
}

class Encoder {
  /**
   * The objects on the path from the top to the current one: a cycle would loop forever. An
   * array, not a Set: it is at most MAX_DEPTH long, usually one or two, and made for every put.
   */
  readonly #path: object[] = [];

  readonly #writeRef: RefWriter;
  readonly #counter: NodeCounter | undefined;

  constructor(writeRef: RefWriter, counter: NodeCounter | undefined) {
    this.#writeRef = writeRef;
    this.#counter = counter;
  }

  /**
   * What `JSON.stringify` would serialise in place of `value`: the result of its `toJSON`, if
   * it has one (called once, as JSON.stringify does; the result's own `toJSON` is not called).
   * Channels have no `toJSON`: they stay, to become references.
   */
  jsonForm(value: unknown, key: string): unknown {
    if (typeof value !== "object" || value === null) return value;
    const json = (value as { toJSON?: unknown }).toJSON;
    return typeof json === "function" ? (json as (key: string) => unknown).call(value, key) : value;
  }

  /** `value` already in its JSON form (see {@link jsonForm}). */
  encode(value: unknown, key: string, depth: number): unknown {
    if (typeof value !== "object" || value === null) return checkPrimitive(value);
    // Every array and object of the wire form, a reference's `{"~c": id}` included.
    if (this.#counter !== undefined) this.#counter.nodes++;
    const ref = this.#writeRef(value);
    if (ref !== undefined) return { [REF_KEY]: ref };
    if (depth >= MAX_DEPTH) throw new WirechanTypeError("ERR_WIRE_VALUE", `cannot send a value nested deeper than ${MAX_DEPTH} levels`);
    if (this.#path.includes(value)) throw new WirechanTypeError("ERR_WIRE_VALUE", "cannot send a value with a cycle");
    this.#path.push(value);
    const out = Array.isArray(value) ? this.#encodeArray(value, depth) : this.#encodeObject(value, depth);
    this.#path.pop();
    return out;
  }

  #encodeArray(array: readonly unknown[], depth: number): unknown[] {
    // A toJSON result that has a toJSON of its own: JSON.stringify would not call it, so the copy must not carry it.
    let copy: unknown[] | null = hasToJson(array) ? [] : null;
    for (let i = 0; i < array.length; i++) {
      const item = array[i];
      const encoded = this.encode(this.jsonForm(item, String(i)), String(i), depth + 1);
      if (encoded !== item && copy === null) copy = array.slice(0, i);
      if (copy !== null) copy.push(encoded);
    }
    return copy ?? (array as unknown[]);
  }

  #encodeObject(object: object, depth: number): object {
    let copy: Record<string, unknown> | null = hasToJson(object) ? {} : null;
    const keys = Object.keys(object);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const item = (object as Record<string, unknown>)[key];
      const encoded = this.encode(this.jsonForm(item, key), key, depth + 1);
      const wireKey = key.charCodeAt(0) === TILDE ? `~${key}` : key;
      if ((encoded !== item || wireKey !== key) && copy === null) copy = copyKeys(object as Record<string, unknown>, keys, i);
      // JSON drops these; a copied toJSON function would otherwise be called by JSON.stringify.
      if (copy !== null && encoded !== undefined && typeof encoded !== "function" && typeof encoded !== "symbol") define(copy, wireKey, encoded);
    }
    return copy ?? object;
  }
}

/** A fresh plain object with the first `count` of `keys` of `source`. */
function copyKeys(source: Record<string, unknown>, keys: readonly string[], count: number): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) define(copy, keys[i] as string, source[keys[i] as string]);
  return copy;
}

/**
 * Sets an own data property. Plain assignment would call the `__proto__` setter and change
 * the object's prototype; that one key is defined instead (as JSON.parse does).
 */
function define(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

/**
 * A primitive as it goes on the wire. A `BigInt` is refused here, with the code every other
 * value that cannot be sent gets, rather than by the codec later (JSON.stringify's TypeError
 * has no code).
 */
function checkPrimitive(value: unknown): unknown {
  if (typeof value === "bigint") throw new WirechanTypeError("ERR_WIRE_VALUE", "cannot send a BigInt: a value must be representable as JSON (send it as a string)");
  return value;
}

function hasToJson(object: object): boolean {
  return typeof (object as { toJSON?: unknown }).toJSON === "function";
}

/**
 * The application's form of a value read from the wire: every `{"~c": id}` replaced by
 * `readRef(id)`, one `~` stripped from keys starting with `~~`. Objects that change are rebuilt
 * as fresh plain objects with own data properties, so no key (`__proto__`, `constructor`) can
 * reach a prototype. Throws a {@link ProtocolError} (`ERR_BAD_FRAME`) for a key starting with a
 * single `~` other than a well-formed reference, or nesting deeper than {@link MAX_DEPTH}.
 */
export function decodeValue(value: unknown, readRef: RefReader): unknown {
  return decode(value, readRef, 0);
}

function decode(value: unknown, readRef: RefReader, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= MAX_DEPTH) throw new ProtocolError("ERR_BAD_FRAME", `a value nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const decoded = decode(item, readRef, depth + 1);
      if (decoded !== item && copy === null) copy = value.slice(0, i) as unknown[];
      if (copy !== null) copy.push(decoded);
    }
    return copy ?? value;
  }
  const keys = Object.keys(value);
  const record = value as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === REF_KEY) {
    const ref = record[REF_KEY];
    if (typeof ref !== "string") throw new ProtocolError("ERR_BAD_FRAME", "a channel reference must be a string");
    return readRef(ref);
  }
  let copy: Record<string, unknown> | null = null;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    let appKey = key;
    if (key.startsWith("~")) {
      if (!key.startsWith("~~")) throw new ProtocolError("ERR_BAD_FRAME", `unexpected key ${JSON.stringify(key.slice(0, 32))}: keys starting with ~ are escaped`);
      appKey = key.slice(1);
    }
    const item = record[key];
    const decoded = decode(item, readRef, depth + 1);
    if ((decoded !== item || appKey !== key) && copy === null) copy = copyKeys(record, keys, i);
    if (copy !== null) define(copy, appKey, decoded);
  }
  return copy ?? value;
}
