import type { DatabaseSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';
import type { FolderSnapshot, MailFolder, Message, NewMessage } from '../domain/message.ts';
import type { MessageState, StatePair } from '../domain/message-state.ts';
import type { NewDelivery } from '../domain/delivery.ts';
import type {
  AddedMessages,
  MessageFilter,
  MessagePage,
  MessageQuery,
  StateChange,
} from '../domain/ports.ts';
import type { DeliveryTable } from './delivery-table.ts';
import type { DepositTable } from './deposit-table.ts';
import { queryMessages, setStates } from './message-query.ts';
import { rowToMessage, type MessageRow } from './rows.ts';
import type { SqlAccess } from './sql-access.ts';

/** What the message rows need besides SQL: the deposits made and the delivery queue. */
export interface MessageTableParts {
  /** The connection itself, for the read transaction of a folder's snapshot. */
  connection: DatabaseSync;
  deposits: DepositTable;
  deliveries: DeliveryTable;
}

/** The messages: deposits, reads, state changes and moves, purges, and their renditions. */
export class MessageTable {
  readonly #db: SqlAccess;
  readonly #parts: MessageTableParts;
  constructor(db: SqlAccess, parts: MessageTableParts) {
    this.#db = db;
    this.#parts = parts;
  }

  /**
   * A group of deposits, inside the caller's transaction (the group commit's): each new
   * voicemail is inserted; a resend (its identity deposited before) is answered with the message
   * it made, and its audio is reported unused.
   */
  deposit(messages: NewMessage[], at: number, deliveries: NewDelivery[]): AddedMessages {
    const { deposits } = this.#parts;
    const stored: Message[] = [];
    const repeatedIds = new Set<string>();
    const unused: string[] = [];
    for (const m of messages) {
      if (deposits.claim(m.mailboxId, m.identity, at)) {
        stored.push(this.insertMessage(m, at));
        continue;
      }
      repeatedIds.add(m.id);
      unused.push(m.audio.key);
      const before = this.#byIdentity(m.mailboxId, m.identity);
      if (before) stored.push(rowToMessage(before));
    }
    let repeatedMails = 0;
    for (const mail of deliveries) {
      // A mail about a message goes with it; a forward is a deposit of its own.
      const repeated =
        mail.messageId !== null
          ? repeatedIds.has(mail.messageId)
          : !deposits.claim(mail.mailboxId, mail.identity, at);
      if (!repeated) {
        this.#parts.deliveries.insertDelivery(mail, at);
        continue;
      }
      if (mail.messageId === null) repeatedMails++;
      unused.push(mail.audio.key);
    }
    return {
      messages: stored,
      repeated: repeatedIds.size + repeatedMails,
      unusedAudio: this.#db.unusedAudio(unused),
    };
  }

  insertMessage(m: NewMessage, at: number): Message {
    // The UID and the modseq taken in one statement: a deposit's own row of its mailbox.
    const taken = this.#db
      .sql(
        `UPDATE mailbox SET uid_next_inbox = uid_next_inbox + 1, modseq = modseq + 1 WHERE id = ?
           RETURNING uid_next_inbox - 1 AS uid, modseq`,
      )
      .get(m.mailboxId) as { uid: number; modseq: number } | undefined;
    if (!taken) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    const { uid } = taken;
    const modseq = this.#db.journal(
      m.mailboxId,
      'added',
      m.id,
      'new',
      at,
      { folder: 'inbox', uid },
      taken.modseq,
    );
    const row = this.#db
      .sql(
        `INSERT INTO message (id, identity, mailbox_id, kind, caller_number, caller_name, received_at, audio_key,
             audio_format, audio_bytes, duration_ms, state, deleted_from, state_changed_at, priority, private,
             origin_server, forwarded_from, modseq, folder, uid)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', NULL, ?, ?, ?, ?, ?, ?, 'inbox', ?) RETURNING *`,
      )
      .get(
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
      ) as unknown as MessageRow;
    return rowToMessage(row);
  }

  /** The next UID of a mailbox's folder, taken. */
  #takeUid(mailboxId: number, folder: MailFolder): number {
    const column = folder === 'inbox' ? 'uid_next_inbox' : 'uid_next_trash';
    const row = this.#db
      .sql(
        `UPDATE mailbox SET ${column} = ${column} + 1 WHERE id = ? RETURNING ${column} - 1 AS uid`,
      )
      .get(mailboxId) as { uid: number } | undefined;
    if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    return row.uid;
  }

  #row(id: string): MessageRow | undefined {
    return this.#db.sql('SELECT * FROM message WHERE id = ?').get(id) as unknown as
      MessageRow | undefined;
  }

  #byIdentity(mailboxId: number, identity: string): MessageRow | undefined {
    return this.#db
      .sql(
        'SELECT * FROM message WHERE mailbox_id = ? AND identity = ? ORDER BY received_at, id LIMIT 1',
      )
      .get(mailboxId, identity) as unknown as MessageRow | undefined;
  }

  async getMessage(id: string): Promise<Message | null> {
    const row = this.#row(id);
    return row ? rowToMessage(row) : null;
  }

  async findMessageByIdentity(mailboxId: number, identity: string): Promise<Message | null> {
    const row = this.#byIdentity(mailboxId, identity);
    return row ? rowToMessage(row) : null;
  }

  async listMessages(mailboxId: number, filter: MessageFilter = {}): Promise<Message[]> {
    const states = filter.states ?? ['new', 'unopened', 'old', 'saved', 'deleted'];
    const folders = filter.folder ? [filter.folder] : ['inbox', 'trash'];
    const rows = this.#db
      .sql(
        `SELECT * FROM message WHERE mailbox_id = ? AND state IN (${states.map(() => '?').join(',')})
         AND folder IN (${folders.map(() => '?').join(',')}) ORDER BY received_at, id`,
      )
      .all(mailboxId, ...states, ...folders);
    return (rows as unknown as MessageRow[]).map(rowToMessage);
  }

  async setState(
    id: string,
    from: StatePair,
    to: StatePair,
    folder: MailFolder,
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<Message | null> {
    return this.#db.tx(() => {
      const current = this.#row(id);
      if (!current || current.state !== from.state || current.deleted_from !== from.deletedFrom)
        return null;
      const changed = this.#applyState(current, to, folder, at);
      for (const d of deliveries) this.#parts.deliveries.insertDelivery(d, at);
      return changed;
    });
  }

  async setStates(
    changes: readonly StateChange[],
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<Message[] | null> {
    return this.#db.tx(() => {
      const changed = setStates(this.#db, changes, (c) =>
        this.#applyState(this.#row(c.id)!, c.to, c.folder, at),
      );
      if (changed) for (const d of deliveries) this.#parts.deliveries.insertDelivery(d, at);
      return changed;
    });
  }

  async queryMessages(mailboxId: number, query: MessageQuery): Promise<MessagePage> {
    return queryMessages(this.#db, mailboxId, query);
  }

  /** Writes a state change checked by the caller, inside its transaction. */
  #applyState(current: MessageRow, to: StatePair, folder: MailFolder, at: number): Message {
    const id = current.id;
    const mailboxId = current.mailbox_id;
    let uid = current.uid;
    let modseq: number;
    if (folder !== current.folder) {
      // A move is an expunge from one folder and an arrival in the other, with one modseq.
      const old = { folder: current.folder as MailFolder, uid: current.uid };
      uid = this.#takeUid(mailboxId, folder);
      modseq = this.#db.journal(mailboxId, 'removed', id, to.state, at, old);
      this.#db.journal(mailboxId, 'added', id, to.state, at, { folder, uid }, modseq);
    } else {
      modseq = this.#db.journal(mailboxId, 'changed', id, to.state, at, { folder, uid });
    }
    const stateChangedAt = to.state === current.state ? current.state_changed_at : at;
    const row = this.#db
      .sql(
        'UPDATE message SET state = ?, deleted_from = ?, state_changed_at = ?, modseq = ?, folder = ?, uid = ?, purge_mark = CASE WHEN folder = ? THEN purge_mark ELSE 0 END WHERE id = ? RETURNING *',
      )
      .get(
        to.state,
        to.deletedFrom,
        stateChangedAt,
        modseq,
        folder,
        uid,
        folder,
        id,
      ) as unknown as MessageRow;
    return rowToMessage(row);
  }

  async setPurgeMark(id: string, marked: boolean, at: number): Promise<Message | null> {
    return this.#db.tx(() => {
      const current = this.#row(id);
      if (!current || current.folder !== 'trash') return null;
      if ((current.purge_mark === 1) === marked) return rowToMessage(current);
      const modseq = this.#db.journal(
        current.mailbox_id,
        'changed',
        id,
        current.state as MessageState,
        at,
        { folder: 'trash', uid: current.uid },
      );
      const row = this.#db
        .sql('UPDATE message SET purge_mark = ?, modseq = ? WHERE id = ? RETURNING *')
        .get(marked ? 1 : 0, modseq, id) as unknown as MessageRow;
      return rowToMessage(row);
    });
  }

  async folderSnapshot(mailboxId: number, folder: MailFolder): Promise<FolderSnapshot> {
    // One read transaction: the UID list and the modseq describe the same moment.
    const { connection } = this.#parts;
    connection.exec('BEGIN');
    try {
      const box = this.#db
        .sql(
          'SELECT uid_validity, uid_next_inbox, uid_next_trash, modseq FROM mailbox WHERE id = ?',
        )
        .get(mailboxId) as
        | { uid_validity: number; uid_next_inbox: number; uid_next_trash: number; modseq: number }
        | undefined;
      if (!box) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
      const uids = (
        this.#db
          .sql('SELECT uid FROM message WHERE mailbox_id = ? AND folder = ? ORDER BY uid')
          .all(mailboxId, folder) as { uid: number }[]
      ).map((r) => r.uid);
      return {
        uids,
        uidValidity: box.uid_validity,
        uidNext: folder === 'inbox' ? box.uid_next_inbox : box.uid_next_trash,
        modseq: box.modseq,
      };
    } finally {
      connection.exec('COMMIT');
    }
  }

  async getRendition(messageId: string, kind: string): Promise<Uint8Array | null> {
    const row = this.#db
      .sql('SELECT data FROM rendition WHERE message_id = ? AND kind = ?')
      .get(messageId, kind) as { data: Uint8Array } | undefined;
    return row?.data ?? null;
  }

  async putRendition(messageId: string, kind: string, data: Uint8Array): Promise<void> {
    // The first rendition stays: a message renders the same bytes for as long as it exists.
    this.#db.tx(() =>
      this.#db
        .sql('INSERT OR IGNORE INTO rendition (message_id, kind, data) VALUES (?, ?, ?)')
        .run(messageId, kind, data),
    );
  }

  async purgeMessages(
    ids: string[],
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<string[]> {
    return this.#db.tx(() => {
      for (const d of deliveries) this.#parts.deliveries.insertDelivery(d, at);
      const keys: string[] = [];
      for (const id of ids) {
        const row = this.#db
          .sql('DELETE FROM message WHERE id = ? RETURNING mailbox_id, audio_key, folder, uid')
          .get(id) as
          { mailbox_id: number; audio_key: string; folder: MailFolder; uid: number } | undefined;
        if (!row) continue;
        keys.push(row.audio_key);
        this.#db.journal(row.mailbox_id, 'removed', id, null, at, {
          folder: row.folder,
          uid: row.uid,
        });
      }
      return this.#db.unusedAudio(keys);
    });
  }

  async countByState(mailboxId: number): Promise<Partial<Record<MessageState, number>>> {
    const rows = this.#db
      .sql('SELECT state, COUNT(*) AS n FROM message WHERE mailbox_id = ? GROUP BY state')
      .all(mailboxId) as { state: MessageState; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  async messageAges(): Promise<{ id: string; state: MessageState; stateChangedAt: number }[]> {
    const rows = this.#db.sql('SELECT id, state, state_changed_at FROM message').all() as {
      id: string;
      state: MessageState;
      state_changed_at: number;
    }[];
    return rows.map((r) => ({ id: r.id, state: r.state, stateChangedAt: r.state_changed_at }));
  }
}
