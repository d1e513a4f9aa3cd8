// Whether the server takes a request at all: the one check in front of every route, plain HTTP
// and WebSocket upgrades alike, and the refusal it answers with.
import type { IncomingMessage } from "node:http";
import type { ProtocolErrorCode } from "../csp/errors.js";
import { ProtocolError } from "../wire/protocol-error.js";
import type { ResponseParts } from "./connection.js";
import { type CorsPolicy, isOriginAllowed } from "./cors.js";
import { protocolRefusal } from "./error-response.js";
import { type HostPolicy, isHostAllowed } from "./hosts.js";
import type { ResolvedServerOptions } from "./options.js";
import { isUnderPath, pathOf } from "./request.js";

/** What the check needs to know of the server at the moment it runs. */
export interface AdmissionState {
  /** `close()` has begun. */
  readonly closing: boolean;
  /** Open connections plus requests being handled: what `maxConnections` bounds. */
  readonly inUse: number;
}

/**
 * When the check runs: `"request"` before any handler (and before a preflight is answered);
 * `"takeover"` when a handler's `withChannel` is about to open a connection. Then only what can
 * have changed since is checked, a close begun meanwhile: the headers are the same, and the
 * handler held its slot toward `maxConnections` all along.
 */
export type AdmissionStage = "request" | "takeover";

type RefusalCode = Extract<ProtocolErrorCode, "ERR_SERVER_CLOSED" | "ERR_HOST" | "ERR_ORIGIN" | "ERR_TOO_MANY_CONNECTIONS">;

/** The refusals of the server in front of every route, by code. */
interface Refusal {
  readonly code: RefusalCode;
  readonly status: number;
  readonly message: string;
  /** Whether the client is told when to try again (`Retry-After`). */
  readonly retry: boolean;
}

/** How long an attacker-chosen header may get in a refusal's message. */
const MAX_ECHOED = 100;

/**
 * The admission check of one server. `check` answers null to let a request in, or the response
 * that refuses it, in this order: shutting down (503, `ERR_SERVER_CLOSED`), a `Host` that
 * `allowedHosts` does not allow (403, `ERR_HOST`, see hosts.ts), an origin the `cors` policy refuses
 * (403, `ERR_ORIGIN`), `maxConnections` reached (503, `ERR_TOO_MANY_CONNECTIONS`). Both 503s
 * carry `Retry-After: retryAfter`. A request under the protocol's `path` gets an error packet,
 * so that a client reads the reason; any other request plain text.
 */
export class Admission {
  constructor(
    private readonly options: Pick<ResolvedServerOptions, "maxConnections" | "retryAfter" | "path">,
    private readonly cors: CorsPolicy,
    private readonly hosts: HostPolicy,
  ) {}

  /** Null to go on, or the refusal to answer with. Throws only what a `cors` predicate throws. */
  check(raw: IncomingMessage, state: AdmissionState, stage: AdmissionStage): ResponseParts | null {
    const refusal = this.refusalOf(raw, state, stage);
    return refusal === null ? null : this.response(raw, refusal);
  }

  private refusalOf(raw: IncomingMessage, state: AdmissionState, stage: AdmissionStage): Refusal | null {
    if (state.closing) return { code: "ERR_SERVER_CLOSED", status: 503, message: "server shutting down", retry: true };
    if (stage === "takeover") return null;
    const { host, origin } = raw.headers;
    if (!isHostAllowed(this.hosts, host, () => raw.socket.localAddress)) {
      return {
        code: "ERR_HOST",
        status: 403,
        message: `host ${JSON.stringify(String(host).slice(0, MAX_ECHOED))} not allowed (DNS rebinding protection); add it to the server option allowedHosts`,
        retry: false,
      };
    }
    if (!isOriginAllowed(this.cors, origin, host, isSecure(raw))) {
      return { code: "ERR_ORIGIN", status: 403, message: "origin not allowed (see the server option cors)", retry: false };
    }
    if (state.inUse >= this.options.maxConnections) {
      return {
        code: "ERR_TOO_MANY_CONNECTIONS",
        status: 503,
        message: `too many connections (maxConnections is ${this.options.maxConnections})`,
        retry: true,
      };
    }
    return null;
  }

  private response(raw: IncomingMessage, refusal: Refusal): ResponseParts {
    const headers: Record<string, string> = refusal.retry ? { "retry-after": String(this.options.retryAfter) } : {};
    if (isUnderPath(pathOf(raw.url ?? "/"), this.options.path)) {
      return protocolRefusal(new ProtocolError(refusal.code, refusal.message), refusal.status, headers);
    }
    return { status: refusal.status, headers, body: refusal.message };
  }
}

/** Whether the request came over TLS (an https server), for same-origin checks. */
export function isSecure(raw: IncomingMessage): boolean {
  return (raw.socket as { encrypted?: boolean }).encrypted === true;
}
