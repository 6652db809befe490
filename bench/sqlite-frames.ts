/**
 * What a batch of frames costs SQLite, by table layout and by how many frames each session has in
 * the batch: write syscalls (`/proc/self/io` syscw: SQLite writes a WAL frame's header and its page
 * apart, and a checkpoint each page again) and CPU per frame. 100 sessions append 250 frames each;
 * a batch is one transaction holding `perSession` frames of every session. WAL, synchronous=NORMAL,
 * as `sqliteRecords` opens its file.
 *
 * - `keyed`: the layout of `sqliteRecords` before 2026-12-07 (WITHOUT ROWID, primary key
 *   (session_id, seq)): a commit dirtied about one page per session, whatever its number of frames.
 * - `records`: the layout of `sqliteRecords` now: frames appended to a rowid table (its pages
 *   fill in order), found through a unique index on (session_id, seq), whose entries are small.
 * - `log`: the rowid table alone, no index (the floor: what appending costs).
 *
 *   npx tsx bench/sqlite-frames.ts [perSession=1,5,12]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/store/sqlite/node-sqlite';

const LAYOUTS = {
  keyed:
    'CREATE TABLE f (session_id TEXT NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (session_id, seq)) WITHOUT ROWID',
  records:
    'CREATE TABLE f (session_id TEXT NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL); CREATE UNIQUE INDEX fi ON f (session_id, seq)',
  log: 'CREATE TABLE f (session_id TEXT NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL)',
} as const;
const SESSIONS = 100;
const FRAMES = 250;
// About a chunk frame's size on the wire (bench/RESULTS.md: ~130 bytes).
const TEXT = `{"type":"llm_chunk","seq":1,"data":{"requestId":"r","content":"${'x'.repeat(80)}"}}`;

const syscw = (): number => Number(/syscw: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

function measure(layout: keyof typeof LAYOUTS, perSession: number): { writes: number; cpuUs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'llm-ws-sqlite-frames-'));
  try {
    const db = openDatabase(join(dir, 'frames.sqlite'));
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    db.exec(LAYOUTS[layout]);
    const ids = Array.from({ length: SESSIONS }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const insert = db.prepare(
      `INSERT INTO f VALUES ${Array.from({ length: SESSIONS * perSession }, () => '(?, ?, ?)').join(', ')}`,
    );
    const writesBefore = syscw();
    const cpuBefore = process.cpuUsage();
    for (let seq = 1; seq <= FRAMES; seq += perSession) {
      const values: (string | number)[] = [];
      for (const id of ids) for (let k = 0; k < perSession; k++) values.push(id, seq + k, TEXT);
      db.exec('BEGIN');
      insert.run(...values);
      db.exec('COMMIT');
    }
    const cpu = process.cpuUsage(cpuBefore);
    const frames = SESSIONS * Math.ceil(FRAMES / perSession) * perSession;
    db.close();
    return { writes: (syscw() - writesBefore) / frames, cpuUs: (cpu.user + cpu.system) / frames };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const perSessions = (process.argv[2] ?? '1,5,12').split(',').map(Number);
console.log(`${SESSIONS} sessions × ${FRAMES} frames, one transaction per batch; per frame: write syscalls, CPU µs`);
for (const perSession of perSessions) {
  const cells = (Object.keys(LAYOUTS) as (keyof typeof LAYOUTS)[]).map((layout) => {
    const { writes, cpuUs } = measure(layout, perSession);
    return `${layout} ${writes.toFixed(2)} writes, ${cpuUs.toFixed(1)} µs`;
  });
  console.log(`${perSession} frame(s) per session a batch: ${cells.join('; ')}`);
}
