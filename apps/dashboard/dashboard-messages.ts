/** The dashboard's messages, as docs/apps.md sets them down ("Dashboard: the messages"). */
import type { Listener } from "../../src/server/fan-out.js";
import type { Reading } from "./readings.js";

export type { Reading } from "./readings.js";

/** What a watching page's inbox gets. */
export type DashboardEvent =
  /** On watch: the last five minutes. */
  | { history: Reading[] }
  /** Every interval, with the viewers watching now. */
  | { reading: Reading; viewers: number }
  /** When a viewer comes or goes. */
  | { viewers: number }
  /** The last event of an inbox the server dropped (it fell too far behind): close it and watch again. */
  | { dropped: { reason: string } };

/** A page's inbox: the proxy of its own channel, or a local channel. */
export type DashboardInbox = Listener<DashboardEvent>;

/** What a page puts on "dashboard". */
export interface DashboardRequest {
  watch: DashboardInbox;
}

/** Whether a value put on "dashboard" is a watch request; anything else is ignored. */
export function isDashboardRequest(value: unknown): value is DashboardRequest {
  if (typeof value !== "object" || value === null) return false;
  const watch = (value as { watch?: unknown }).watch;
  if (typeof watch !== "object" || watch === null) return false;
  const inbox = watch as { put?: unknown; close?: unknown };
  return typeof inbox.put === "function" && typeof inbox.close === "function";
}
