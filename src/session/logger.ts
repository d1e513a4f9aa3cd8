/**
 * Where wirechan reports what it cannot hand to anyone: a handler that threw, a request that
 * failed, a value an encoder could not write. `createServer({ logger })` and
 * `connect(url, { logger })` take one, so an operator can route these lines (pino, winston, a
 * test's recorder); the default writes to `console`. Each method gets a sentence saying what
 * happened and, when there is one, the error.
 */
export interface Logger {
  error(message: string, error?: unknown): void;
  warn(message: string, detail?: unknown): void;
}

/** The default {@link Logger}: `console.error` and `console.warn`, each line starting `wirechan:`. */
export const consoleLogger: Logger = {
  error: (message, error) => (error === undefined ? console.error(`wirechan: ${message}`) : console.error(`wirechan: ${message}`, error)),
  warn: (message, detail) => (detail === undefined ? console.warn(`wirechan: ${message}`) : console.warn(`wirechan: ${message}`, detail)),
};
