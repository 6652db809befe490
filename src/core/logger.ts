/**
 * The logger helpers the core uses itself; the console logger and `resolveLogger` belong to the
 * Node facade (`server/logger.ts`).
 */
import type { LogFn, Logger } from './ports';

const ignore = (): void => undefined;

/** A logger that drops everything, for tests and embedding. */
export const silentLogger: Logger = {
  error: ignore,
  warn: ignore,
  info: ignore,
  debug: ignore,
  child: () => silentLogger,
};

/**
 * `logger` with `bindings` on every line: its own `child` when it has one (pino), else a wrapper
 * that merges them into the fields.
 */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (typeof logger.child === 'function') return logger.child(bindings);
  const wrap =
    (level: 'error' | 'warn' | 'info' | 'debug'): LogFn =>
    (first: object | string, message?: string): void => {
      const fields = typeof first === 'string' ? bindings : { ...bindings, ...first };
      const text = typeof first === 'string' ? first : message;
      logger[level]?.(fields, text);
    };
  return {
    error: wrap('error'),
    warn: wrap('warn'),
    info: wrap('info'),
    debug: wrap('debug'),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}
