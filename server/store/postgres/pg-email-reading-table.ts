import type { StoredEmailReading } from '../../domain/email-reading.ts';
import type { EmailReadingStore } from '../../domain/ports.ts';
import { rowToEmailReading, type EmailReadingRow } from '../email-reading-table.ts';
import type { PgAccess } from './pg-access.ts';

/** Each mailbox's e-mail reading, as the embedded email-reading-table.ts. */
export class PgEmailReadingTable implements EmailReadingStore {
  readonly #db: PgAccess;
  constructor(db: PgAccess) {
    this.#db = db;
  }

  async getEmailReading(mailboxId: number): Promise<StoredEmailReading | null> {
    const row = await this.#db.sql.row<EmailReadingRow>(
      'SELECT source, account, sealed_secret FROM email_reading WHERE mailbox_id = $1',
      [mailboxId],
    );
    return row ? rowToEmailReading(row) : null;
  }

  async setEmailReading(mailboxId: number, reading: StoredEmailReading | null): Promise<void> {
    if (!reading) {
      await this.#db.sql.rows('DELETE FROM email_reading WHERE mailbox_id = $1', [mailboxId]);
      return;
    }
    // A mailbox gone inserts nothing (the SELECT finds no row).
    await this.#db.sql.rows(
      `INSERT INTO email_reading (mailbox_id, source, account, sealed_secret)
       SELECT id, $2, $3, $4 FROM mailbox WHERE id = $1
       ON CONFLICT (mailbox_id) DO UPDATE SET source = $2, account = $3, sealed_secret = $4`,
      [
        mailboxId,
        reading.source,
        reading.imap ? JSON.stringify(reading.imap) : null,
        reading.sealedSecret,
      ],
    );
  }
}
