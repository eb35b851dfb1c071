import type { ImapAccount, StoredEmailReading } from '../domain/email-reading.ts';
import type { EmailReadingStore } from '../domain/ports.ts';
import type { SqlAccess } from './sql-access.ts';

export interface EmailReadingRow {
  source: string;
  account: string | null;
  sealed_secret: string | null;
}

export function rowToEmailReading(r: EmailReadingRow): StoredEmailReading {
  return {
    source: r.source as StoredEmailReading['source'],
    imap: r.account ? (JSON.parse(r.account) as ImapAccount) : null,
    sealedSecret: r.sealed_secret,
  };
}

/** Each mailbox's e-mail reading (the migration "e-mail reading"); the secret kept sealed. */
export class EmailReadingTable implements EmailReadingStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  async getEmailReading(mailboxId: number): Promise<StoredEmailReading | null> {
    const row = this.#db
      .sql('SELECT source, account, sealed_secret FROM email_reading WHERE mailbox_id = ?')
      .get(mailboxId) as EmailReadingRow | undefined;
    return row ? rowToEmailReading(row) : null;
  }

  async setEmailReading(mailboxId: number, reading: StoredEmailReading | null): Promise<void> {
    this.#db.tx(() => {
      if (!reading) {
        this.#db.sql('DELETE FROM email_reading WHERE mailbox_id = ?').run(mailboxId);
        return;
      }
      this.#db
        .sql(
          `INSERT INTO email_reading (mailbox_id, source, account, sealed_secret)
           SELECT id, ?2, ?3, ?4 FROM mailbox WHERE id = ?1
           ON CONFLICT (mailbox_id) DO UPDATE SET source = ?2, account = ?3, sealed_secret = ?4`,
        )
        .run(
          mailboxId,
          reading.source,
          reading.imap ? JSON.stringify(reading.imap) : null,
          reading.sealedSecret,
        );
    });
  }
}
