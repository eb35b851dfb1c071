import type { NewDelivery, NewNotice, QueueItem } from '../../domain/delivery.ts';
import type { MailFolder, NewMessage } from '../../domain/message.ts';
import type { MessageState } from '../../domain/message-state.ts';
import type { ClaimRequest, DeliveryStore } from '../../domain/ports.ts';
import { DELIVERY_COLUMNS, deliveryValues, rowToDelivery, type DeliveryRow } from '../rows.ts';
import type { PgAccess, Sql } from './pg-access.ts';

const byQueueOrder = (a: QueueItem, b: QueueItem): number =>
  a.nextAttemptAt - b.nextAttemptAt || a.id - b.id;

/** Adds a message inside the caller's transaction (an undelivered forward kept). */
export type InsertMessage = (t: Sql, m: NewMessage, at: number) => Promise<unknown>;

/**
 * The delivery queue in PostgreSQL. Claims lock the due rows with FOR UPDATE SKIP LOCKED, so
 * nodes claiming at once each take other items without waiting; the lease then keeps them.
 */
export class PgDeliveryTable implements DeliveryStore {
  readonly #db: PgAccess;
  readonly #insertMessage: InsertMessage;
  constructor(db: PgAccess, insertMessage: InsertMessage) {
    this.#db = db;
    this.#insertMessage = insertMessage;
  }

  /** Inside a transaction of the caller (deliveries committed with their messages). */
  async insertDelivery(t: Sql, d: NewDelivery | NewNotice, at: number): Promise<void> {
    await t.rows(
      `INSERT INTO delivery (${DELIVERY_COLUMNS}, next_attempt_at, created_at)
       VALUES (${Array.from({ length: 19 }, (_, i) => `$${i + 1}`).join(', ')})`,
      [...deliveryValues(d), at, at],
    );
  }

  async queueDelivery(d: NewDelivery | NewNotice, at: number): Promise<void> {
    await this.#db.tx((t) => this.insertDelivery(t, d, at));
  }

  async claimDeliveries(r: ClaimRequest): Promise<QueueItem[]> {
    const rows = await this.#db.sql.rows<DeliveryRow>(
      `UPDATE delivery SET lease_holder = $1, lease_until = $2 WHERE id IN (
         SELECT id FROM delivery
         WHERE target = $3 AND status = 'pending' AND next_attempt_at <= $4
           AND (lease_until IS NULL OR lease_until <= $4)
         ORDER BY next_attempt_at, id LIMIT $5
         FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [r.holder, r.now + r.leaseMs, r.target, r.now, r.limit],
    );
    return rows.map(rowToDelivery).sort(byQueueOrder);
  }

  async listDeliveries(): Promise<QueueItem[]> {
    const rows = await this.#db.sql.rows<DeliveryRow>('SELECT * FROM delivery ORDER BY id');
    return rows.map(rowToDelivery);
  }

  async getDelivery(id: number): Promise<QueueItem | null> {
    const row = await this.#db.sql.row<DeliveryRow>('SELECT * FROM delivery WHERE id = $1', [id]);
    return row ? rowToDelivery(row) : null;
  }

  async completeDelivery(id: number, holder: string): Promise<string[] | null> {
    return this.#db.tx(async (t) => {
      const row = await t.row<{ audio_key: string | null }>(
        'DELETE FROM delivery WHERE id = $1 AND lease_holder = $2 RETURNING audio_key',
        [id, holder],
      );
      if (!row) return null;
      return row.audio_key === null ? [] : this.#db.unusedAudio(t, [row.audio_key]);
    });
  }

  async deferDelivery(
    id: number,
    holder: string,
    at: number,
    attempts: number,
    error: string,
  ): Promise<boolean> {
    const row = await this.#db.sql.row(
      `UPDATE delivery SET next_attempt_at = $1, attempts = $2, last_error = $3,
         lease_holder = NULL, lease_until = NULL
       WHERE id = $4 AND lease_holder = $5 RETURNING id`,
      [at, attempts, error, id, holder],
    );
    return row !== undefined;
  }

  async failDelivery(
    id: number,
    holder: string,
    error: string,
    keep?: NewMessage,
  ): Promise<boolean> {
    return this.#db.tx(async (t) => {
      const row = await t.row<{ message_id: string | null }>(
        `UPDATE delivery SET status = 'failed', attempts = attempts + 1, last_error = $1,
           lease_holder = NULL, lease_until = NULL
         WHERE id = $2 AND lease_holder = $3 RETURNING message_id`,
        [error, id, holder],
      );
      if (!row) return false;
      await this.#note(t, row.message_id, error, keep);
      return true;
    });
  }

  async rescheduleDelivery(id: number, at: number): Promise<void> {
    await this.#db.sql.rows(
      "UPDATE delivery SET status = 'pending', next_attempt_at = $1 WHERE id = $2",
      [at, id],
    );
  }

  async dropDelivery(id: number, keep?: NewMessage): Promise<string[]> {
    return this.#db.tx(async (t) => {
      const row = await t.row<{ audio_key: string | null }>(
        'DELETE FROM delivery WHERE id = $1 RETURNING audio_key',
        [id],
      );
      if (!row) return [];
      if (keep) await this.#note(t, null, 'dropped from the queue', keep);
      return row.audio_key === null ? [] : this.#db.unusedAudio(t, [row.audio_key]);
    });
  }

  /** Inside the caller's transaction: an undeliverable item noted where its owner sees it. */
  async #note(t: Sql, messageId: string | null, error: string, keep?: NewMessage): Promise<void> {
    const at = Date.now();
    if (keep) {
      // An undelivered forward becomes a message in the same transaction: a crash loses neither.
      await this.#insertMessage(t, keep, at);
      await t.rows('UPDATE message SET email_error = $1 WHERE id = $2', [error, keep.id]);
      return;
    }
    if (!messageId) return;
    const found = await t.row<{ mailbox_id: number }>(
      'SELECT mailbox_id FROM message WHERE id = $1',
      [messageId],
    );
    if (!found) return; // purged while the item waited: nobody is left to tell
    await this.#db.lockMailboxes(t, [found.mailbox_id]);
    const current = await t.row<{ mailbox_id: number; state: string; folder: string; uid: number }>(
      'SELECT mailbox_id, state, folder, uid FROM message WHERE id = $1',
      [messageId],
    );
    if (!current) return;
    // A refusal of a kept message's delivery is a change the web list and the live feed must see.
    const modseq = await this.#db.journal(
      t,
      current.mailbox_id,
      'changed',
      messageId,
      current.state as MessageState,
      at,
      { folder: current.folder as MailFolder, uid: current.uid },
    );
    await t.rows('UPDATE message SET email_error = $1, modseq = $2 WHERE id = $3', [
      error,
      modseq,
      messageId,
    ]);
  }
}
