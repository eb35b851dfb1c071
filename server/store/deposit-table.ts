import type { SqlAccess } from './sql-access.ts';

/**
 * The deposits made: which voicemail (its identity) went into which mailbox, and when. A resend
 * of a voicemail (a retried SMTP delivery, a peer's copy) is recognised here even after its
 * message was forwarded by e-mail, deleted or purged, for as long as the entry is kept.
 */
export class DepositTable {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  /**
   * Records a deposit, inside the caller's transaction; false if it was made before. The primary
   * key decides: of two concurrent deposits one inserts and the other finds the row, with no
   * read-then-insert race (also on a back end with row locks instead of one writer).
   */
  claim(mailboxId: number, identity: string, at: number): boolean {
    return (
      this.#db
        .sql(
          'INSERT INTO deposit (mailbox_id, identity, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1',
        )
        .get(mailboxId, identity, at) !== undefined
    );
  }

  /** Kept while the message exists or its mail waits in the queue (a bounced forward is kept). */
  async prune(before: number): Promise<number> {
    return this.#db.tx(() => {
      const result = this.#db
        .sql(
          `DELETE FROM deposit WHERE at < ?
             AND NOT EXISTS (SELECT 1 FROM message m WHERE m.mailbox_id = deposit.mailbox_id AND m.identity = deposit.identity)
             AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.mailbox_id = deposit.mailbox_id AND d.identity = deposit.identity)`,
        )
        .run(before);
      return Number(result.changes);
    });
  }
}
