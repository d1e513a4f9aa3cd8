/**
 * A warning about junk from clients, logged the first time and then once in `every`: a client
 * sending junk in a loop must not be able to flood the server's log.
 */
import type { Logger } from "../../src/server/index.js";

export class ThrottledWarning {
  private count = 0;

  constructor(
    private readonly logger: Logger,
    /** What is ignored, e.g. "chat: ignored a request". */
    private readonly what: string,
    private readonly every = 1000,
  ) {}

  /** How many were noted so far. */
  get noted(): number {
    return this.count;
  }

  note(why: string): void {
    if (this.count++ % this.every === 0) this.logger.warn(`${this.what} (${why}); ${this.count} so far`);
  }
}
