import { VoicegateError } from '../domain/errors.ts';
import type { Change, MailFolder } from '../domain/message.ts';
import type { MessageState } from '../domain/message-state.ts';
import { rowToChange, type ChangeRow } from './rows.ts';
import type { SqlAccess } from './sql-access.ts';

/**
 * The journal: every change to a mailbox, numbered by the mailbox's modseq, read by the change
 * feed and by IMAP's CONDSTORE/QRESYNC.
 */
export class JournalTable {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  /** See `SqlAccess.journal`; `modseq` given shares one with the entry before (a move). */
  write(
    mailboxId: number,
    kind: Change['kind'],
    messageId: string | null,
    state: MessageState | null,
    at: number,
    place: { folder: MailFolder; uid: number } | null = null,
    modseq?: number,
  ): number {
    if (modseq === undefined) {
      const row = this.#db
        .sql('UPDATE mailbox SET modseq = modseq + 1 WHERE id = ? RETURNING modseq')
        .get(mailboxId) as { modseq: number } | undefined;
      modseq = row?.modseq ?? 0;
    }
    this.#db
      .sql(
        'INSERT INTO journal (mailbox_id, modseq, kind, message_id, state, folder, uid, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        mailboxId,
        modseq,
        kind,
        messageId,
        state,
        place?.folder ?? null,
        place?.uid ?? null,
        at,
      );
    return modseq;
  }

  async changesSince(mailboxId: number, modseq: number): Promise<Change[]> {
    const rows = this.#db
      .sql('SELECT * FROM journal WHERE mailbox_id = ? AND modseq > ? ORDER BY seq')
      .all(mailboxId, modseq);
    return (rows as unknown as ChangeRow[]).map(rowToChange);
  }

  async highestModseq(mailboxId: number): Promise<number> {
    const row = this.#db.sql('SELECT modseq FROM mailbox WHERE id = ?').get(mailboxId) as
      { modseq: number } | undefined;
    if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    return row.modseq;
  }

  async pruneJournal(before: number): Promise<number> {
    return this.#db.tx(() => {
      const result = this.#db
        .sql(
          'DELETE FROM journal WHERE at < ? AND seq NOT IN (SELECT MAX(seq) FROM journal GROUP BY mailbox_id)',
        )
        .run(before);
      return Number(result.changes);
    });
  }
}
