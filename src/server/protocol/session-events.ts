// What server code hears of its sessions' lives (docs/api.md "Session lifecycle"): a session
// opened, resumed on a new link, or ended and why, as Socket.IO's connection and disconnect
// events and Phoenix's join and terminate give. The table says what happened; this file owns
// the listeners, and keeps a listener that throws away from the table.
import { WirechanRangeError } from "../../csp/errors.js";
import type { Logger } from "../../session/logger.js";
import type { ProtocolError } from "../../wire/protocol-error.js";
import type { SessionInfo } from "./sessions.js";

/**
 * Why a session ended:
 * - `bye`: the client closed it (`session.close()`, or its `shouldReconnect` said no);
 * - `expired`: it had no link for `sessionTtl`;
 * - `link-timeout`: a new session got no link within `linkTimeout`;
 * - `lost`: what it kept for replay could not be kept (`replayMessages`, `replayBytes`,
 *   `replayBudget`) or a resume asked for frames never sent (`ERR_SESSION_LOST`);
 * - `server-closed`: `server.close()`;
 * - `error`: a fatal protocol error, found by the server or reported by the client.
 */
export type SessionEndCode = "bye" | "expired" | "link-timeout" | "lost" | "server-closed" | "error";

/** Why a session ended: a code to switch on and words for a log; `error` when a protocol error ended it. */
export interface SessionEndReason {
  readonly code: SessionEndCode;
  readonly message: string;
  readonly error?: ProtocolError;
}

/**
 * One event of a session's life. Each session has one `open`, then any number of `resume`
 * (a hello that resumed it: a new link after a drop, or a move to WebSocket), then at most one
 * `end`, in that order. With a backplane a session never moves: it stays on the node that
 * made it, and a resume that reached another node is forwarded here; its `via` names that
 * node (null: the client reached this node itself). A client moving between nodes is a
 * `resume` whose `via` changed.
 */
export type SessionEvent =
  | { readonly type: "open"; readonly session: SessionInfo }
  | { readonly type: "resume"; readonly session: SessionInfo; readonly via: string | null }
  | { readonly type: "end"; readonly session: SessionInfo; readonly reason: SessionEndReason };

/** Called with each {@link SessionEvent}, synchronously, as it happens. What it throws (or its promise rejects with) goes to the server's `logger`. */
export type SessionListener = (event: SessionEvent) => void | Promise<void>;

/** Listeners one server holds at most: more is a leak (a listener added per request), not a design. */
export const MAX_SESSION_LISTENERS = 1_000;

/** What the session table tells of each session's life. */
export interface SessionObserver {
  opened(session: SessionInfo): void;
  resumed(session: SessionInfo, via: string | null): void;
  ended(session: SessionInfo, reason: SessionEndReason): void;
}

/** The why of a session a protocol error ended. */
export function endReasonOf(error: ProtocolError): SessionEndReason {
  const code: SessionEndCode = error.code === "ERR_SESSION_LOST" ? "lost" : error.code === "ERR_SERVER_CLOSED" ? "server-closed" : "error";
  return { code, message: `${error.code}: ${error.message}`, error };
}

/** One server's session listeners, each called in the order added. */
export class SessionEvents {
  readonly #listeners = new Set<SessionListener>();

  constructor(private readonly logger: Logger) {}

  /**
   * Adds `listener`; returns the function that removes it. Throws a `RangeError`
   * (`ERR_TOO_MANY_LISTENERS`) past {@link MAX_SESSION_LISTENERS}.
   */
  add(listener: SessionListener): () => void {
    if (!this.#listeners.has(listener) && this.#listeners.size >= MAX_SESSION_LISTENERS) {
      throw new WirechanRangeError("ERR_TOO_MANY_LISTENERS", `a server takes at most ${MAX_SESSION_LISTENERS} session listeners; remove the ones no longer needed`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(event: SessionEvent): void {
    // A copy: a listener may remove itself, or add another, while the event goes round.
    for (const listener of [...this.#listeners]) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch(this.#rejected(event));
      } catch (error) {
        this.#report(event, error);
      }
    }
  }

  #rejected(event: SessionEvent): (error: unknown) => void {
    return (error) => this.#report(event, error);
  }

  #report(event: SessionEvent, error: unknown): void {
    // Never rethrown: the table is mid-change (a session half ended), and other listeners wait.
    this.logger.error(`a session listener threw on "${event.type}" of session ${event.session.id}:`, error);
  }
}
