import { VoicegateError } from '../domain/errors.ts';
import type { MessageOrder, WebPreferenceStore } from '../domain/ports.ts';
import { DEFAULT_WEB_PREFERENCES, type WebPreferences } from '../domain/web-preferences.ts';
import type { SqlAccess } from './sql-access.ts';

/** The web app's preferences of each mailbox's owner; no row until the owner chooses. */
export class WebPreferenceTable implements WebPreferenceStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async getWebPreferences(mailboxId: number): Promise<WebPreferences> {
    const row = this.#db
      .sql('SELECT list_order FROM web_preference WHERE mailbox_id = ?')
      .get(mailboxId) as { list_order: MessageOrder } | undefined;
    return row ? { listOrder: row.list_order } : { ...DEFAULT_WEB_PREFERENCES };
  }

  async setWebPreferences(
    mailboxId: number,
    changes: Partial<WebPreferences>,
  ): Promise<WebPreferences> {
    return this.#db.tx(() => {
      if (!this.#db.sql('SELECT 1 FROM mailbox WHERE id = ?').get(mailboxId))
        throw new VoicegateError('NOT_FOUND', 'no such mailbox');
      const row = this.#db
        .sql('SELECT list_order FROM web_preference WHERE mailbox_id = ?')
        .get(mailboxId) as { list_order: MessageOrder } | undefined;
      const next = { ...DEFAULT_WEB_PREFERENCES, ...(row && { listOrder: row.list_order }) };
      if (changes.listOrder !== undefined) next.listOrder = changes.listOrder;
      this.#db
        .sql(
          `INSERT INTO web_preference (mailbox_id, list_order) VALUES (?, ?)
           ON CONFLICT (mailbox_id) DO UPDATE SET list_order = excluded.list_order`,
        )
        .run(mailboxId, next.listOrder);
      return next;
    });
  }
}
