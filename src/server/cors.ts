import { WirechanTypeError } from "../csp/errors.js";
import type { CorsOptions, ServerOptions } from "./options.js";

/**
 * Cross-origin resource sharing, as the WHATWG Fetch standard has browsers check it. Pure:
 * the option in, a policy out; header values in, header values out. The server decides what
 * to do with a refusal (403) and writes the headers.
 *
 * Header names are lowercase, like `sseHeaders` and Node's own `getHeaders()`, so they merge
 * with other header records without duplicates that differ only by case.
 */

/** Which origins a {@link CorsPolicy} lets in, besides the server's own. */
export type OriginRule =
  | { readonly kind: "same-origin" }
  | { readonly kind: "any" }
  | { readonly kind: "list"; readonly origins: ReadonlySet<string> }
  | { readonly kind: "pattern"; readonly pattern: RegExp }
  | { readonly kind: "predicate"; readonly accepts: (origin: string) => boolean };

/** `ServerOptions.cors` with every default filled in. Build one with {@link resolveCors}. */
export interface CorsPolicy {
  readonly origin: OriginRule;
  readonly credentials: boolean;
  /** Seconds, a non-negative integer. */
  readonly maxAge: number;
  readonly methods: readonly string[];
  readonly exposedHeaders: readonly string[];
  /** `undefined`: a preflight gets back the (well-formed) headers it asked for. */
  readonly allowedHeaders: readonly string[] | undefined;
}

const defaultMethods: readonly string[] = Object.freeze(["GET", "HEAD", "POST", "OPTIONS"]);
const noHeaders: readonly string[] = Object.freeze([]);
const corsOptionKeys: ReadonlySet<string> = new Set(["origin", "credentials", "maxAge", "exposedHeaders", "allowedHeaders", "methods"]);

/** An HTTP token (RFC 9110): what a method or header name may be made of. Never CR or LF. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * A serialized origin is printable ASCII without spaces (hosts are punycode). Anything else in
 * an `Origin` header, CR or LF above all, is refused before any rule sees it, so it is never
 * echoed into a response header.
 */
const ORIGIN_CHARS = /^[\x21-\x7e]+$/;
/** Origins of schemes the URL parser gives no origin to, such as `chrome-extension://id`. */
const OPAQUE_SCHEME_ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/;

/** `Array.isArray` that also narrows readonly arrays, which `CorsOrigin` lists are. */
function isList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

function optionError(name: string, message: string): WirechanTypeError {
  return new WirechanTypeError("ERR_CORS_OPTION", `${name} ${message}`);
}

/** Throws unless `value` is an origin exactly as a browser would send it in `Origin`. */
function checkOrigin(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw optionError(name, `must be an origin string, got ${typeof value}`);
  }
  if (value === "null") return value; // what sandboxed iframes and file: pages send
  if (value === "*") {
    throw optionError(name, `cannot be "*": use \`true\` to allow any origin`);
  }
  const hint = ' (scheme://host[:port], no path, as a browser sends it in the Origin header)';
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url !== undefined && url.origin !== "null") {
    // An exact origin only ever matches the browser's serialization of it, so a trailing
    // slash, an uppercase letter or a default port would silently never match: refuse them.
    if (url.origin === value) return value;
    throw optionError(name, `${JSON.stringify(value)} is not an origin${hint}: did you mean ${JSON.stringify(url.origin)}?`);
  }
  if (url !== undefined && OPAQUE_SCHEME_ORIGIN.test(value)) return value;
  throw optionError(name, `${JSON.stringify(value)} is not an origin${hint}`);
}

function checkTokens(name: string, value: unknown, what: string): readonly string[] {
  if (!isList(value)) throw optionError(name, `must be an array of ${what}s`);
  value.forEach((token, i) => {
    if (typeof token !== "string" || !TOKEN.test(token)) {
      throw optionError(`${name}[${i}]`, `must be an HTTP ${what} (a token), got ${JSON.stringify(token) ?? String(token)}`);
    }
  });
  return Object.freeze([...(value as readonly string[])]);
}

function originRule(name: string, origin: unknown): OriginRule {
  if (origin === true) return { kind: "any" };
  if (typeof origin === "string") return { kind: "list", origins: new Set([checkOrigin(name, origin)]) };
  if (isList(origin)) {
    return { kind: "list", origins: new Set(origin.map((o, i) => checkOrigin(`${name}[${i}]`, o))) };
  }
  if (origin instanceof RegExp) {
    // A global or sticky RegExp remembers lastIndex between test() calls and would answer
    // every other request differently; a copy without those flags does not.
    return { kind: "pattern", pattern: new RegExp(origin.source, origin.flags.replace(/[gy]/g, "")) };
  }
  if (typeof origin === "function") {
    const accepts = origin as (origin: string) => unknown;
    // Only a real `true` lets an origin in: a predicate that returns something else fails closed.
    return { kind: "predicate", accepts: (o) => accepts(o) === true };
  }
  throw optionError(name, "must be true, an origin string, an array of them, a RegExp or a function");
}

/**
 * Normalises `ServerOptions.cors` into a policy. `false` or `undefined` (the default): same
 * origin only. `true`, an origin, a list, a RegExp or a predicate: shorthand for `{ origin }`.
 * Defaults: `credentials` false, `maxAge` 600, `methods` GET, HEAD, POST, OPTIONS,
 * `exposedHeaders` none, `allowedHeaders` whatever each preflight asks for.
 *
 * A string origin must be exactly what browsers send (`https://app.example`, `"null"`), since
 * it is compared as is. A RegExp is run with `test()` on the whole `Origin` value and is not
 * anchored for you: `/example\.com$/` also lets in `https://evil-example.com`, so write
 * `/^https:\/\/([a-z0-9-]+\.)*example\.com$/`. A predicate must return `true` to allow.
 *
 * `origin: true` with `credentials: true` is accepted and echoes each request's origin (browsers
 * refuse `*` with credentials): it lets every site make credentialed requests, so it is only
 * safe for data that is not private to the user.
 *
 * Throws a `TypeError` with code `ERR_CORS_OPTION` whose message starts with the option it is
 * about (`cors`, `cors.origin[1]`, `cors.maxAge`…): an origin string that is not an origin, a
 * `maxAge` that is not a non-negative integer, a method or header name that is not an HTTP
 * token, an unknown key, or a value of the wrong type.
 */
export function resolveCors(option: ServerOptions["cors"] | undefined): CorsPolicy {
  if (option === undefined || option === false) {
    return policy({ kind: "same-origin" }, {});
  }
  if (
    option === true ||
    typeof option === "string" ||
    isList(option) ||
    option instanceof RegExp ||
    typeof option === "function"
  ) {
    return policy(originRule("cors", option), {});
  }
  if (typeof option !== "object" || option === null) {
    throw optionError("cors", `must be false, true, an origin string, an array of them, a RegExp, a function or an options object, got ${option === null ? "null" : typeof option}`);
  }
  const options: CorsOptions = option;
  for (const key of Object.keys(options)) {
    // A misspelt key (`maxage`) would otherwise fall back to its default without a word.
    if (!corsOptionKeys.has(key)) throw optionError(`cors.${key}`, "is not a CORS option");
  }
  return policy(originRule("cors.origin", options.origin), options);
}

function policy(origin: OriginRule, options: Omit<CorsOptions, "origin">): CorsPolicy {
  const { credentials = false, maxAge = 600 } = options;
  if (typeof credentials !== "boolean") throw optionError("cors.credentials", "must be a boolean");
  if (typeof maxAge !== "number" || !Number.isInteger(maxAge) || maxAge < 0) {
    throw optionError("cors.maxAge", `must be a non-negative integer number of seconds, got ${String(maxAge)}`);
  }
  return Object.freeze({
    origin: Object.freeze(origin),
    credentials,
    maxAge,
    methods: options.methods === undefined ? defaultMethods : checkTokens("cors.methods", options.methods, "method"),
    exposedHeaders: options.exposedHeaders === undefined ? noHeaders : checkTokens("cors.exposedHeaders", options.exposedHeaders, "header name"),
    allowedHeaders: options.allowedHeaders === undefined ? undefined : checkTokens("cors.allowedHeaders", options.allowedHeaders, "header name"),
  });
}

/** Drops a default port, so `Host: a.example:80` and `Origin: http://a.example` agree. */
function authority(value: string, scheme: "http" | "https"): string {
  const lower = value.toLowerCase();
  const defaultPort = scheme === "https" ? ":443" : ":80";
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}

function isSameOrigin(origin: string, host: string | undefined, secure: boolean): boolean {
  if (host === undefined || !/^[^\s/?#@]+$/.test(host)) return false;
  const scheme = secure ? "https" : "http";
  const prefix = `${scheme}://`;
  if (origin.slice(0, prefix.length).toLowerCase() !== prefix) return false;
  return authority(origin.slice(prefix.length), scheme) === authority(host, scheme);
}

/** Whether the policy itself (not same-origin) lets `origin` in. */
function ruleAllows(rule: OriginRule, origin: string): boolean {
  switch (rule.kind) {
    case "same-origin":
      return false;
    case "any":
      return true;
    case "list":
      return rule.origins.has(origin);
    case "pattern":
      return rule.pattern.test(origin);
    case "predicate":
      return rule.accepts(origin);
  }
}

/**
 * Whether a request may proceed. No `Origin` header (curl, some same-origin GETs): allowed.
 * An `Origin` equal to `http://` + `Host` (`https://` when `secure`, default ports ignored):
 * allowed whatever the policy. Otherwise the policy decides; `"null"` only passes `true`, a
 * list that has `"null"`, or a RegExp or predicate that accepts it. An `Origin` that is empty
 * or has characters no origin has (CR, LF, spaces, non-ASCII) is always refused.
 * `secure` defaults to false. Throws only what a predicate throws.
 */
export function isOriginAllowed(policy: CorsPolicy, origin: string | undefined, host: string | undefined, secure = false): boolean {
  if (origin === undefined) return true;
  if (!ORIGIN_CHARS.test(origin)) return false;
  return isSameOrigin(origin, host, secure) || ruleAllows(policy.origin, origin);
}

/** `*` can only stand for every origin when no credentials are sent (browsers refuse both). */
function isWildcard(policy: CorsPolicy): boolean {
  return policy.origin.kind === "any" && !policy.credentials;
}

function grantHeaders(policy: CorsPolicy, origin: string): Record<string, string> {
  const headers: Record<string, string> = {};
  headers["access-control-allow-origin"] = isWildcard(policy) ? "*" : origin;
  if (policy.credentials) headers["access-control-allow-credentials"] = "true";
  return headers;
}

/**
 * Headers for an actual (not preflight) response to a cross-origin request the policy allows:
 * `access-control-allow-origin` (`*` for `origin: true` without credentials, else the request's
 * origin), `vary: Origin` whenever that answer depends on the origin, and
 * `access-control-allow-credentials` / `access-control-expose-headers` when configured.
 * An empty object without `Origin` or for an origin the policy refuses. Same-origin requests
 * need no CORS headers, so this takes no `Host`: check {@link isOriginAllowed} first.
 * Throws only what a predicate throws.
 */
export function corsResponseHeaders(policy: CorsPolicy, origin: string | undefined): Record<string, string> {
  if (origin === undefined || !isOriginAllowed(policy, origin, undefined)) return {};
  const headers = grantHeaders(policy, origin);
  if (policy.exposedHeaders.length > 0) headers["access-control-expose-headers"] = policy.exposedHeaders.join(", ");
  if (!isWildcard(policy)) headers["vary"] = "Origin";
  return headers;
}

/** The well-formed names of an `Access-Control-Request-Headers` list; others are dropped, never echoed. */
function requestedHeaders(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => TOKEN.test(name));
}

/**
 * The answer to an `OPTIONS` preflight (`Access-Control-Request-Method` and `-Headers` are
 * passed as their raw values). 403 with no headers when `origin` is refused (see
 * {@link isOriginAllowed}; `secure` defaults to false) or the method is missing or not one of
 * `policy.methods` (compared case-sensitively, as HTTP methods are). Otherwise 204 with
 * allow-origin, allow-methods, max-age, allow-credentials when set, allow-headers (the
 * configured list, or else the well-formed names asked for: the browser then refuses a
 * preflight that did not get every header it needs), and `vary` naming what the answer
 * depends on. Without `Origin` it is no CORS preflight: 204 with no headers.
 * Throws only what a predicate throws.
 */
export function preflightResponse(
  policy: CorsPolicy,
  origin: string | undefined,
  requestMethod: string | undefined,
  requestHeaders: string | undefined,
  host: string | undefined,
  secure = false,
): { status: number; headers: Record<string, string> } {
  if (origin === undefined) return { status: 204, headers: {} };
  if (!isOriginAllowed(policy, origin, host, secure) || requestMethod === undefined || !policy.methods.includes(requestMethod)) {
    return { status: 403, headers: {} };
  }
  const headers = grantHeaders(policy, origin);
  headers["access-control-allow-methods"] = policy.methods.join(", ");
  const vary = isWildcard(policy) ? [] : ["Origin"];
  if (policy.allowedHeaders !== undefined) {
    if (policy.allowedHeaders.length > 0) headers["access-control-allow-headers"] = policy.allowedHeaders.join(", ");
  } else {
    const asked = requestedHeaders(requestHeaders);
    if (asked.length > 0) headers["access-control-allow-headers"] = asked.join(", ");
    vary.push("Access-Control-Request-Headers");
  }
  headers["access-control-max-age"] = String(policy.maxAge);
  if (vary.length > 0) headers["vary"] = vary.join(", ");
  return { status: 204, headers };
}
