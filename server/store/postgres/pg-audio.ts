import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { VoicegateError } from '../../domain/errors.ts';
import type { AudioStore, ByteRange } from '../../domain/ports.ts';
import type { PgAccess } from './pg-access.ts';

/** A byte range is read in slices of this size: memory stays flat however long the message. */
const SLICE = 256 * 1024;

const missing = (): VoicegateError => new VoicegateError('NOT_FOUND', 'audio is missing');

/**
 * Audio in PostgreSQL (table `audio`, `bytea` stored out of line and uncompressed): one place to
 * back up and replicate, durable when its insert commits. Ranges are read with substring(),
 * which then fetches only the TOAST chunks (2 KB each) the range covers.
 */
export class PgAudio implements AudioStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async put(bytes: Uint8Array): Promise<string> {
    const key = randomUUID();
    await this.#db.sql.rows(
      'INSERT INTO audio (key, bytes, data, created_at) VALUES ($1, $2, $3, $4)',
      [
        key,
        bytes.byteLength,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        Date.now(),
      ],
    );
    return key;
  }

  async read(key: string): Promise<Buffer> {
    const row = await this.#db.sql.row<{ data: Buffer }>('SELECT data FROM audio WHERE key = $1', [
      key,
    ]);
    if (!row) throw missing();
    return row.data;
  }

  async size(key: string): Promise<number> {
    const row = await this.#db.sql.row<{ bytes: number }>(
      'SELECT bytes FROM audio WHERE key = $1',
      [key],
    );
    if (!row) throw missing();
    return row.bytes;
  }

  async stream(key: string, range?: ByteRange): Promise<Readable> {
    const size = await this.size(key);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? size - 1, size - 1);
    let next = start;
    const db = this.#db;
    return new Readable({
      async read() {
        if (next > end) {
          this.push(null);
          return;
        }
        const length = Math.min(SLICE, end - next + 1);
        try {
          // substring counts from 1.
          const row = await db.sql.row<{ part: Buffer }>(
            'SELECT substring(data FROM $2 FOR $3) AS part FROM audio WHERE key = $1',
            [key, next + 1, length],
          );
          if (!row) throw missing();
          next += length;
          this.push(row.part);
        } catch (err) {
          this.destroy(err as Error);
        }
      },
    });
  }

  /**
   * Removes the audio of `keys` that no message, greeting or delivery names. A caller that
   * heard an error from a commit cannot know whether it committed (its answer may have been
   * lost after the COMMIT): asking here means a row never names missing audio.
   */
  async remove(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#db.tx(async (t) => {
      const unused = await this.#db.unusedAudio(t, keys);
      if (unused.length) await t.rows('DELETE FROM audio WHERE key = ANY($1::text[])', [unused]);
    });
  }

  /**
   * Removes audio nothing refers to that was put more than `graceMs` ago: audio is put before
   * the message that refers to it commits, perhaps on another node right now, so only what is
   * older than any deposit in progress is left over from a crash.
   */
  async sweep(graceMs: number): Promise<number> {
    const rows = await this.#db.sql.rows(
      `DELETE FROM audio a WHERE created_at < $1
         AND NOT EXISTS (SELECT 1 FROM message WHERE audio_key = a.key)
         AND NOT EXISTS (SELECT 1 FROM greeting WHERE audio_key = a.key)
         AND NOT EXISTS (SELECT 1 FROM delivery WHERE audio_key = a.key)
       RETURNING 1`,
      [Date.now() - graceMs],
    );
    return rows.length;
  }
}
