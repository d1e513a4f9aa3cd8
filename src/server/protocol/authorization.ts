// The `authorize` option (docs/api.md "Options"): whether a session's principal may put to a named
// server channel, or subscribe to a topic. Asked on every put and every subscribe, after a
// resume as before it; a refusal is `ERR_FORBIDDEN` (docs/protocol.md section 5), not fatal.
import type { Logger } from "../../session/logger.js";
import { ProtocolError } from "../../wire/protocol-error.js";
import type { NameResolver, SessionInfo } from "./sessions.js";

/**
 * What a session asks to do with a name: `put` a value to a named server channel, or
 * `subscribe` one of its channels to a topic. Unsubscribing is always allowed (it only takes
 * away), and a put on a topic's name is a request, checked as `subscribe` by the topic instead.
 */
export type AuthorizeOp = "put" | "subscribe";

/**
 * The `authorize` option: `true` allows. Runs synchronously on the put's way in, so it cannot
 * wait: anything but `true` (`false`, a promise, a throw) refuses, and a throw or a value that
 * is not a boolean is reported to the `logger`.
 */
export type Authorize = (principal: unknown, name: string, op: AuthorizeOp, session: SessionInfo) => boolean;

/** Asks `authorize`, turning a throw or an answer that is not a boolean into a logged refusal. */
export type Authorizer = (session: SessionInfo, name: string, op: AuthorizeOp) => boolean;

/** The {@link Authorizer} over one server's `authorize` option. */
export function authorizer(authorize: Authorize, logger: Logger): Authorizer {
  return function askAuthorize(session, name, op) {
    let answer: unknown;
    try {
      answer = authorize(session.principal, name, op, session);
    } catch (error) {
      // A bug in the hook must not open the door, nor break the session that asked.
      logger.error(`authorize threw on ${op} ${JSON.stringify(name)} by session ${session.id}; refused:`, error);
      return false;
    }
    if (typeof answer !== "boolean") {
      logger.error(`authorize returned ${answer instanceof Promise ? "a promise" : typeof answer} on ${op} ${JSON.stringify(name)}, not a boolean; refused (it runs synchronously)`);
      return false;
    }
    return answer;
  };
}

/** The refusal a client hears for a put `authorize` refused. */
export function forbidden(name: string, op: AuthorizeOp): ProtocolError {
  return new ProtocolError("ERR_FORBIDDEN", `not allowed to ${op} ${op === "put" ? "to" : "on"} ${JSON.stringify(name.slice(0, 64))} (authorize)`, false);
}

/**
 * `resolve`, asking `allowed` for each put to a name that exists and is not a topic's
 * (`isTopic`): a topic checks its subscribes itself. An unknown name stays unknown, so that a
 * refusal does not tell which names exist either way.
 */
export function authorizedResolver(resolve: NameResolver, isTopic: (name: string) => boolean, allowed: Authorizer): NameResolver {
  return function resolveAuthorized(name, session) {
    const target = resolve(name, session);
    if (target === undefined || target instanceof ProtocolError || isTopic(name)) return target;
    return allowed(session, name, "put") ? target : forbidden(name, "put");
  };
}
