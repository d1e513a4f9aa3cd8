/**
 * The chat page's list of lines: each line once (by id), with its time and nickname, its text
 * set as textContent only (a line of HTML shows as written and runs nothing).
 */
import type { ChatLine } from "./chat-messages.js";

/** A reader this close to the bottom (px) is following the conversation: new lines keep it there. */
const FOLLOW_SLACK_PX = 48;

export class LineList {
  private readonly seen = new Set<string>();
  private readonly time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  /** `list` holds the lines; `scroller` is the element that scrolls them. */
  constructor(
    private readonly list: HTMLOListElement,
    private readonly scroller: HTMLElement,
  ) {}

  /**
   * Empties the list before a history is loaded again (a new join). The list is busy until
   * {@link loaded}: a screen reader announces the new lines of a live log, not a whole history.
   */
  clear(): void {
    this.seen.clear();
    this.list.replaceChildren();
    this.list.setAttribute("aria-busy", "true");
  }

  /** The history is in: new lines are announced again. */
  loaded(): void {
    this.list.setAttribute("aria-busy", "false");
  }

  /** Shows `line` unless its id is shown already. */
  add(line: ChatLine): void {
    if (this.seen.has(line.id)) return;
    this.seen.add(line.id);
    const following = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < FOLLOW_SLACK_PX;
    this.list.append(lineItem(line, this.time));
    if (following) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}

function lineItem(line: ChatLine, format: Intl.DateTimeFormat): HTMLLIElement {
  const item = document.createElement("li");
  item.dataset.id = line.id;
  const when = new Date(line.ts);
  const time = document.createElement("time");
  time.dateTime = when.toISOString();
  time.textContent = format.format(when);
  const nick = document.createElement("span");
  nick.className = "nick";
  nick.textContent = line.nick;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = line.text;
  item.append(time, " ", nick, " ", text);
  return item;
}
