// A Logger for tests: keeps every line it is given, errors and warnings alike, in order.
import type { Logger } from "../../src/session/logger.js";

export class RecordingLogger implements Logger {
  readonly lines: Array<{ message: string; detail: unknown }> = [];

  error(message: string, error?: unknown): void {
    this.lines.push({ message, detail: error });
  }

  warn(message: string, detail?: unknown): void {
    this.lines.push({ message, detail });
  }
}
