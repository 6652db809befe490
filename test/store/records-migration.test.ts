/**
 * A database an earlier version of llm-ws made (its sessions table without `usage_total`) still
 * opens in the SQL stores: the column is added, its conversations list without usage, and a
 * usage total written afterwards is listed and read back. SQLite's frames, kept by an earlier
 * version in `llmws_frames`, move to `llmws_frame_log` and are still served.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionRecords } from '../../src/core/ports';
import { dropPostgresRecords, postgresRecords } from '../../src/store/postgres';
import { sqliteRecords } from '../../src/store/sqlite';
import { openDatabase } from '../../src/store/sqlite/node-sqlite';
import { principalKey } from '../../src/util/same-principal';

/** The PostgreSQL of the tests (trust auth). */
const TEST_POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The sessions table as the version before the usage totals made it. */
const oldSessionsTable = (name: string): string => `CREATE TABLE ${name} (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  principal TEXT NOT NULL,
  principal_key TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  title TEXT,
  auto_title TEXT NOT NULL DEFAULT '',
  message_count INTEGER NOT NULL DEFAULT 0,
  history TEXT NOT NULL DEFAULT '[]',
  busy_request TEXT,
  busy_from BIGINT,
  last_seq BIGINT NOT NULL DEFAULT 0,
  request_ids TEXT NOT NULL DEFAULT '[]'
)`;

/** One conversation of the anonymous principal, as the earlier version wrote it. */
const oldRow = (name: string): string => `INSERT INTO ${name} (id, token_hash, principal, principal_key, created_at,
  updated_at, auto_title, message_count, history) VALUES ('old', 'hash', 'null', '${principalKey(undefined)}', 1, 2,
  'An old question', 2, '[{"role":"user","content":"An old question"},{"role":"assistant","content":"An answer"}]')`;

const usage = { promptTokens: 12, completionTokens: 30, totalTokens: 42, reasoningTokens: 10, cachedTokens: 4 };

/** What both SQL stores must do with the earlier version's row. */
async function expectMigrated(records: SessionRecords): Promise<void> {
  const before = { id: 'old', title: 'An old question', createdAt: 1, updatedAt: 2, messageCount: 2 };
  expect((await records.list(undefined, { limit: 10 })).conversations).toEqual([before]);
  expect((await records.read('old'))?.meta.usage).toBeUndefined();
  await records.writeUsage?.('old', usage);
  expect((await records.list(undefined, { limit: 10 })).conversations).toEqual([{ ...before, usage }]);
  expect((await records.read('old'))?.meta.usage).toEqual(usage);
}

describe('SQL session records opened on an earlier version’s database', () => {
  it('SQLite adds the usage total column and moves the frames to the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-ws-migration-'));
    const path = join(dir, 'old.sqlite');
    try {
      const db = openDatabase(path);
      db.exec(oldSessionsTable('llmws_sessions'));
      db.exec(oldRow('llmws_sessions'));
      db.exec(`CREATE TABLE llmws_frames (session_id TEXT NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)) WITHOUT ROWID`);
      db.exec(`INSERT INTO llmws_frames VALUES ('old', 3, 'three'), ('old', 4, 'four'), ('old', 5, 'five')`);
      db.close();
      const records = sqliteRecords({ path });
      try {
        await expectMigrated(records);
        expect((await records.read('old'))?.lastSeq).toBe(5);
        expect(await records.framesAfter('old', 3)).toEqual({
          frames: [
            { seq: 4, text: 'four' },
            { seq: 5, text: 'five' },
          ],
        });
        const check = openDatabase(path);
        try {
          expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'llmws_frames'").get()).toBeUndefined();
        } finally {
          check.close();
        }
      } finally {
        await records.close();
      }
      // Opened again: the column is there already, and the total kept.
      const again = sqliteRecords({ path });
      try {
        expect((await again.read('old'))?.meta.usage).toEqual(usage);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('PostgreSQL adds the usage total column', async () => {
    const tablePrefix = `llmws_migration_${randomBytes(5).toString('hex')}_`;
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      await client.query(oldSessionsTable(`${tablePrefix}sessions`));
      await client.query(oldRow(`${tablePrefix}sessions`));
      const records = postgresRecords({ url: TEST_POSTGRES_URL, tablePrefix });
      try {
        await expectMigrated(records);
      } finally {
        await records.close();
      }
    } finally {
      await client.end();
      await dropPostgresRecords(TEST_POSTGRES_URL, tablePrefix);
    }
  });
});
