import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';
import type { GreetingKind, MailboxChanges, MailboxRecord } from '../domain/mailbox.ts';
import type {
  AudioRef,
  Change,
  FolderSnapshot,
  Greeting,
  MailFolder,
  Message,
  NewMessage,
} from '../domain/message.ts';
import type { MessageState, StatePair } from '../domain/message-state.ts';
import type { NewMail, OutboxItem } from '../domain/outbox.ts';
import type { MessageFilter, NewMailbox, VoicemailStore, WebSession } from '../domain/ports.ts';
import { JournalFeed } from './change-feed.ts';
import { GreetingTable } from './greeting-table.ts';
import { OutboxTable } from './outbox-table.ts';
import { MAILBOX_COLUMNS, storeError, type SqlAccess, type SqlValue } from './sql-access.ts';
import { WebSessionTable } from './web-session-table.ts';
import { migrate } from './migrations.ts';
import {
  rowToChange,
  rowToMailbox,
  rowToMessage,
  type ChangeRow,
  type MailboxRow,
  type MessageRow,
} from './rows.ts';

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so that every commit is
 * on disk before the call returns (nothing is acknowledged before it is durable).
 */
export class SqliteStore implements VoicemailStore, SqlAccess {
  readonly db: DatabaseSync;
  readonly feed: JournalFeed;
  readonly #statements = new Map<string, StatementSync>();

  constructor(
    path: string,
    opts: { feedIntervalMs?: number; onFeedError?: (err: unknown) => void } = {},
  ) {
    this.db = new DatabaseSync(path, { timeout: 5000 });
    try {
      this.db.exec(
        'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;',
      );
      migrate(this.db);
    } catch (err) {
      this.db.close();
      throw storeError(err);
    }
    this.feed = new JournalFeed(this.db, {
      intervalMs: opts.feedIntervalMs,
      onError: opts.onFeedError,
    });
    this.#outbox = new OutboxTable(this);
    this.#sessions = new WebSessionTable(this);
    this.#greetings = new GreetingTable(this);
  }

  /** Prepared once per SQL text: preparing is a large part of a small query's cost. */
  sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in one write transaction; journal entries written inside reach the feed after commit. */
  tx<T>(fn: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw storeError(err);
    }
    let result: T;
    try {
      result = fn();
      this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw storeError(err);
    }
    this.feed.poke();
    return result;
  }

  journal(
    mailboxId: number,
    kind: Change['kind'],
    messageId: string | null,
    state: MessageState | null,
    at: number,
    place: { folder: MailFolder; uid: number } | null = null,
    modseq?: number,
  ): number {
    if (modseq === undefined) {
      const row = this.sql(
        'UPDATE mailbox SET modseq = modseq + 1 WHERE id = ? RETURNING modseq',
      ).get(mailboxId) as { modseq: number } | undefined;
      modseq = row?.modseq ?? 0;
    }
    this.sql(
      'INSERT INTO journal (mailbox_id, modseq, kind, message_id, state, folder, uid, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(mailboxId, modseq, kind, messageId, state, place?.folder ?? null, place?.uid ?? null, at);
    return modseq;
  }

  /** The next UID of a mailbox's folder, taken. */
  #takeUid(mailboxId: number, folder: MailFolder): number {
    const column = folder === 'inbox' ? 'uid_next_inbox' : 'uid_next_trash';
    const row = this.sql(
      `UPDATE mailbox SET ${column} = ${column} + 1 WHERE id = ? RETURNING ${column} - 1 AS uid`,
    ).get(mailboxId) as { uid: number } | undefined;
    if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    return row.uid;
  }

  unusedAudio(keys: string[]): string[] {
    const used = this.sql(
      `SELECT 1 FROM message WHERE audio_key = ?1 UNION ALL SELECT 1 FROM greeting WHERE audio_key = ?1
       UNION ALL SELECT 1 FROM outbox WHERE audio_key = ?1 LIMIT 1`,
    );
    return [...new Set(keys)].filter((k) => used.get(k) === undefined);
  }

  // Mailboxes

  async createMailbox(m: NewMailbox): Promise<MailboxRecord> {
    return this.tx(() => {
      const row = this.sql(
        `INSERT INTO mailbox (kind, name, extension, full_name, code_hash, email, email_mode, ums_access, locale,
             time_zone, trusted_numbers, breakouts, broadcast, created_at, uid_validity, active_greeting)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      ).get(
        m.kind,
        m.name,
        m.extension,
        m.fullName,
        m.codeHash,
        m.email,
        m.emailMode,
        m.umsAccess ? 1 : 0,
        m.locale,
        m.timeZone,
        JSON.stringify(m.trustedNumbers),
        JSON.stringify(m.breakouts),
        m.broadcast ? 1 : 0,
        Date.now(),
        // UIDVALIDITY: seconds since 1970, as Dovecot does; a re-created mailbox gets a new one.
        Math.floor(Date.now() / 1000),
        m.activeGreeting,
      ) as unknown as MailboxRow;
      this.journal(row.id, 'mailbox', null, null, Date.now());
      return rowToMailbox(row);
    });
  }

  async updateMailbox(id: number, changes: MailboxChanges): Promise<MailboxRecord> {
    const sets: string[] = [];
    const values: SqlValue[] = [];
    for (const [key, value] of Object.entries(changes)) {
      const column = MAILBOX_COLUMNS[key as keyof MailboxChanges];
      if (!column || value === undefined) continue;
      sets.push(`${column[0]} = ?`);
      values.push(column[1](value as never));
    }
    return this.tx(() => {
      if (sets.length > 0)
        this.sql(`UPDATE mailbox SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
      this.journal(id, 'mailbox', null, null, Date.now());
      const row = this.sql('SELECT * FROM mailbox WHERE id = ?').get(id) as unknown as
        MailboxRow | undefined;
      if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
      return rowToMailbox(row);
    });
  }

  async setCodeHash(id: number, codeHash: string): Promise<void> {
    this.tx(() => this.sql('UPDATE mailbox SET code_hash = ? WHERE id = ?').run(codeHash, id));
  }

  async setLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void> {
    this.tx(() =>
      this.sql('UPDATE mailbox SET failed_logins = ?, locked_until = ? WHERE id = ?').run(
        failures,
        lockedUntil,
        id,
      ),
    );
  }

  async removeMailbox(id: number): Promise<string[]> {
    return this.tx(() => {
      const keys = (
        this.sql(
          `SELECT audio_key FROM message WHERE mailbox_id = ?1 UNION SELECT audio_key FROM greeting WHERE mailbox_id = ?1
           UNION SELECT audio_key FROM outbox WHERE mailbox_id = ?1`,
        ).all(id) as { audio_key: string }[]
      ).map((r) => r.audio_key);
      this.sql('DELETE FROM mailbox WHERE id = ?').run(id);
      this.sql(
        "INSERT INTO journal (mailbox_id, modseq, kind, message_id, state, at) VALUES (?, 0, 'mailbox', NULL, NULL, ?)",
      ).run(id, Date.now());
      return this.unusedAudio(keys);
    });
  }

  async getMailbox(id: number): Promise<MailboxRecord | null> {
    const row = this.sql('SELECT * FROM mailbox WHERE id = ?').get(id) as unknown as
      MailboxRow | undefined;
    return row ? rowToMailbox(row) : null;
  }

  async findMailbox(nameOrExtension: string): Promise<MailboxRecord | null> {
    const row = (this.sql('SELECT * FROM mailbox WHERE name = ?').get(nameOrExtension) ??
      this.sql('SELECT * FROM mailbox WHERE extension = ?').get(nameOrExtension)) as unknown as
      MailboxRow | undefined;
    return row ? rowToMailbox(row) : null;
  }

  async listMailboxes(): Promise<MailboxRecord[]> {
    const rows = this.sql(
      'SELECT * FROM mailbox ORDER BY extension IS NULL, length(extension), extension, name',
    ).all();
    return (rows as unknown as MailboxRow[]).map(rowToMailbox);
  }

  async setGroupMembers(groupId: number, memberIds: number[]): Promise<void> {
    this.tx(() => {
      this.sql('DELETE FROM group_member WHERE group_id = ?').run(groupId);
      const add = this.sql('INSERT INTO group_member (group_id, member_id) VALUES (?, ?)');
      for (const id of memberIds) add.run(groupId, id);
      this.journal(groupId, 'mailbox', null, null, Date.now());
    });
  }

  async groupMembers(groupId: number): Promise<number[]> {
    const rows = this.sql(
      'SELECT member_id FROM group_member WHERE group_id = ? ORDER BY member_id',
    ).all(groupId);
    return (rows as { member_id: number }[]).map((r) => r.member_id);
  }

  // Messages

  async addMessages(messages: NewMessage[], at: number, mails: NewMail[] = []): Promise<Message[]> {
    return this.tx(() => {
      for (const mail of mails) this.#outbox.insertMail(mail, at);
      return messages.map((m) => this.insertMessage(m, at));
    });
  }

  insertMessage(m: NewMessage, at: number): Message {
    const uid = this.#takeUid(m.mailboxId, 'inbox');
    const modseq = this.journal(m.mailboxId, 'added', m.id, 'new', at, {
      folder: 'inbox',
      uid,
    });
    const row = this.sql(
      `INSERT INTO message (id, mailbox_id, kind, caller_number, caller_name, received_at, audio_key, audio_format,
             audio_bytes, duration_ms, state, deleted_from, state_changed_at, priority, private, origin_server,
             forwarded_from, modseq, folder, uid)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', NULL, ?, ?, ?, ?, ?, ?, 'inbox', ?) RETURNING *`,
    ).get(
      m.id,
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

  async getMessage(id: string): Promise<Message | null> {
    const row = this.sql('SELECT * FROM message WHERE id = ?').get(id) as unknown as
      MessageRow | undefined;
    return row ? rowToMessage(row) : null;
  }

  async listMessages(mailboxId: number, filter: MessageFilter = {}): Promise<Message[]> {
    const states = filter.states ?? ['new', 'unopened', 'old', 'saved', 'deleted'];
    const folders = filter.folder ? [filter.folder] : ['inbox', 'trash'];
    const rows = this.sql(
      `SELECT * FROM message WHERE mailbox_id = ? AND state IN (${states.map(() => '?').join(',')})
         AND folder IN (${folders.map(() => '?').join(',')}) ORDER BY received_at, id`,
    ).all(mailboxId, ...states, ...folders);
    return (rows as unknown as MessageRow[]).map(rowToMessage);
  }

  async setState(
    id: string,
    from: StatePair,
    to: StatePair,
    folder: MailFolder,
    at: number,
  ): Promise<Message | null> {
    return this.tx(() => {
      const current = this.sql('SELECT * FROM message WHERE id = ?').get(id) as unknown as
        MessageRow | undefined;
      if (!current || current.state !== from.state || current.deleted_from !== from.deletedFrom)
        return null;
      const mailboxId = current.mailbox_id;
      let uid = current.uid;
      let modseq: number;
      if (folder !== current.folder) {
        // A move is an expunge from one folder and an arrival in the other, with one modseq.
        const old = { folder: current.folder as MailFolder, uid: current.uid };
        uid = this.#takeUid(mailboxId, folder);
        modseq = this.journal(mailboxId, 'removed', id, to.state, at, old);
        this.journal(mailboxId, 'added', id, to.state, at, { folder, uid }, modseq);
      } else {
        modseq = this.journal(mailboxId, 'changed', id, to.state, at, { folder, uid });
      }
      const stateChangedAt = to.state === current.state ? current.state_changed_at : at;
      const row = this.sql(
        'UPDATE message SET state = ?, deleted_from = ?, state_changed_at = ?, modseq = ?, folder = ?, uid = ?, purge_mark = CASE WHEN folder = ? THEN purge_mark ELSE 0 END WHERE id = ? RETURNING *',
      ).get(
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
    });
  }

  async setPurgeMark(id: string, marked: boolean, at: number): Promise<Message | null> {
    return this.tx(() => {
      const current = this.sql('SELECT * FROM message WHERE id = ?').get(id) as unknown as
        MessageRow | undefined;
      if (!current || current.folder !== 'trash') return null;
      if ((current.purge_mark === 1) === marked) return rowToMessage(current);
      const modseq = this.journal(
        current.mailbox_id,
        'changed',
        id,
        current.state as MessageState,
        at,
        {
          folder: 'trash',
          uid: current.uid,
        },
      );
      const row = this.sql(
        'UPDATE message SET purge_mark = ?, modseq = ? WHERE id = ? RETURNING *',
      ).get(marked ? 1 : 0, modseq, id) as unknown as MessageRow;
      return rowToMessage(row);
    });
  }

  async folderSnapshot(mailboxId: number, folder: MailFolder): Promise<FolderSnapshot> {
    // One read transaction: the UID list and the modseq describe the same moment.
    this.db.exec('BEGIN');
    try {
      const box = this.sql(
        'SELECT uid_validity, uid_next_inbox, uid_next_trash, modseq FROM mailbox WHERE id = ?',
      ).get(mailboxId) as
        | { uid_validity: number; uid_next_inbox: number; uid_next_trash: number; modseq: number }
        | undefined;
      if (!box) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
      const uids = (
        this.sql('SELECT uid FROM message WHERE mailbox_id = ? AND folder = ? ORDER BY uid').all(
          mailboxId,
          folder,
        ) as {
          uid: number;
        }[]
      ).map((r) => r.uid);
      return {
        uids,
        uidValidity: box.uid_validity,
        uidNext: folder === 'inbox' ? box.uid_next_inbox : box.uid_next_trash,
        modseq: box.modseq,
      };
    } finally {
      this.db.exec('COMMIT');
    }
  }

  async getRendition(messageId: string, kind: string): Promise<Uint8Array | null> {
    const row = this.sql('SELECT data FROM rendition WHERE message_id = ? AND kind = ?').get(
      messageId,
      kind,
    ) as { data: Uint8Array } | undefined;
    return row?.data ?? null;
  }

  async putRendition(messageId: string, kind: string, data: Uint8Array): Promise<void> {
    // The first rendition stays: a message renders the same bytes for as long as it exists.
    this.tx(() =>
      this.sql('INSERT OR IGNORE INTO rendition (message_id, kind, data) VALUES (?, ?, ?)').run(
        messageId,
        kind,
        data,
      ),
    );
  }

  async purgeMessages(ids: string[], at: number): Promise<string[]> {
    return this.tx(() => {
      const keys: string[] = [];
      for (const id of ids) {
        const row = this.sql(
          'DELETE FROM message WHERE id = ? RETURNING mailbox_id, audio_key, folder, uid',
        ).get(id) as
          { mailbox_id: number; audio_key: string; folder: MailFolder; uid: number } | undefined;
        if (!row) continue;
        keys.push(row.audio_key);
        this.journal(row.mailbox_id, 'removed', id, null, at, {
          folder: row.folder,
          uid: row.uid,
        });
      }
      return this.unusedAudio(keys);
    });
  }

  async countByState(mailboxId: number): Promise<Partial<Record<MessageState, number>>> {
    const rows = this.sql(
      'SELECT state, COUNT(*) AS n FROM message WHERE mailbox_id = ? GROUP BY state',
    ).all(mailboxId) as { state: MessageState; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  async messageAges(): Promise<{ id: string; state: MessageState; stateChangedAt: number }[]> {
    const rows = this.sql('SELECT id, state, state_changed_at FROM message').all() as {
      id: string;
      state: MessageState;
      state_changed_at: number;
    }[];
    return rows.map((r) => ({ id: r.id, state: r.state, stateChangedAt: r.state_changed_at }));
  }

  // Greetings (a table of their own)

  readonly #greetings: GreetingTable;
  setGreeting(
    mailboxId: number,
    kind: GreetingKind,
    audio: AudioRef,
    at: number,
  ): Promise<string[]> {
    return this.#greetings.setGreeting(mailboxId, kind, audio, at);
  }
  listGreetings(mailboxId: number): Promise<Greeting[]> {
    return this.#greetings.listGreetings(mailboxId);
  }
  removeGreeting(mailboxId: number, kind: GreetingKind, at: number): Promise<string[]> {
    return this.#greetings.removeGreeting(mailboxId, kind, at);
  }

  // Journal

  async changesSince(mailboxId: number, modseq: number): Promise<Change[]> {
    const rows = this.sql(
      'SELECT * FROM journal WHERE mailbox_id = ? AND modseq > ? ORDER BY seq',
    ).all(mailboxId, modseq);
    return (rows as unknown as ChangeRow[]).map(rowToChange);
  }

  async highestModseq(mailboxId: number): Promise<number> {
    const row = this.sql('SELECT modseq FROM mailbox WHERE id = ?').get(mailboxId) as
      { modseq: number } | undefined;
    if (!row) throw new VoicegateError('NOT_FOUND', 'mailbox no longer exists');
    return row.modseq;
  }

  async pruneJournal(before: number): Promise<number> {
    return this.tx(() => {
      const result = this.sql(
        'DELETE FROM journal WHERE at < ? AND seq NOT IN (SELECT MAX(seq) FROM journal GROUP BY mailbox_id)',
      ).run(before);
      return Number(result.changes);
    });
  }

  // The outgoing mail queue and web sessions live in tables of their own.

  readonly #outbox: OutboxTable;
  readonly #sessions: WebSessionTable;
  queueMail(mail: NewMail, at: number): Promise<void> {
    return this.#outbox.queueMail(mail, at);
  }
  dueMail(now: number, limit: number): Promise<OutboxItem[]> {
    return this.#outbox.dueMail(now, limit);
  }
  listOutbox(): Promise<OutboxItem[]> {
    return this.#outbox.listOutbox();
  }
  removeMail(id: number): Promise<string[]> {
    return this.#outbox.removeMail(id);
  }
  retryMailAt(id: number, at: number, attempts: number, error: string | null): Promise<void> {
    return this.#outbox.retryMailAt(id, at, attempts, error);
  }
  failMail(id: number, error: string, keep?: NewMessage): Promise<void> {
    return this.#outbox.failMail(id, error, keep);
  }
  createWebSession(s: WebSession): Promise<void> {
    return this.#sessions.createWebSession(s);
  }
  getWebSession(tokenHash: string, now: number): Promise<WebSession | null> {
    return this.#sessions.getWebSession(tokenHash, now);
  }
  extendWebSession(tokenHash: string, expiresAt: number): Promise<void> {
    return this.#sessions.extendWebSession(tokenHash, expiresAt);
  }
  deleteWebSession(tokenHash: string): Promise<void> {
    return this.#sessions.deleteWebSession(tokenHash);
  }
  deleteWebSessionsOf(mailboxId: number, except?: string): Promise<void> {
    return this.#sessions.deleteWebSessionsOf(mailboxId, except);
  }

  /** Every audio key a message or greeting refers to (for sweeping files a crash left behind). */
  referencedAudio(): Set<string> {
    const rows = this.sql(
      'SELECT audio_key FROM message UNION SELECT audio_key FROM greeting UNION SELECT audio_key FROM outbox',
    ).all() as { audio_key: string }[];
    return new Set(rows.map((r) => r.audio_key));
  }

  async close(): Promise<void> {
    this.feed.stop();
    if (this.db.isOpen) this.db.close();
  }
}
