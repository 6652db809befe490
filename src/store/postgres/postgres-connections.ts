/**
 * The connections of PostgreSQL records: a `pg.Pool` (loaded when the records open), so a
 * connection the server ends (a restart) is replaced by the next query, with whether the database
 * answers now for `/health`.
 */
import type { Pool } from 'pg';
import type { StoreHealth } from '../../core/ports';

/** How long a new connection may take before its query fails, in ms. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How often the database is asked whether it answers when no query did lately, in ms. */
const CHECK_MS = 2_000;

/**
 * Whether `error` says the connection went away (the server restarted or ended it, or cannot be
 * reached) rather than that the query was wrong: SQLSTATE class 08, 57P01 to 57P03, a socket's
 * error, or pg's own (no code: "Connection terminated unexpectedly").
 */
function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === undefined) return true;
  return typeof code === 'string' && (/^(08|57P0[123])/.test(code) || /^E[A-Z]+$/.test(code));
}

/** Queries over a pool of connections to one database (see {@link postgresConnections}). */
export interface PostgresConnections {
  /** Runs one query (again on another connection if its connection had been ended: each query given here may run twice). */
  readonly run: <R>(text: string, values: unknown[]) => Promise<R[]>;
  /** `unavailable` from a query that failed for want of a connection until one succeeds. */
  health(): StoreHealth;
  /** Lets go of the database once the queries sent are answered. */
  close(): Promise<void>;
}

/**
 * Opens a pool of at most `maxConnections` connections to `url`, running `setup` (one query
 * string: one connection's, so a `BEGIN..COMMIT` in it is not split) before the first query, and
 * again before the next one when it failed (a database not up yet when the process started).
 */
export function postgresConnections(options: {
  readonly url: string;
  readonly maxConnections: number;
  readonly setup: string;
}): PostgresConnections {
  const { maxConnections } = options;
  let status: StoreHealth = 'ok';
  let answeredAt = 0;
  let closed = false;

  const opened: Promise<Pool> = import('pg').then(({ default: pg }) => {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: maxConnections,
      // A server that cannot be reached fails the query instead of holding it for the OS's TCP timeout.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // An idle connection the server ends (a restart) is dropped by the pool, and the next query
    // gets a new one; unheard, its 'error' would crash the process. Is the server back already?
    pool.on('error', () => void check());
    return pool;
  });

  /** The pool once `setup` ran (a pool drops a connection whose query failed: a failed transaction does not linger). */
  let ready: Promise<Pool> | undefined;
  const setUp = (): Promise<Pool> => {
    ready ??= opened.then(async (pool) => {
      await pool.query(options.setup);
      return pool;
    });
    ready.catch(() => (ready = undefined));
    return ready;
  };

  const unavailable = (): void => {
    status = 'unavailable';
  };

  /**
   * Connections the server ended while idle (a restart) fail the queries they are given before
   * the pool hears of it: such a query runs again on another; one that failed on a new connection
   * does not (the server does not answer).
   */
  const run = async <R>(text: string, values: unknown[]): Promise<R[]> => {
    const pool = await setUp().catch((error: unknown) => {
      if (connectionLost(error)) unavailable();
      throw error;
    });
    for (let attempt = 0; ; attempt++) {
      const reused = pool.idleCount > 0;
      try {
        const { rows } = await pool.query(text, values);
        status = 'ok';
        answeredAt = Date.now();
        return rows as R[];
      } catch (error) {
        if (!connectionLost(error)) throw error;
        if (!reused || closed || attempt >= maxConnections) {
          unavailable();
          throw error;
        }
      }
    }
  };

  /**
   * Whether the database answers now, for `/health`: asked when no query answered for `CHECK_MS`
   * (so an outage shows while nobody writes) and while it does not answer (so its return shows).
   */
  let checking = false;
  const check = async (): Promise<void> => {
    if (closed || checking) return;
    checking = true;
    await run('SELECT 1', []).catch(unavailable);
    checking = false;
  };
  const watch = setInterval(() => {
    if (status !== 'ok' || Date.now() - answeredAt >= CHECK_MS) void check();
  }, CHECK_MS);
  watch.unref();
  void check();

  return {
    run,
    health: () => status,
    close: async () => {
      closed = true;
      clearInterval(watch);
      const pool = await opened.catch(() => undefined);
      await pool?.end();
    },
  };
}
