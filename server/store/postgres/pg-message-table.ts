import { VoicegateError } from '../../domain/errors.ts';
import type { NewDelivery } from '../../domain/delivery.ts';
import type {
  Change,
  FolderSnapshot,
  MailFolder,
  Message,
  NewMessage,
} from '../../domain/message.ts';
import type { MessageState, StatePair } from '../../domain/message-state.ts';
import type {
  AddedMessages,
  MessageFilter,
  MessagePage,
  MessageQuery,
  StateChange,
} from '../../domain/ports.ts';
import { rowToChange, rowToMessage, type ChangeRow, type MessageRow } from '../rows.ts';
import type { PgAccess, Sql } from './pg-access.ts';
import type { PgDeliveryTable } from './pg-delivery-table.ts';
import { queryMessages } from './pg-message-query.ts';
import type { PgDepositTable } from './pg-side-tables.ts';

const ALL_STATES: readonly MessageState[] = ['new', 'unopened', 'old', 'saved', 'deleted'];

/**
 * Messages, their renditions and the journal, in PostgreSQL. Every change locks its mailbox's
 * row before it reads what it changes, so two nodes changing one mailbox take turns, and UIDs
 * and modseqs are handed out in commit order.
 */
export class PgMessageTable {
  readonly #db: PgAccess;
  readonly #deposits: PgDepositTable;
  deliveries!: PgDeliveryTable;

  constructor(db: PgAccess, deposits: PgDepositTable) {
    this.#db = db;
    this.#deposits = deposits;
  }

  async addMessages(
    messages: NewMessage[],
    at: number,
    deliveries: NewDelivery[] = [],
  ): Promise<AddedMessages> {
    return this.#db.tx(async (t) => {
      await this.#db.lockMailboxes(t, [
        ...messages.map((m) => m.mailboxId),
        ...deliveries.map((d) => d.mailboxId),
      ]);
      const stored: Message[] = [];
      const repeatedIds = new Set<string>();
      const unused: string[] = [];
      for (const m of messages) {
        if (await this.#deposits.claim(t, m.mailboxId, m.identity, at)) {
          stored.push(await this.insertMessage(t, m, at));
          continue;
        }
        repeatedIds.add(m.id);
        unused.push(m.audio.key);
        const before = await t.row<MessageRow>(
          'SELECT * FROM message WHERE mailbox_id = $1 AND identity = $2 ORDER BY received_at, id COLLATE "C" LIMIT 1',
          [m.mailboxId, m.identity],
        );
        if (before) stored.push(rowToMessage(before));
      }
      let repeatedMails = 0;
      for (const mail of deliveries) {
        // A mail about a message goes with it; a forward is a deposit of its own.
        const repeated =
          mail.messageId !== null
            ? repeatedIds.has(mail.messageId)
            : !(await this.#deposits.claim(t, mail.mailboxId, mail.identity, at));
        if (!repeated) {
          await this.deliveries.insertDelivery(t, mail, at);
          continue;
        }
        if (mail.messageId === null) repeatedMails++;
        unused.push(mail.audio.key);
      }
      return {
        messages: stored,
        repeated: repeatedIds.size + repeatedMails,
        unusedAudio: await this.#db.unusedAudio(t, unused),
      };
    });
  }

  /** The next UID of a mailbox's folder, taken under the mailbox's row lock. */
  async #takeUid(t: Sql, mailboxId: number, folder: MailFolder): Promise<number> {
    const column = folder === 'inbox' ? 'uid_next_inbox' : 'uid_next_trash';
    const row = await t.row<{ uid: number }>(
      `UPDATE mailbox SET ${column} = ${column} + 1 WHERE id = $1 RETURNING ${column} - 1 AS uid`,
      [mailboxId],
    );
    if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    return row.uid;
  }

  async insertMessage(t: Sql, m: NewMessage, at: number): Promise<Message> {
    const uid = await this.#takeUid(t, m.mailboxId, 'inbox');
    const modseq = await this.#db.journal(t, m.mailboxId, 'added', m.id, 'new', at, {
      folder: 'inbox',
      uid,
    });
    const row = await t.row<MessageRow>(
      `INSERT INTO message (id, identity, mailbox_id, kind, caller_number, caller_name, received_at, audio_key,
         audio_format, audio_bytes, duration_ms, state, deleted_from, state_changed_at, priority, private,
         origin_server, forwarded_from, modseq, folder, uid)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', NULL, $12, $13, $14, $15, $16, $17, 'inbox', $18)
       RETURNING *`,
      [
        m.id,
        m.identity,
        m.mailboxId,
        m.kind,
        m.callerNumber,
        m.callerName,
        m.receivedAt,
        m.audio.key,
        m.audio.format,
        m.audio.bytes,
        m.audio.durationMs,
        at,
        m.priority,
        m.private ? 1 : 0,
        m.originServer,
        m.forwardedFrom,
        modseq,
        uid,
      ],
    );
    return rowToMessage(row!);
  }

  async getMessage(id: string): Promise<Message | null> {
    const row = await this.#db.sql.row<MessageRow>('SELECT * FROM message WHERE id = $1', [id]);
    return row ? rowToMessage(row) : null;
  }

  async findMessageByIdentity(mailboxId: number, identity: string): Promise<Message | null> {
    const row = await this.#db.sql.row<MessageRow>(
      `SELECT * FROM message WHERE mailbox_id = $1 AND identity = $2
       ORDER BY received_at, id COLLATE "C" LIMIT 1`,
      [mailboxId, identity],
    );
    return row ? rowToMessage(row) : null;
  }

  async listMessages(mailboxId: number, filter: MessageFilter = {}): Promise<Message[]> {
    const rows = await this.#db.sql.rows<MessageRow>(
      `SELECT * FROM message WHERE mailbox_id = $1 AND state = ANY($2::text[]) AND folder = ANY($3::text[])
       ORDER BY received_at, id COLLATE "C"`,
      [
        mailboxId,
        filter.states ?? ALL_STATES,
        filter.folder ? [filter.folder] : ['inbox', 'trash'],
      ],
    );
    return rows.map(rowToMessage);
  }

  /** The message's row after its mailbox's lock is taken: nothing changes it meanwhile. */
  async #lockedMessage(t: Sql, id: string): Promise<MessageRow | undefined> {
    const found = await t.row<{ mailbox_id: number }>(
      'SELECT mailbox_id FROM message WHERE id = $1',
      [id],
    );
    if (!found) return undefined;
    await this.#db.lockMailboxes(t, [found.mailbox_id]);
    return t.row<MessageRow>('SELECT * FROM message WHERE id = $1', [id]);
  }

  async setState(
    id: string,
    from: StatePair,
    to: StatePair,
    folder: MailFolder,
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<Message | null> {
    return this.#db.tx(async (t) => {
      const current = await this.#lockedMessage(t, id);
      if (!current || current.state !== from.state || current.deleted_from !== from.deletedFrom)
        return null;
      const changed = await this.#applyState(t, current, to, folder, at);
      for (const d of deliveries) await this.deliveries.insertDelivery(t, d, at);
      return changed;
    });
  }

  /**
   * Takes the row locks of every mailbox concerned (in id order), then checks every change
   * against the stored state before writing any: all are applied, or none (null).
   */
  async setStates(
    changes: readonly StateChange[],
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<Message[] | null> {
    return this.#db.tx(async (t) => {
      const ids = changes.map((c) => c.id);
      const owners = await t.rows<{ mailbox_id: number }>(
        'SELECT DISTINCT mailbox_id FROM message WHERE id = ANY($1::text[])',
        [ids],
      );
      await this.#db.lockMailboxes(
        t,
        owners.map((o) => o.mailbox_id),
      );
      const rows = await t.rows<MessageRow>('SELECT * FROM message WHERE id = ANY($1::text[])', [
        ids,
      ]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const c of changes) {
        const row = byId.get(c.id);
        if (!row || row.state !== c.from.state || row.deleted_from !== c.from.deletedFrom)
          return null;
      }
      const done: Message[] = [];
      for (const c of changes) {
        const current = await t.row<MessageRow>('SELECT * FROM message WHERE id = $1', [c.id]);
        done.push(await this.#applyState(t, current!, c.to, c.folder, at));
      }
      for (const d of deliveries) await this.deliveries.insertDelivery(t, d, at);
      return done;
    });
  }

  /** A page of the web list (pg-message-query.ts): its total and its rows of one snapshot. */
  async queryMessages(mailboxId: number, query: MessageQuery): Promise<MessagePage> {
    return this.#db.tx(
      (t) => queryMessages(t, mailboxId, query),
      'ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  /** Writes a state change checked by the caller, under its mailbox's lock. */
  async #applyState(
    t: Sql,
    current: MessageRow,
    to: StatePair,
    folder: MailFolder,
    at: number,
  ): Promise<Message> {
    const id = current.id;
    const mailboxId = current.mailbox_id;
    let uid = current.uid;
    let modseq: number;
    if (folder !== current.folder) {
      // A move is an expunge from one folder and an arrival in the other, with one modseq.
      const old = { folder: current.folder as MailFolder, uid: current.uid };
      uid = await this.#takeUid(t, mailboxId, folder);
      modseq = await this.#db.journal(t, mailboxId, 'removed', id, to.state, at, old);
      await this.#db.journal(t, mailboxId, 'added', id, to.state, at, { folder, uid }, modseq);
    } else {
      modseq = await this.#db.journal(t, mailboxId, 'changed', id, to.state, at, {
        folder,
        uid,
      });
    }
    const stateChangedAt = to.state === current.state ? current.state_changed_at : at;
    const row = await t.row<MessageRow>(
      `UPDATE message SET state = $1, deleted_from = $2, state_changed_at = $3, modseq = $4, folder = $5, uid = $6,
         purge_mark = CASE WHEN folder = $5 THEN purge_mark ELSE 0 END
       WHERE id = $7 RETURNING *`,
      [to.state, to.deletedFrom, stateChangedAt, modseq, folder, uid, id],
    );
    return rowToMessage(row!);
  }

  async setPurgeMark(id: string, marked: boolean, at: number): Promise<Message | null> {
    return this.#db.tx(async (t) => {
      const current = await this.#lockedMessage(t, id);
      if (!current || current.folder !== 'trash') return null;
      if ((current.purge_mark === 1) === marked) return rowToMessage(current);
      const modseq = await this.#db.journal(
        t,
        current.mailbox_id,
        'changed',
        id,
        current.state as MessageState,
        at,
        { folder: 'trash', uid: current.uid },
      );
      const row = await t.row<MessageRow>(
        'UPDATE message SET purge_mark = $1, modseq = $2 WHERE id = $3 RETURNING *',
        [marked ? 1 : 0, modseq, id],
      );
      return rowToMessage(row!);
    });
  }

  async folderSnapshot(mailboxId: number, folder: MailFolder): Promise<FolderSnapshot> {
    // One snapshot: the UID list and the modseq describe the same moment.
    return this.#db.tx(async (t) => {
      const box = await t.row<{
        uid_validity: number;
        uid_next_inbox: number;
        uid_next_trash: number;
        modseq: number;
      }>('SELECT uid_validity, uid_next_inbox, uid_next_trash, modseq FROM mailbox WHERE id = $1', [
        mailboxId,
      ]);
      if (!box) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
      const uids = await t.rows<{ uid: number }>(
        'SELECT uid FROM message WHERE mailbox_id = $1 AND folder = $2 ORDER BY uid',
        [mailboxId, folder],
      );
      return {
        uids: uids.map((r) => r.uid),
        uidValidity: box.uid_validity,
        uidNext: folder === 'inbox' ? box.uid_next_inbox : box.uid_next_trash,
        modseq: box.modseq,
      };
    }, 'ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async getRendition(messageId: string, kind: string): Promise<Uint8Array | null> {
    const row = await this.#db.sql.row<{ data: Buffer }>(
      'SELECT data FROM rendition WHERE message_id = $1 AND kind = $2',
      [messageId, kind],
    );
    return row?.data ?? null;
  }

  async putRendition(messageId: string, kind: string, data: Uint8Array): Promise<void> {
    // The first rendition stays: a message renders the same bytes for as long as it exists. A
    // message purged meanwhile leaves nothing to cache.
    await this.#db.sql.rows(
      `INSERT INTO rendition (message_id, kind, data) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM message WHERE id = $1)
       ON CONFLICT DO NOTHING`,
      [messageId, kind, Buffer.from(data.buffer, data.byteOffset, data.byteLength)],
    );
  }

  async purgeMessages(
    ids: string[],
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<string[]> {
    return this.#db.tx(async (t) => {
      const owners = await t.rows<{ mailbox_id: number }>(
        'SELECT DISTINCT mailbox_id FROM message WHERE id = ANY($1::text[])',
        [ids],
      );
      await this.#db.lockMailboxes(
        t,
        owners.map((o) => o.mailbox_id),
      );
      for (const d of deliveries) await this.deliveries.insertDelivery(t, d, at);
      const keys: string[] = [];
      for (const id of ids) {
        const row = await t.row<{
          mailbox_id: number;
          audio_key: string;
          folder: MailFolder;
          uid: number;
        }>('DELETE FROM message WHERE id = $1 RETURNING mailbox_id, audio_key, folder, uid', [id]);
        if (!row) continue;
        keys.push(row.audio_key);
        await this.#db.journal(t, row.mailbox_id, 'removed', id, null, at, {
          folder: row.folder,
          uid: row.uid,
        });
      }
      return this.#db.unusedAudio(t, keys);
    });
  }

  async countByState(mailboxId: number): Promise<Partial<Record<MessageState, number>>> {
    const rows = await this.#db.sql.rows<{ state: MessageState; n: number }>(
      'SELECT state, COUNT(*) AS n FROM message WHERE mailbox_id = $1 GROUP BY state',
      [mailboxId],
    );
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  async messageAges(): Promise<{ id: string; state: MessageState; stateChangedAt: number }[]> {
    const rows = await this.#db.sql.rows<{
      id: string;
      state: MessageState;
      state_changed_at: number;
    }>('SELECT id, state, state_changed_at FROM message');
    return rows.map((r) => ({ id: r.id, state: r.state, stateChangedAt: r.state_changed_at }));
  }

  async changesSince(mailboxId: number, modseq: number): Promise<Change[]> {
    const rows = await this.#db.sql.rows<ChangeRow>(
      'SELECT * FROM journal WHERE mailbox_id = $1 AND modseq > $2 ORDER BY seq',
      [mailboxId, modseq],
    );
    return rows.map(rowToChange);
  }

  async highestModseq(mailboxId: number): Promise<number> {
    const row = await this.#db.sql.row<{ modseq: number }>(
      'SELECT modseq FROM mailbox WHERE id = $1',
      [mailboxId],
    );
    if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    return row.modseq;
  }

  async pruneJournal(before: number): Promise<number> {
    const rows = await this.#db.sql.rows(
      `DELETE FROM journal WHERE at < $1 AND seq NOT IN (SELECT MAX(seq) FROM journal GROUP BY mailbox_id)
       RETURNING 1`,
      [before],
    );
    return rows.length;
  }
}
