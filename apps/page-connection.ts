/**
 * What both pages (chat and dashboard) do with their session: show it in a status line, and
 * stay connected. A session that is `lost` (the server restarted, or forgot it) cannot come
 * back, so the page connects afresh by itself and hands the new session to the app, which
 * joins again. Browser code: built into /chat.js and /dashboard.js, with the client external.
 */
import { connect, type ConnectOptions, type Session, type SessionState, type TransportName } from "/wirechan/client.js";

/** The words the status line uses for a session's state (docs/apps.md: connecting, connected, reconnecting, lost). */
const STATE_WORDS: Readonly<Record<SessionState, string>> = {
  connecting: "connecting",
  open: "connected",
  reconnecting: "reconnecting",
  lost: "lost",
  closed: "closed",
};

/**
 * The status line: an `aria-live` region reading "websocket · connected". Its `data-state`
 * and `data-transport` attributes carry the same words for styles (and tests).
 */
export class StatusLine {
  private transport: TransportName | null = null;

  constructor(private readonly element: HTMLElement) {}

  /** Shows `state`, the transport of `session` when it has a link (else the last one known), and an optional detail. */
  show(state: SessionState, session: Session | null, detail = ""): void {
    this.transport = session?.transport ?? this.transport;
    const word = STATE_WORDS[state];
    const parts = [this.transport ?? "no transport yet", word];
    const text = parts.join(" · ") + (detail === "" ? "" : ` (${detail})`);
    if (this.element.textContent !== text) this.element.textContent = text;
    if (this.element.dataset.state !== word) this.element.dataset.state = word;
    const transport = this.transport ?? "";
    if (this.element.dataset.transport !== transport) this.element.dataset.transport = transport;
  }
}

export interface KeepConnectedOptions {
  status: StatusLine;
  /** Called with each new session, once it is open: join, watch, make proxies. */
  ready: (session: Session) => void;
  /**
   * Called when a session ends, lost (before the page connects afresh) or closed as the page was
   * hidden (it connects again if the back/forward cache brings it back): drop what belonged to it.
   */
  ended?: (session: Session) => void;
  connect?: ConnectOptions;
}

/** Waits between failed first connects: 0.5 s, doubling, at most 5 s. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5_000;
/**
 * The session may move to another transport without a change of state (the client's upgrade
 * probe from SSE or long-polling to WebSocket), so the status line also looks now and then.
 */
const REFRESH_MS = 1_000;

/**
 * Connects to the page's own server and keeps a session: on `lost`, or when the page comes back
 * from the back/forward cache, connects afresh (with growing waits while the server is away)
 * and calls `ready` again. A page stays connected for as long as it is open.
 */
export function keepConnected(options: KeepConnectedOptions): void {
  let current: Session | null = null;
  /** A connect loop is running: a second one (a pageshow meanwhile) would make two sessions. */
  let starting = false;

  /** Connects, trying again until it works; the status line says `waiting` between tries. */
  const start = async (waiting: "connecting" | "lost"): Promise<void> => {
    if (starting) return;
    starting = true;
    let wait = RETRY_FIRST_MS;
    let session: Session;
    for (;;) {
      if (waiting === "connecting") options.status.show("connecting", null);
      try {
        session = await connect(location.origin, options.connect);
        break;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        options.status.show(waiting, null, `trying again: ${shorten(reason)}`);
        await sleep(wait);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    }
    starting = false;
    current = session;
    session.onState(({ state }) => {
      if (session !== current) return;
      options.status.show(state, session, state === "lost" ? "connecting afresh" : "");
      if (state !== "lost" && state !== "closed") return;
      options.ended?.(session);
      if (state === "lost") void start("lost");
    });
    options.status.show(session.state, session);
    options.ready(session);
  };

  setInterval(() => {
    if (current?.state === "open") options.status.show("open", current);
  }, REFRESH_MS);
  // The client closes its session on pagehide (its closeOnPageHide option), also when the page
  // goes into the back/forward cache; brought back, the page connects again.
  addEventListener("pageshow", (event) => {
    if (event.persisted && current?.state === "closed") void start("connecting");
  });
  void start("connecting");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A transport error lists every transport's failure; the status line shows the start of it. */
function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
