/**
 * Which inboxes each session has sent (a chat's joins, a dashboard's watches), bounded per
 * session: a page reads only the inbox of its latest request, so when a session sends one more
 * than `perSession`, its oldest is the one to let go. Without the bound one session could fill
 * a room by sending inboxes in a loop.
 */
export class SessionInboxes<Inbox> {
  /** Sets keep insertion order: the first of a session's set is its oldest. */
  private readonly bySession = new Map<string, Set<Inbox>>();
  private readonly sessionOf = new Map<Inbox, string>();

  constructor(private readonly perSession: number) {
    if (!Number.isInteger(perSession) || perSession < 1) throw new RangeError(`SessionInboxes: perSession must be a positive integer, got ${String(perSession)}`);
  }

  /** The inbox `session` should give up before it adds another, if it is at its bound. */
  oldestOver(session: string): Inbox | undefined {
    const inboxes = this.bySession.get(session);
    return inboxes !== undefined && inboxes.size >= this.perSession ? inboxes.values().next().value : undefined;
  }

  add(session: string, inbox: Inbox): void {
    const inboxes = this.bySession.get(session) ?? new Set<Inbox>();
    inboxes.add(inbox);
    this.bySession.set(session, inboxes);
    this.sessionOf.set(inbox, session);
  }

  /** Forgets `inbox` (it left, or was let go). */
  remove(inbox: Inbox): void {
    const session = this.sessionOf.get(inbox);
    if (session === undefined) return;
    this.sessionOf.delete(inbox);
    const inboxes = this.bySession.get(session);
    inboxes?.delete(inbox);
    if (inboxes?.size === 0) this.bySession.delete(session);
  }

  /** The inboxes `session` has now, oldest first. */
  of(session: string): ReadonlySet<Inbox> {
    return this.bySession.get(session) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<never> = new Set<never>();
