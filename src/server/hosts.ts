// DNS rebinding protection: which `Host` a request that reached a loopback address may name.
// Pure: the option in, a policy out; a header and an address in, a yes or no out.
//
// A page of `http://evil.example:P` whose DNS answer is switched to 127.0.0.1 after it loaded
// talks to a server on this machine as its own origin: the browser sends `Host:
// evil.example:P`, and `Origin` (when it sends one at all) says the same, so the same-origin
// check passes. What it cannot change is the name in `Host`. So a request that arrived on a
// loopback address must name the machine itself (`localhost`, `*.localhost`, an IP literal)
// or a host the server was told about, as Vite's `server.allowedHosts` and webpack-dev-server's
// `allowedHosts` do.
//
// Requests on other addresses pass whatever their `Host` while `allowedHosts` is empty: such a
// server is reached through names (DNS, a proxy) this library cannot know, and on a public
// address the page's author can send the same requests from their own machine, so the check
// would break deployments and protect nothing. A server on a private network address can be
// rebound from browsers on that network: listing its names in `allowedHosts` makes the check
// apply on every address, as a user who lists the names expects.
import { isIP } from "node:net";
import { WirechanTypeError } from "../csp/errors.js";

/** `ServerOptions.allowedHosts`: `true` for any, or names (`"app.example"`; `".example.com"` for it and every subdomain). */
export type AllowedHosts = true | readonly string[];

/** `allowedHosts` checked and normalised. Build one with {@link resolveAllowedHosts}. */
export interface HostPolicy {
  /** `allowedHosts: true`: no check at all. */
  readonly any: boolean;
  /** Exact names, lowercase, without a trailing dot. */
  readonly names: ReadonlySet<string>;
  /** From `.example.com` entries: `example.com` itself is in `names`, `.example.com` here matches its subdomains. */
  readonly suffixes: readonly string[];
}

/** What a host name (or an entry naming one) may be made of, once lowercased: DNS labels, punycode included. */
const HOST_NAME = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$/;
/** The longest name DNS allows. */
const MAX_HOST_NAME = 253;

function optionError(name: string, message: string): WirechanTypeError {
  return new WirechanTypeError("ERR_SERVER_OPTION", `server option ${name} ${message}`);
}

/** Lowercase, without the trailing dot of a fully qualified name (`localhost.` is `localhost`). */
function normalise(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

/**
 * Checks and normalises `allowedHosts`. `undefined` is the default, `[]`: only loopback names
 * and IP literals on a loopback address. Throws a `TypeError` (`ERR_SERVER_OPTION`) naming the
 * entry for anything but `true` or an array of host names without scheme or port
 * (`"app.example"`, `".example.com"`).
 */
export function resolveAllowedHosts(option: unknown): HostPolicy {
  if (option === true) return Object.freeze({ any: true, names: new Set<string>(), suffixes: [] });
  if (option === undefined) return Object.freeze({ any: false, names: new Set<string>(), suffixes: [] });
  if (!Array.isArray(option)) {
    throw optionError("allowedHosts", `must be true or an array of host names, got ${option === null ? "null" : typeof option}`);
  }
  const names = new Set<string>();
  const suffixes: string[] = [];
  option.forEach((entry: unknown, i) => {
    const name = `allowedHosts[${i}]`;
    if (typeof entry !== "string") throw optionError(name, `must be a host name string, got ${typeof entry}`);
    const wildcard = entry.startsWith(".");
    const host = normalise(wildcard ? entry.slice(1) : entry);
    if (host.length === 0 || host.length > MAX_HOST_NAME || !HOST_NAME.test(host)) {
      throw optionError(name, `must be a host name without scheme or port, such as "app.example" (or ".example.com" for it and its subdomains); got ${JSON.stringify(entry)}`);
    }
    names.add(host);
    if (wildcard) suffixes.push(`.${host}`);
  });
  return Object.freeze({ any: false, names, suffixes: Object.freeze(suffixes) });
}

/** Whether a socket's local address is a loopback one: 127.0.0.0/8, `::1`, or 127.x mapped into IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const lower = address.toLowerCase();
  return lower.startsWith("127.") || lower === "::1" || lower.startsWith("::ffff:127.");
}

/**
 * The host of a `Host` header: `{ ip: true }` for an IP literal (`127.0.0.1`, `[::1]`, with
 * or without a port), else the name, lowercase and without its trailing dot; null when the
 * header is no host at all.
 */
export function hostOf(header: string): { ip: true } | { ip: false; name: string } | null {
  if (header.startsWith("[")) {
    const close = header.indexOf("]");
    const rest = header.slice(close + 1);
    if (close === -1 || (rest !== "" && !/^:\d{1,5}$/.test(rest))) return null;
    return isIP(header.slice(1, close)) === 6 ? { ip: true } : null;
  }
  const colon = header.indexOf(":");
  if (colon !== -1 && !/^\d{1,5}$/.test(header.slice(colon + 1))) return null;
  const name = normalise(colon === -1 ? header : header.slice(0, colon));
  if (isIP(name) === 4) return { ip: true };
  if (name.length === 0 || name.length > MAX_HOST_NAME || !HOST_NAME.test(name)) return null;
  return { ip: false, name };
}

/** Names that always mean this machine: `localhost` and, by RFC 6761, every name under it. */
function isLoopbackName(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost");
}

/**
 * Whether a request may proceed, given its `Host` header and the local address of its socket
 * (`req.socket.localAddress`, or a function that reads it). Without `Host` (HTTP/1.0) or with an
 * empty one: yes. On a loopback address, or on any address once the policy names hosts: only
 * `localhost`, `*.localhost`, an IP literal or a name of the policy; a `Host` that is no host
 * at all is refused. Otherwise (no names, an address that is not loopback): yes. The address is
 * read only when the answer depends on it: node keeps the object it reads it into for as long
 * as the socket lives (an idle WebSocket's, hours), where most hosts are answered without it.
 */
export function isHostAllowed(policy: HostPolicy, host: string | undefined, localAddress: string | undefined | (() => string | undefined)): boolean {
  if (policy.any || host === undefined || host === "") return true;
  const parsed = hostOf(host);
  if (parsed !== null && (parsed.ip || isLoopbackName(parsed.name) || policy.names.has(parsed.name) || policy.suffixes.some((suffix) => parsed.name.endsWith(suffix)))) return true;
  // Refused by the strict check, which applies on a loopback address or once the policy names hosts.
  if (policy.names.size > 0) return false;
  return !isLoopbackAddress(typeof localAddress === "function" ? localAddress() : localAddress);
}
