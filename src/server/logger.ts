/** Where the server reports what happens. Any object with these methods fits, `console` included. */
export interface Logger {
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

const ignore = (): void => undefined;

/** A logger that drops everything, for tests and embedding. */
export const silentLogger: Logger = { info: ignore, warn: ignore, error: ignore };
