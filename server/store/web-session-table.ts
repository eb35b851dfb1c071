import type { WebSession, WebSessionStore } from '../domain/ports.ts';
import type { SqlAccess } from './sql-access.ts';

/** Web log-ins, kept as token hashes. */
export class WebSessionTable implements WebSessionStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async createWebSession(s: WebSession): Promise<void> {
    this.#db.tx(() => {
      // Expired sessions go as new ones come, so the table never grows without bound.
      this.#db.sql('DELETE FROM web_session WHERE expires_at < ?').run(s.createdAt);
      this.#db
        .sql(
          'INSERT INTO web_session (token_hash, mailbox_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(s.tokenHash, s.mailboxId, s.csrfToken, s.createdAt, s.expiresAt);
    });
  }

  async getWebSession(tokenHash: string, now: number): Promise<WebSession | null> {
    const row = this.#db
      .sql('SELECT * FROM web_session WHERE token_hash = ? AND expires_at > ?')
      .get(tokenHash, now) as
      | {
          token_hash: string;
          mailbox_id: number;
          csrf_token: string;
          created_at: number;
          expires_at: number;
        }
      | undefined;
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
    this.#db.tx(() =>
      this.#db
        .sql('UPDATE web_session SET expires_at = ? WHERE token_hash = ?')
        .run(expiresAt, tokenHash),
    );
  }

  async deleteWebSession(tokenHash: string): Promise<void> {
    this.#db.tx(() => this.#db.sql('DELETE FROM web_session WHERE token_hash = ?').run(tokenHash));
  }

  async deleteWebSessionsOf(mailboxId: number, except = ''): Promise<void> {
    this.#db.tx(() =>
      this.#db
        .sql('DELETE FROM web_session WHERE mailbox_id = ? AND token_hash != ?')
        .run(mailboxId, except),
    );
  }

  async countWebSessions(now: number): Promise<{ mailbox: number; admin: number }> {
    const row = this.#db
      .sql(
        `SELECT (SELECT COUNT(*) FROM web_session WHERE expires_at > ?) AS mailbox,
                (SELECT COUNT(*) FROM admin_session WHERE expires_at > ?) AS admin`,
      )
      .get(now, now) as { mailbox: number; admin: number };
    return { mailbox: Number(row.mailbox), admin: Number(row.admin) };
  }
}
