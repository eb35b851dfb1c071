import type { MailFolder, NewMessage } from '../domain/message.ts';
import type { MessageState } from '../domain/message-state.ts';
import type { NewMail, OutboxItem } from '../domain/outbox.ts';
import type { OutboxStore } from '../domain/ports.ts';
import { rowToOutbox, type OutboxRow } from './rows.ts';
import type { SqlAccess } from './sql-access.ts';

/** The outgoing mail queue. */
export class OutboxTable implements OutboxStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  /** Inside a transaction of the caller (mails committed with their messages). */
  insertMail(m: NewMail, at: number): void {
    this.#db
      .sql(
        `INSERT INTO outbox (kind, mailbox_id, recipient, voicemail_id, identity, message_id, caller_number, caller_name,
         received_at, audio_key, audio_format, audio_bytes, duration_ms, priority, private, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        m.kind,
        m.mailboxId,
        m.recipient,
        m.voicemailId,
        m.identity,
        m.messageId,
        m.callerNumber,
        m.callerName,
        m.receivedAt,
        m.audio.key,
        m.audio.format,
        m.audio.bytes,
        m.audio.durationMs,
        m.priority,
        m.private ? 1 : 0,
        at,
        at,
      );
  }

  async queueMail(mail: NewMail, at: number): Promise<void> {
    this.#db.tx(() => this.insertMail(mail, at));
  }

  async dueMail(now: number, limit: number): Promise<OutboxItem[]> {
    const rows = this.#db
      .sql(
        "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
      )
      .all(now, limit);
    return (rows as unknown as OutboxRow[]).map(rowToOutbox);
  }

  async listOutbox(): Promise<OutboxItem[]> {
    return (this.#db.sql('SELECT * FROM outbox ORDER BY id').all() as unknown as OutboxRow[]).map(
      rowToOutbox,
    );
  }

  async removeMail(id: number): Promise<string[]> {
    return this.#db.tx(() => {
      const row = this.#db.sql('DELETE FROM outbox WHERE id = ? RETURNING audio_key').get(id) as
        { audio_key: string } | undefined;
      return row ? this.#db.unusedAudio([row.audio_key]) : [];
    });
  }

  async retryMailAt(id: number, at: number, attempts: number, error: string | null): Promise<void> {
    this.#db.tx(() =>
      this.#db
        .sql(
          "UPDATE outbox SET status = 'pending', next_attempt_at = ?, attempts = ?, last_error = ? WHERE id = ?",
        )
        .run(at, attempts, error, id),
    );
  }

  async failMail(id: number, error: string, keep?: NewMessage): Promise<void> {
    this.#db.tx(() => {
      const at = Date.now();
      const row = this.#db
        .sql(
          "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? RETURNING message_id",
        )
        .get(error, id) as { message_id: string | null } | undefined;
      if (keep) {
        // A bounced forward becomes a message in the same transaction: a crash loses neither.
        // Its 'added' entry is in this transaction too, so the error needs no entry of its own.
        this.#db.insertMessage(keep, at);
        this.#db.sql('UPDATE message SET email_error = ? WHERE id = ?').run(error, keep.id);
      } else if (row?.message_id) {
        this.#noteRefusal(row.message_id, error, at);
      }
    });
  }

  /** A refusal of a kept message's mail is a change the web list and the live feed must see. */
  #noteRefusal(messageId: string, error: string, at: number): void {
    const current = this.#db
      .sql('SELECT mailbox_id, state, folder, uid FROM message WHERE id = ?')
      .get(messageId) as
      { mailbox_id: number; state: string; folder: string; uid: number } | undefined;
    if (!current) return; // purged while the mail waited: nobody is left to tell
    const modseq = this.#db.journal(
      current.mailbox_id,
      'changed',
      messageId,
      current.state as MessageState,
      at,
      { folder: current.folder as MailFolder, uid: current.uid },
    );
    this.#db
      .sql('UPDATE message SET email_error = ?, modseq = ? WHERE id = ?')
      .run(error, modseq, messageId);
  }
}
