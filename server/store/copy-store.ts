import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';
import { AudioFiles } from './audio-files.ts';
import { PgAccess } from './postgres/pg-access.ts';
import { migratePg } from './postgres/pg-migrations.ts';
import { SqliteStore } from './sqlite-store.ts';

/**
 * The tables an embedded store holds, in an order that satisfies the foreign keys, each with its
 * primary key (rows are copied by it, skipping those already there: a copy resumes).
 */
const TABLES: readonly { name: string; key: string; pgOrder: string; json?: string }[] = [
  { name: 'mailbox', key: 'id', pgOrder: 'id' },
  { name: 'mailbox_home', key: 'mailbox_id', pgOrder: 'mailbox_id' },
  { name: 'group_member', key: 'group_id, member_id', pgOrder: 'group_id, member_id' },
  { name: 'greeting', key: 'mailbox_id, kind', pgOrder: 'mailbox_id, kind COLLATE "C"' },
  { name: 'message', key: 'id', pgOrder: 'id COLLATE "C"' },
  { name: 'exchange_item', key: 'message_id', pgOrder: 'message_id COLLATE "C"' },
  {
    name: 'rendition',
    key: 'message_id, kind',
    pgOrder: 'message_id COLLATE "C", kind COLLATE "C"',
  },
  { name: 'deposit', key: 'mailbox_id, identity', pgOrder: 'mailbox_id, identity COLLATE "C"' },
  { name: 'delivery', key: 'id', pgOrder: 'id' },
  { name: 'web_session', key: 'token_hash', pgOrder: 'token_hash COLLATE "C"' },
  { name: 'web_preference', key: 'mailbox_id', pgOrder: 'mailbox_id' },
  { name: 'journal', key: 'seq', pgOrder: 'seq' },
  { name: 'email_reading', key: 'mailbox_id', pgOrder: 'mailbox_id' },
  { name: 'admin', key: 'id', pgOrder: 'id' },
  { name: 'admin_session', key: 'token_hash', pgOrder: 'token_hash COLLATE "C"' },
  // details: JSON text here, JSONB there.
  { name: 'audit', key: 'id', pgOrder: 'id', json: 'details' },
];

/** Identity columns whose sequences go on after the copied rows' highest value. */
const SEQUENCES = [
  ['mailbox', 'id'],
  ['delivery', 'id'],
  ['journal', 'seq'],
  ['admin', 'id'],
  ['audit', 'id'],
] as const;

const BATCH = 500;

export interface CopyProgress {
  (step: string, done: number, total: number): void;
}

export interface CopyReport {
  /** Rows per table and audio items, as verified equal on both sides. */
  counts: Record<string, number>;
  /** Whether an earlier, interrupted copy was resumed. */
  resumed: boolean;
}

type Row = Record<string, unknown>;

/** A value as JSON for json_populate_recordset: bytes as bytea's hex input. */
const toJson = (v: unknown): unknown =>
  v instanceof Uint8Array ? `\\x${Buffer.from(v).toString('hex')}` : v;

/** A JSON value with its objects' keys sorted: JSONB keeps its own key order. */
function sortedJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedJson);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortedJson((v as Row)[k])]),
    );
  return v;
}

/** One text for a row, the same from either side (for checksums). */
function canonical(row: Row, columns: string[], json?: string): string {
  return JSON.stringify(
    columns.map((c) => {
      const v = row[c];
      if (c === json && v !== null) return sortedJson(typeof v === 'string' ? JSON.parse(v) : v);
      if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString('hex')}`;
      if (typeof v === 'bigint') return Number(v);
      return v ?? null;
    }),
  );
}

/**
 * Copies the embedded store in `dataDir` (mailboxes, messages with their audio, greetings, the
 * journal with every mailbox's modseq and UIDs, the delivery queue, web sessions, the deposits
 * made, each mailbox's home and the Exchange items its voicemail became, administrators and the audit
 * trail) into the PostgreSQL database at `url`, which must be empty or hold an interrupted copy
 * of this same store. Audio goes first, then the tables in batches, each batch committed: run
 * again after an interruption, it goes on where it stopped. Then it compares row counts and
 * checksums of every table and of every audio item on both sides; a difference is an error.
 * The server must not run meanwhile (what changes during a copy is not copied).
 */
export async function copyToPostgres(
  dataDir: string,
  url: string,
  progress: CopyProgress = () => {},
): Promise<CopyReport> {
  const dbPath = join(dataDir, 'voicegate.db');
  const source = new SqliteStore(dbPath);
  const files = new AudioFiles(join(dataDir, 'audio'));
  const pg = new PgAccess(url);
  try {
    await migratePg(pg);
    const resumed = await claimTarget(pg, realpathSync(dbPath));
    const columns = await commonColumns(source.db, pg);
    const keys = audioKeys(source.db);
    await copyAudio(pg, files, keys, progress);
    for (const table of TABLES)
      await copyTable(source.db, pg, table, columns[table.name]!, progress);
    for (const [table, column] of SEQUENCES)
      await pg.sql.rows(
        `SELECT setval(pg_get_serial_sequence('${table}', '${column}'), GREATEST((SELECT MAX(${column}) FROM ${table}), 1))`,
      );
    const counts = await verify(source.db, pg, files, keys, columns, progress);
    await pg.sql.rows('UPDATE store_copy SET finished_at = $1 WHERE finished_at IS NULL', [
      Date.now(),
    ]);
    return { counts, resumed };
  } finally {
    await source.close();
    await pg.close();
  }
}

/** Records the copy; refuses a database in use or holding another store's copy. */
async function claimTarget(pg: PgAccess, source: string): Promise<boolean> {
  return pg.tx(async (t) => {
    await t.rows('LOCK TABLE store_copy');
    const earlier = await t.row<{ source: string }>('SELECT source FROM store_copy LIMIT 1');
    if (earlier) {
      if (earlier.source !== source)
        throw new VoicegateError(
          'INVALID_STATE',
          `the PostgreSQL database holds a copy of another store (${earlier.source}); copy into an empty database`,
        );
      return true;
    }
    const used = await t.row(
      'SELECT 1 FROM mailbox UNION ALL SELECT 1 FROM audio UNION ALL SELECT 1 FROM journal LIMIT 1',
    );
    if (used)
      throw new VoicegateError(
        'INVALID_STATE',
        'the PostgreSQL database is not empty: copy into a new, empty database',
      );
    await t.rows('INSERT INTO store_copy (source, started_at) VALUES ($1, $2)', [
      source,
      Date.now(),
    ]);
    return false;
  });
}

/** Each table's columns; a column the PostgreSQL schema lacks is data it cannot keep. */
async function commonColumns(db: DatabaseSync, pg: PgAccess): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const { name } of TABLES) {
    const here = (db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]).map(
      (c) => c.name,
    );
    const there = new Set(
      (
        await pg.sql.rows<{ column_name: string }>(
          'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
          [name],
        )
      ).map((c) => c.column_name),
    );
    const lacking = here.filter((c) => !there.has(c));
    if (lacking.length > 0)
      throw new VoicegateError(
        'INVALID_STATE',
        `the embedded store has ${name}.${lacking.join(`, ${name}.`)}, which this Voicegate's PostgreSQL schema lacks; upgrade Voicegate`,
      );
    out[name] = here;
  }
  return out;
}

function audioKeys(db: DatabaseSync): string[] {
  const rows = db
    .prepare(
      'SELECT audio_key FROM message UNION SELECT audio_key FROM greeting UNION SELECT audio_key FROM delivery ORDER BY 1',
    )
    .all() as { audio_key: string }[];
  return rows.map((r) => r.audio_key);
}

async function copyAudio(
  pg: PgAccess,
  files: AudioFiles,
  keys: string[],
  progress: CopyProgress,
): Promise<void> {
  const there = new Set(
    (await pg.sql.rows<{ key: string }>('SELECT key FROM audio')).map((r) => r.key),
  );
  let done = 0;
  for (const key of keys) {
    if (!there.has(key)) {
      const bytes = await files.read(key);
      await pg.sql.rows(
        'INSERT INTO audio (key, bytes, data, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
        [key, bytes.length, bytes, Date.now()],
      );
    }
    progress('audio', ++done, keys.length);
  }
}

async function copyTable(
  db: DatabaseSync,
  pg: PgAccess,
  table: { name: string; key: string; json?: string },
  columns: string[],
  progress: CopyProgress,
): Promise<void> {
  const total = Number(
    (db.prepare(`SELECT COUNT(*) AS n FROM ${table.name}`).get() as { n: number }).n,
  );
  const list = columns.join(', ');
  const read = db.prepare(
    `SELECT ${list} FROM ${table.name} ORDER BY ${table.key} LIMIT ? OFFSET ?`,
  );
  for (let offset = 0; offset < total; offset += BATCH) {
    const rows = read.all(BATCH, offset) as Row[];
    const json = rows.map((r) =>
      Object.fromEntries(
        columns.map((c) => {
          const v = r[c];
          // A JSON column goes as its value, not as a string that JSONB would keep as one.
          return [c, c === table.json && typeof v === 'string' ? JSON.parse(v) : toJson(v)];
        }),
      ),
    );
    await pg.sql.rows(
      `INSERT INTO ${table.name} (${list}) OVERRIDING SYSTEM VALUE
       SELECT ${list} FROM json_populate_recordset(NULL::${table.name}, $1::json) ON CONFLICT DO NOTHING`,
      [JSON.stringify(json)],
    );
    progress(table.name, Math.min(offset + BATCH, total), total);
  }
}

async function verify(
  db: DatabaseSync,
  pg: PgAccess,
  files: AudioFiles,
  keys: string[],
  columns: Record<string, string[]>,
  progress: CopyProgress,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const { name, key, pgOrder, json } of TABLES) {
    const list = columns[name]!;
    const here = createHash('sha256');
    const there = createHash('sha256');
    const mine = db
      .prepare(`SELECT ${list.join(', ')} FROM ${name} ORDER BY ${key}`)
      .all() as Row[];
    for (const row of mine) here.update(canonical(row, list, json) + '\n');
    // PostgreSQL sorts text by its collation, SQLite by bytes, as COLLATE "C" does.
    const theirs = await pg.sql.rows<Row>(
      `SELECT ${list.join(', ')} FROM ${name} ORDER BY ${pgOrder}`,
    );
    for (const row of theirs) there.update(canonical(row, list, json) + '\n');
    if (mine.length !== theirs.length || here.digest('hex') !== there.digest('hex'))
      throw new VoicegateError(
        'INTERNAL',
        `the copy of ${name} differs from the embedded store (${mine.length} rows here, ${theirs.length} there); run the copy again`,
      );
    counts[name] = mine.length;
    progress(`verify ${name}`, mine.length, mine.length);
  }
  const sums = new Map(
    (
      await pg.sql.rows<{ key: string; sum: string }>(
        "SELECT key, encode(sha256(data), 'hex') AS sum FROM audio",
      )
    ).map((r) => [r.key, r.sum]),
  );
  let done = 0;
  for (const key of keys) {
    const sum = createHash('sha256')
      .update(await files.read(key))
      .digest('hex');
    if (sums.get(key) !== sum)
      throw new VoicegateError(
        'INTERNAL',
        `the copy of audio ${key} differs from the embedded store's; run the copy again`,
      );
    progress('verify audio', ++done, keys.length);
  }
  counts.audio = keys.length;
  return counts;
}
