import { VoicegateError } from '../../domain/errors.ts';
import type { GreetingKind } from '../../domain/mailbox.ts';
import type { AudioRef, Greeting } from '../../domain/message.ts';
import type {
  GreetingStore,
  MessageOrder,
  WebPreferenceStore,
  WebSession,
  WebSessionStore,
} from '../../domain/ports.ts';
import { DEFAULT_WEB_PREFERENCES, type WebPreferences } from '../../domain/web-preferences.ts';
import { rowToGreeting, type GreetingRow } from '../rows.ts';
import type { PgAccess, Sql } from './pg-access.ts';

/** Each mailbox's greetings (unavailable, busy, temporary, recorded name). */
export class PgGreetingTable implements GreetingStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async setGreeting(
    mailboxId: number,
    kind: GreetingKind,
    audio: AudioRef,
    at: number,
  ): Promise<string[]> {
    return this.#db.tx(async (t) => {
      // The journal entry first: it takes the mailbox's lock, so two uploads do not interleave.
      await this.#db.journal(t, mailboxId, 'mailbox', null, null, at);
      const old = await t.row<{ audio_key: string }>(
        'SELECT audio_key FROM greeting WHERE mailbox_id = $1 AND kind = $2',
        [mailboxId, kind],
      );
      await t.rows(
        `INSERT INTO greeting (mailbox_id, kind, audio_key, audio_format, audio_bytes, duration_ms, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (mailbox_id, kind) DO UPDATE SET audio_key = excluded.audio_key, audio_format = excluded.audio_format,
           audio_bytes = excluded.audio_bytes, duration_ms = excluded.duration_ms, updated_at = excluded.updated_at`,
        [mailboxId, kind, audio.key, audio.format, audio.bytes, audio.durationMs, at],
      );
      return old ? this.#db.unusedAudio(t, [old.audio_key]) : [];
    });
  }

  async listGreetings(mailboxId: number): Promise<Greeting[]> {
    const rows = await this.#db.sql.rows<GreetingRow>(
      'SELECT * FROM greeting WHERE mailbox_id = $1 ORDER BY kind COLLATE "C"',
      [mailboxId],
    );
    return rows.map(rowToGreeting);
  }

  async removeGreeting(mailboxId: number, kind: GreetingKind, at: number): Promise<string[]> {
    return this.#db.tx(async (t) => {
      const row = await t.row<{ audio_key: string }>(
        'DELETE FROM greeting WHERE mailbox_id = $1 AND kind = $2 RETURNING audio_key',
        [mailboxId, kind],
      );
      if (!row) throw new VoicegateError('NOT_FOUND', `no ${kind} greeting`);
      await this.#db.journal(t, mailboxId, 'mailbox', null, null, at);
      return this.#db.unusedAudio(t, [row.audio_key]);
    });
  }
}

/** Web log-ins, kept as token hashes. */
export class PgWebSessionTable implements WebSessionStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async createWebSession(s: WebSession): Promise<void> {
    await this.#db.tx(async (t) => {
      // Expired sessions go as new ones come, so the table never grows without bound.
      await t.rows('DELETE FROM web_session WHERE expires_at < $1', [s.createdAt]);
      await t.rows(
        'INSERT INTO web_session (token_hash, mailbox_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [s.tokenHash, s.mailboxId, s.csrfToken, s.createdAt, s.expiresAt],
      );
    });
  }

  async getWebSession(tokenHash: string, now: number): Promise<WebSession | null> {
    const row = await this.#db.sql.row<{
      token_hash: string;
      mailbox_id: number;
      csrf_token: string;
      created_at: number;
      expires_at: number;
    }>('SELECT * FROM web_session WHERE token_hash = $1 AND expires_at > $2', [tokenHash, now]);
    if (!row) return null;
    return {
      tokenHash: row.token_hash,
      mailboxId: row.mailbox_id,
      csrfToken: row.csrf_token,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  async extendWebSession(tokenHash: string, expiresAt: number): Promise<void> {
    await this.#db.sql.rows('UPDATE web_session SET expires_at = $1 WHERE token_hash = $2', [
      expiresAt,
      tokenHash,
    ]);
  }

  async deleteWebSession(tokenHash: string): Promise<void> {
    await this.#db.sql.rows('DELETE FROM web_session WHERE token_hash = $1', [tokenHash]);
  }

  async deleteWebSessionsOf(mailboxId: number, except = ''): Promise<void> {
    await this.#db.sql.rows('DELETE FROM web_session WHERE mailbox_id = $1 AND token_hash != $2', [
      mailboxId,
      except,
    ]);
  }

  async countWebSessions(now: number): Promise<{ mailbox: number; admin: number }> {
    const row = await this.#db.sql.row<{ mailbox: string; admin: string }>(
      `SELECT (SELECT COUNT(*) FROM web_session WHERE expires_at > $1) AS mailbox,
              (SELECT COUNT(*) FROM admin_session WHERE expires_at > $1) AS admin`,
      [now],
    );
    return { mailbox: Number(row?.mailbox ?? 0), admin: Number(row?.admin ?? 0) };
  }
}

/**
 * The deposits made (which voicemail went into which mailbox), so a resend is recognised in the
 * transaction that would store it. The primary key decides between concurrent deposits: the
 * second insert waits for the first's commit and then finds the row.
 */
export class PgDepositTable {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async claim(t: Sql, mailboxId: number, identity: string, at: number): Promise<boolean> {
    const row = await t.row(
      'INSERT INTO deposit (mailbox_id, identity, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1',
      [mailboxId, identity, at],
    );
    return row !== undefined;
  }

  /** Kept while the message exists or its mail waits in the queue (a bounced forward is kept). */
  async prune(before: number): Promise<number> {
    const rows = await this.#db.sql.rows(
      `DELETE FROM deposit WHERE at < $1
         AND NOT EXISTS (SELECT 1 FROM message m WHERE m.mailbox_id = deposit.mailbox_id AND m.identity = deposit.identity)
         AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.mailbox_id = deposit.mailbox_id AND d.identity = deposit.identity)
       RETURNING 1`,
      [before],
    );
    return rows.length;
  }
}

/** The web app's preferences of each mailbox's owner; no row until the owner chooses. */
export class PgWebPreferenceTable implements WebPreferenceStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async getWebPreferences(mailboxId: number): Promise<WebPreferences> {
    const row = await this.#db.sql.row<{ list_order: MessageOrder }>(
      'SELECT list_order FROM web_preference WHERE mailbox_id = $1',
      [mailboxId],
    );
    return row ? { listOrder: row.list_order } : { ...DEFAULT_WEB_PREFERENCES };
  }

  async setWebPreferences(
    mailboxId: number,
    changes: Partial<WebPreferences>,
  ): Promise<WebPreferences> {
    return this.#db.tx(async (t) => {
      // The mailbox's row, locked: one removed meanwhile cannot be given preferences.
      if (!(await t.row('SELECT 1 FROM mailbox WHERE id = $1 FOR SHARE', [mailboxId])))
        throw new VoicegateError('NOT_FOUND', 'no such mailbox');
      const row = await t.row<{ list_order: MessageOrder }>(
        'SELECT list_order FROM web_preference WHERE mailbox_id = $1',
        [mailboxId],
      );
      const next = { ...DEFAULT_WEB_PREFERENCES, ...(row && { listOrder: row.list_order }) };
      if (changes.listOrder !== undefined) next.listOrder = changes.listOrder;
      await t.rows(
        `INSERT INTO web_preference (mailbox_id, list_order) VALUES ($1, $2)
         ON CONFLICT (mailbox_id) DO UPDATE SET list_order = excluded.list_order`,
        [mailboxId, next.listOrder],
      );
      return next;
    });
  }
}
