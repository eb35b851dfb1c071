import type { NewDelivery, NewNotice, QueueItem } from '../domain/delivery.ts';
import type { MailFolder, NewMessage } from '../domain/message.ts';
import type { MessageState } from '../domain/message-state.ts';
import type { ClaimRequest, DeliveryStore } from '../domain/ports.ts';
import { DELIVERY_COLUMNS, deliveryValues, rowToDelivery, type DeliveryRow } from './rows.ts';
import type { SqlAccess } from './sql-access.ts';

const byQueueOrder = (a: QueueItem, b: QueueItem): number =>
  a.nextAttemptAt - b.nextAttemptAt || a.id - b.id;

/** The delivery queue: every item to every target kind, claimed with leases. */
export class DeliveryTable implements DeliveryStore {
  readonly #db: SqlAccess;
  constructor(db: SqlAccess) {
    this.#db = db;
  }

  /** Inside a transaction of the caller (deliveries committed with their messages). */
  insertDelivery(d: NewDelivery | NewNotice, at: number): void {
    this.#db
      .sql(
        `INSERT INTO delivery (${DELIVERY_COLUMNS}, next_attempt_at, created_at)
         VALUES (${Array(19).fill('?').join(', ')})`,
      )
      .run(...deliveryValues(d), at, at);
  }

  async queueDelivery(d: NewDelivery | NewNotice, at: number): Promise<void> {
    this.#db.tx(() => this.insertDelivery(d, at));
  }

  async claimDeliveries(r: ClaimRequest): Promise<QueueItem[]> {
    // One UPDATE in one write transaction: two claimers (processes or nodes) never take one item.
    const rows = this.#db.tx(
      () =>
        this.#db
          .sql(
            `UPDATE delivery SET lease_holder = ?1, lease_until = ?2 WHERE id IN (
               SELECT id FROM delivery
               WHERE target = ?3 AND status = 'pending' AND next_attempt_at <= ?4
                 AND (lease_until IS NULL OR lease_until <= ?4)
               ORDER BY next_attempt_at, id LIMIT ?5)
             RETURNING *`,
          )
          .all(r.holder, r.now + r.leaseMs, r.target, r.now, r.limit) as unknown as DeliveryRow[],
    );
    return rows.map(rowToDelivery).sort(byQueueOrder);
  }

  async listDeliveries(): Promise<QueueItem[]> {
    const rows = this.#db.sql('SELECT * FROM delivery ORDER BY id').all();
    return (rows as unknown as DeliveryRow[]).map(rowToDelivery);
  }

  async getDelivery(id: number): Promise<QueueItem | null> {
    const row = this.#db.sql('SELECT * FROM delivery WHERE id = ?').get(id);
    return row ? rowToDelivery(row as unknown as DeliveryRow) : null;
  }

  async completeDelivery(id: number, holder: string): Promise<string[] | null> {
    return this.#db.tx(() => {
      const row = this.#db
        .sql('DELETE FROM delivery WHERE id = ? AND lease_holder = ? RETURNING audio_key')
        .get(id, holder) as { audio_key: string | null } | undefined;
      if (!row) return null;
      return row.audio_key === null ? [] : this.#db.unusedAudio([row.audio_key]);
    });
  }

  async deferDelivery(
    id: number,
    holder: string,
    at: number,
    attempts: number,
    error: string,
  ): Promise<boolean> {
    return this.#db.tx(() => {
      const result = this.#db
        .sql(
          `UPDATE delivery SET next_attempt_at = ?, attempts = ?, last_error = ?,
             lease_holder = NULL, lease_until = NULL
           WHERE id = ? AND lease_holder = ?`,
        )
        .run(at, attempts, error, id, holder);
      return Number(result.changes) === 1;
    });
  }

  async failDelivery(
    id: number,
    holder: string,
    error: string,
    keep?: NewMessage,
  ): Promise<boolean> {
    return this.#db.tx(() => {
      const row = this.#db
        .sql(
          `UPDATE delivery SET status = 'failed', attempts = attempts + 1, last_error = ?,
             lease_holder = NULL, lease_until = NULL
           WHERE id = ? AND lease_holder = ? RETURNING message_id`,
        )
        .get(error, id, holder) as { message_id: string | null } | undefined;
      if (!row) return false;
      this.#note(row.message_id, error, keep);
      return true;
    });
  }

  async rescheduleDelivery(id: number, at: number): Promise<void> {
    this.#db.tx(() =>
      this.#db
        .sql("UPDATE delivery SET status = 'pending', next_attempt_at = ? WHERE id = ?")
        .run(at, id),
    );
  }

  async dropDelivery(id: number, keep?: NewMessage): Promise<string[]> {
    return this.#db.tx(() => {
      const row = this.#db.sql('DELETE FROM delivery WHERE id = ? RETURNING audio_key').get(id) as
        { audio_key: string | null } | undefined;
      if (!row) return [];
      if (keep) this.#note(null, 'dropped from the queue', keep);
      return row.audio_key === null ? [] : this.#db.unusedAudio([row.audio_key]);
    });
  }

  /** Inside the caller's transaction: an undeliverable item noted where its owner sees it. */
  #note(messageId: string | null, error: string, keep?: NewMessage): void {
    const at = Date.now();
    if (keep) {
      // An undelivered forward becomes a message in the same transaction: a crash loses neither.
      // Its 'added' entry is in this transaction too, so the error needs no entry of its own.
      this.#db.insertMessage(keep, at);
      this.#db.sql('UPDATE message SET email_error = ? WHERE id = ?').run(error, keep.id);
    } else if (messageId) {
      this.#noteRefusal(messageId, error, at);
    }
  }

  /** A refusal of a kept message's delivery is a change the web list and the live feed must see. */
  #noteRefusal(messageId: string, error: string, at: number): void {
    const current = this.#db
      .sql('SELECT mailbox_id, state, folder, uid FROM message WHERE id = ?')
      .get(messageId) as
      { mailbox_id: number; state: string; folder: string; uid: number } | undefined;
    if (!current) return; // purged while the item waited: nobody is left to tell
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
