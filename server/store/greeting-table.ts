import { VoicegateError } from '../domain/errors.ts';
import type { GreetingKind } from '../domain/mailbox.ts';
import type { AudioRef, Greeting } from '../domain/message.ts';
import type { GreetingStore } from '../domain/ports.ts';
import { rowToGreeting, type GreetingRow } from './rows.ts';
import type { SqlAccess } from './sql-access.ts';

/** Each mailbox's greetings (unavailable, busy, temporary, recorded name). */
export class GreetingTable implements GreetingStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async setGreeting(
    mailboxId: number,
    kind: GreetingKind,
    audio: AudioRef,
    at: number,
  ): Promise<string[]> {
    return this.#db.tx(() => {
      const old = this.#db
        .sql('SELECT audio_key FROM greeting WHERE mailbox_id = ? AND kind = ?')
        .get(mailboxId, kind) as { audio_key: string } | undefined;
      this.#db
        .sql(
          `INSERT INTO greeting (mailbox_id, kind, audio_key, audio_format, audio_bytes, duration_ms, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (mailbox_id, kind) DO UPDATE SET audio_key = excluded.audio_key, audio_format = excluded.audio_format,
             audio_bytes = excluded.audio_bytes, duration_ms = excluded.duration_ms, updated_at = excluded.updated_at`,
        )
        .run(mailboxId, kind, audio.key, audio.format, audio.bytes, audio.durationMs, at);
      this.#db.journal(mailboxId, 'mailbox', null, null, at);
      return old ? this.#db.unusedAudio([old.audio_key]) : [];
    });
  }

  async listGreetings(mailboxId: number): Promise<Greeting[]> {
    const rows = this.#db
      .sql('SELECT * FROM greeting WHERE mailbox_id = ? ORDER BY kind')
      .all(mailboxId);
    return (rows as unknown as GreetingRow[]).map(rowToGreeting);
  }

  async removeGreeting(mailboxId: number, kind: GreetingKind, at: number): Promise<string[]> {
    return this.#db.tx(() => {
      const row = this.#db
        .sql('DELETE FROM greeting WHERE mailbox_id = ? AND kind = ? RETURNING audio_key')
        .get(mailboxId, kind) as { audio_key: string } | undefined;
      if (!row) throw new VoicegateError('NOT_FOUND', `no ${kind} greeting`);
      this.#db.journal(mailboxId, 'mailbox', null, null, at);
      return this.#db.unusedAudio([row.audio_key]);
    });
  }
}
