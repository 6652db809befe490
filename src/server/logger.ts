/**
 * Logging: llm-ws calls its logger the way pino does, `log.warn(fields, message)` or
 * `log.warn(message)`, always as method calls, so pino, a pino child, bunyan-style loggers and
 * `console` all fit. Errors travel under the `err` key, where pino's serializer keeps the stack.
 */

import { childLogger, silentLogger } from '../core/logger';
import type { LogFn, Logger } from '../core/ports';

export type { LogFn, Logger } from '../core/ports';
export { childLogger, silentLogger };

/** Levels of {@link consoleLogger}, from the most verbose. `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The level of the default console logger. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: Infinity };

const ignore = (): void => undefined;

/** Settings of {@link consoleLogger}. */
export interface ConsoleLoggerOptions {
  /** The least severe level written. @default DEFAULT_LOG_LEVEL */
  readonly level?: LogLevel;
  /** Fields on every line, as a pino child's bindings. @default {} */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? (/\s/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
}

/**
 * The default logger: one line per event on `console` (errors and warnings on stderr), as
 * `[llm-ws] message key=value ...`, with an attached `err` printed by console (stack included).
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const threshold = levelRank[options.level ?? DEFAULT_LOG_LEVEL];
  const bindings = options.bindings ?? {};
  const at = (level: Exclude<LogLevel, 'silent'>, write: (...args: unknown[]) => void): LogFn => {
    if (levelRank[level] < threshold) return ignore;
    return (first: object | string, message?: string): void => {
      const { err, ...fields } = { ...bindings, ...(typeof first === 'string' ? {} : first) } as Record<
        string,
        unknown
      >;
      const text = typeof first === 'string' ? first : (message ?? '');
      const pairs = Object.entries(fields)
        .map(([key, value]) => ` ${key}=${describe(value)}`)
        .join('');
      const line = `[llm-ws] ${text}${pairs}`;
      if (err === undefined) write(line);
      else write(line, err);
    };
  };
  return {
    // Bound to `console` now, so a user's later swap of console.error is not ours to follow.
    error: at('error', (...args) => console.error(...args)),
    warn: at('warn', (...args) => console.warn(...args)),
    info: at('info', (...args) => console.info(...args)),
    debug: at('debug', (...args) => console.debug(...args)),
    child: (more) => consoleLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}

/** The logger a server uses for its `logger` option: `console` itself (or none) becomes {@link consoleLogger}. */
export function resolveLogger(logger: Logger | undefined): Logger {
  return logger === undefined || logger === (console as unknown) ? consoleLogger() : logger;
}
