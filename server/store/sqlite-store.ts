import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { VoicegateError } from '../domain/errors.ts';
import type {
  GreetingKind,
  MailboxChanges,
  MailboxRecord,
  SipCredentials,
} from '../domain/mailbox.ts';
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
import type { NewDelivery, NewNotice, QueueItem } from '../domain/delivery.ts';
import type {
  AddedMessages,
  ClaimRequest,
  MessageFilter,
  MessagePage,
  MessageQuery,
  NewMailbox,
  StateChange,
  VoicemailStore,
  WebSession,
} from '../domain/ports.ts';
import { JournalFeed } from './change-feed.ts';
import { DepositTable } from './deposit-table.ts';
import { GreetingTable } from './greeting-table.ts';
import { MailboxTable } from './mailbox-table.ts';
import { DeliveryTable } from './delivery-table.ts';
import { storeError, type SqlAccess } from './sql-access.ts';
import { WebSessionTable } from './web-session-table.ts';
import { WebPreferenceTable } from './web-preference-table.ts';
import type { WebPreferences } from '../domain/web-preferences.ts';
import { migrate } from './migrations.ts';
import { GroupCommit } from './group-commit.ts';
import { ExchangeTable } from './exchange-table.ts';
import { EmailReadingTable } from './email-reading-table.ts';
import type { StoredEmailReading } from '../domain/email-reading.ts';
import type { ExchangeItemRef, MailboxHome } from '../domain/exchange.ts';
import { queryMessages, setStates } from './message-query.ts';
import { AdminTable } from './admin-table.ts';
import { AuditTable } from './audit-table.ts';
import type { AdminRecord, AdminSession } from '../domain/admin.ts';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../domain/audit.ts';
import { rowToChange, rowToMessage, type ChangeRow, type MessageRow } from './rows.ts';

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
    const walFile = path === ':memory:' ? undefined : `${path}-wal`;
    this.#lastJournalSeq = this.db.prepare('SELECT MAX(seq) AS seq FROM journal');
    this.feed = new JournalFeed(this.db, {
      intervalMs: opts.feedIntervalMs,
      onError: opts.onFeedError,
      walFile,
    });
    this.#deliveries = new DeliveryTable(this);
    this.#sessions = new WebSessionTable(this);
    this.#greetings = new GreetingTable(this);
    this.#preferences = new WebPreferenceTable(this);
    this.#deposits = new DepositTable(this);
    this.#group = new GroupCommit(this.db, walFile, () => {
      // Rows up to here are the group's (and durable ones before): announced once it is durable.
      const upTo = this.#lastJournalSeq.get() as { seq: number | null };
      return () => this.feed.poke(upTo.seq ?? 0);
    });
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

  groupTx<T>(fn: () => T): Promise<T> {
    return this.#group.run(fn);
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
       UNION ALL SELECT 1 FROM delivery WHERE audio_key = ?1 LIMIT 1`,
    );
    return [...new Set(keys)].filter((k) => used.get(k) === undefined);
  }

  // Mailboxes (a table of their own)
  readonly #mailboxes = new MailboxTable(this);
  createMailbox(m: NewMailbox): Promise<MailboxRecord> {
    return this.#mailboxes.createMailbox(m);
  }
  updateMailbox(id: number, changes: MailboxChanges): Promise<MailboxRecord> {
    return this.#mailboxes.updateMailbox(id, changes);
  }
  setCodeHash(id: number, codeHash: string): Promise<void> {
    return this.#mailboxes.setCodeHash(id, codeHash);
  }
  setSipCredentials(id: number, sip: SipCredentials | null): Promise<void> {
    return this.#mailboxes.setSipCredentials(id, sip);
  }
  setLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void> {
    return this.#mailboxes.setLoginState(id, failures, lockedUntil);
  }
  reserveLogin(id: number, now: number, limit: number, lockUntil: number): Promise<number | null> {
    return this.#mailboxes.reserveLogin(id, now, limit, lockUntil);
  }
  recordNoLogin(): Promise<void> {
    return this.#mailboxes.recordNoLogin();
  }
  removeMailbox(id: number): Promise<string[]> {
    return this.#mailboxes.removeMailbox(id);
  }
  getMailbox(id: number): Promise<MailboxRecord | null> {
    return this.#mailboxes.getMailbox(id);
  }
  findMailbox(nameOrExtension: string): Promise<MailboxRecord | null> {
    return this.#mailboxes.findMailbox(nameOrExtension);
  }
  listMailboxes(): Promise<MailboxRecord[]> {
    return this.#mailboxes.listMailboxes();
  }
  setGroupMembers(groupId: number, memberIds: number[]): Promise<void> {
    return this.#mailboxes.setGroupMembers(groupId, memberIds);
  }
  groupMembers(groupId: number): Promise<number[]> {
    return this.#mailboxes.groupMembers(groupId);
  }

  // Messages

  readonly #deposits: DepositTable;
  /** Deposits and log-ins' writes ready at about the same time share a commit (group-commit.ts). */
  readonly #group: GroupCommit;
  readonly #lastJournalSeq: StatementSync;
  async addMessages(
    messages: NewMessage[],
    at: number,
    deliveries: NewDelivery[] = [],
  ): Promise<AddedMessages> {
    return this.#group.run(() => {
      const stored: Message[] = [];
      const repeatedIds = new Set<string>();
      const unused: string[] = [];
      for (const m of messages) {
        if (this.#deposits.claim(m.mailboxId, m.identity, at)) {
          stored.push(this.insertMessage(m, at));
          continue;
        }
        repeatedIds.add(m.id);
        unused.push(m.audio.key);
        const before = this.sql(
          'SELECT * FROM message WHERE mailbox_id = ? AND identity = ? ORDER BY received_at, id LIMIT 1',
        ).get(m.mailboxId, m.identity) as unknown as MessageRow | undefined;
        if (before) stored.push(rowToMessage(before));
      }
      let repeatedMails = 0;
      for (const mail of deliveries) {
        // A mail about a message goes with it; a forward is a deposit of its own.
        const repeated =
          mail.messageId !== null
            ? repeatedIds.has(mail.messageId)
            : !this.#deposits.claim(mail.mailboxId, mail.identity, at);
        if (!repeated) {
          this.#deliveries.insertDelivery(mail, at);
          continue;
        }
        if (mail.messageId === null) repeatedMails++;
        unused.push(mail.audio.key);
      }
      return {
        messages: stored,
        repeated: repeatedIds.size + repeatedMails,
        unusedAudio: this.unusedAudio(unused),
      };
    });
  }

  insertMessage(m: NewMessage, at: number): Message {
    const uid = this.#takeUid(m.mailboxId, 'inbox');
    const modseq = this.journal(m.mailboxId, 'added', m.id, 'new', at, {
      folder: 'inbox',
      uid,
    });
    const row = this.sql(
      `INSERT INTO message (id, identity, mailbox_id, kind, caller_number, caller_name, received_at, audio_key,
             audio_format, audio_bytes, duration_ms, state, deleted_from, state_changed_at, priority, private,
             origin_server, forwarded_from, modseq, folder, uid)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', NULL, ?, ?, ?, ?, ?, ?, 'inbox', ?) RETURNING *`,
    ).get(
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

  async getMessage(id: string): Promise<Message | null> {
    const row = this.sql('SELECT * FROM message WHERE id = ?').get(id) as unknown as
      MessageRow | undefined;
    return row ? rowToMessage(row) : null;
  }

  async findMessageByIdentity(mailboxId: number, identity: string): Promise<Message | null> {
    const row = this.sql(
      'SELECT * FROM message WHERE mailbox_id = ? AND identity = ? ORDER BY received_at, id LIMIT 1',
    ).get(mailboxId, identity) as unknown as MessageRow | undefined;
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
    deliveries: readonly NewDelivery[] = [],
  ): Promise<Message | null> {
    return this.tx(() => {
      const current = this.sql('SELECT * FROM message WHERE id = ?').get(id) as unknown as
        MessageRow | undefined;
      if (!current || current.state !== from.state || current.deleted_from !== from.deletedFrom)
        return null;
      const changed = this.#applyState(current, to, folder, at);
      for (const d of deliveries) this.#deliveries.insertDelivery(d, at);
      return changed;
    });
  }

  async setStates(
    changes: readonly StateChange[],
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<Message[] | null> {
    return this.tx(() => {
      const changed = setStates(this, changes, (c) => {
        const current = this.sql('SELECT * FROM message WHERE id = ?').get(
          c.id,
        ) as unknown as MessageRow;
        return this.#applyState(current, c.to, c.folder, at);
      });
      if (changed) for (const d of deliveries) this.#deliveries.insertDelivery(d, at);
      return changed;
    });
  }

  async queryMessages(mailboxId: number, query: MessageQuery): Promise<MessagePage> {
    return queryMessages(this, mailboxId, query);
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

  async purgeMessages(
    ids: string[],
    at: number,
    deliveries: readonly NewDelivery[] = [],
  ): Promise<string[]> {
    return this.tx(() => {
      for (const d of deliveries) this.#deliveries.insertDelivery(d, at);
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

  pruneDeposits(before: number): Promise<number> {
    return this.#deposits.prune(before);
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

  // The delivery queue and web sessions live in tables of their own.

  readonly #deliveries: DeliveryTable;
  readonly #sessions: WebSessionTable;
  queueDelivery(d: NewDelivery | NewNotice, at: number): Promise<void> {
    return this.#deliveries.queueDelivery(d, at);
  }
  claimDeliveries(request: ClaimRequest): Promise<QueueItem[]> {
    return this.#deliveries.claimDeliveries(request);
  }
  listDeliveries(): Promise<QueueItem[]> {
    return this.#deliveries.listDeliveries();
  }
  getDelivery(id: number): Promise<QueueItem | null> {
    return this.#deliveries.getDelivery(id);
  }
  completeDelivery(id: number, holder: string): Promise<string[] | null> {
    return this.#deliveries.completeDelivery(id, holder);
  }
  deferDelivery(
    id: number,
    holder: string,
    at: number,
    attempts: number,
    error: string,
  ): Promise<boolean> {
    return this.#deliveries.deferDelivery(id, holder, at, attempts, error);
  }
  failDelivery(id: number, holder: string, error: string, keep?: NewMessage): Promise<boolean> {
    return this.#deliveries.failDelivery(id, holder, error, keep);
  }
  rescheduleDelivery(id: number, at: number): Promise<void> {
    return this.#deliveries.rescheduleDelivery(id, at);
  }
  dropDelivery(id: number, keep?: NewMessage): Promise<string[]> {
    return this.#deliveries.dropDelivery(id, keep);
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
  countWebSessions(now: number): Promise<{ mailbox: number; admin: number }> {
    return this.#sessions.countWebSessions(now);
  }

  /** Every audio key a message, greeting or delivery refers to (for sweeping files a crash left behind). */
  referencedAudio(): Set<string> {
    const rows = this.sql(
      'SELECT audio_key FROM message UNION SELECT audio_key FROM greeting UNION SELECT audio_key FROM delivery',
    ).all() as { audio_key: string }[];
    return new Set(rows.map((r) => r.audio_key));
  }

  /** null while the database answers a query; else why not. */
  health(): string | null {
    try {
      this.sql('SELECT 1').get();
      return null;
    } catch (err) {
      return `store unavailable: ${(err as Error).message}`;
    }
  }

  async close(): Promise<void> {
    this.feed.stop();
    await this.#group.close();
    if (this.db.isOpen) this.db.close();
  }

  // Mailbox homes and the Exchange shadow.
  readonly #exchange = new ExchangeTable(this);
  readonly #admins = new AdminTable(this);
  readonly #audit = new AuditTable(this);
  getMailboxHome(mailboxId: number): Promise<MailboxHome> {
    return this.#exchange.getMailboxHome(mailboxId);
  }
  setMailboxHome(mailboxId: number, home: MailboxHome): Promise<void> {
    return this.#exchange.setMailboxHome(mailboxId, home);
  }
  listExchangeHomes(): Promise<{ mailboxId: number; home: MailboxHome }[]> {
    return this.#exchange.listExchangeHomes();
  }
  setExchangeItem(messageId: string, item: ExchangeItemRef): Promise<void> {
    return this.#exchange.setExchangeItem(messageId, item);
  }
  getExchangeItem(messageId: string): Promise<ExchangeItemRef | null> {
    return this.#exchange.getExchangeItem(messageId);
  }
  findMessageByExchangeItem(mailboxId: number, itemId: string): Promise<Message | null> {
    return this.#exchange.findMessageByExchangeItem(mailboxId, itemId);
  }
  getExchangeSyncState(mailboxId: number): Promise<string | null> {
    return this.#exchange.getExchangeSyncState(mailboxId);
  }
  setExchangeSyncState(mailboxId: number, state: string | null): Promise<void> {
    return this.#exchange.setExchangeSyncState(mailboxId, state);
  }

  // E-mail reading by phone.
  readonly #emailReading = new EmailReadingTable(this);
  getEmailReading(mailboxId: number): Promise<StoredEmailReading | null> {
    return this.#emailReading.getEmailReading(mailboxId);
  }
  setEmailReading(mailboxId: number, reading: StoredEmailReading | null): Promise<void> {
    return this.#emailReading.setEmailReading(mailboxId, reading);
  }

  // Administrators and the audit trail live in tables of their own.
  createAdmin(input: {
    name: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<AdminRecord> {
    return this.#admins.createAdmin(input);
  }
  getAdmin(id: number): Promise<AdminRecord | null> {
    return this.#admins.getAdmin(id);
  }
  findAdmin(name: string): Promise<AdminRecord | null> {
    return this.#admins.findAdmin(name);
  }
  listAdmins(): Promise<AdminRecord[]> {
    return this.#admins.listAdmins();
  }
  setAdminPassword(id: number, passwordHash: string): Promise<void> {
    return this.#admins.setAdminPassword(id, passwordHash);
  }
  setAdminTotp(id: number, secret: string | null): Promise<void> {
    return this.#admins.setAdminTotp(id, secret);
  }
  takeAdminTotpStep(id: number, step: number): Promise<boolean> {
    return this.#admins.takeAdminTotpStep(id, step);
  }
  removeAdmin(id: number): Promise<void> {
    return this.#admins.removeAdmin(id);
  }
  reserveAdminLogin(
    id: number,
    now: number,
    limit: number,
    lockUntil: number,
  ): Promise<number | null> {
    return this.#admins.reserveAdminLogin(id, now, limit, lockUntil);
  }
  setAdminLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void> {
    return this.#admins.setAdminLoginState(id, failures, lockedUntil);
  }
  createAdminSession(s: AdminSession): Promise<void> {
    return this.#admins.createAdminSession(s);
  }
  getAdminSession(tokenHash: string, now: number): Promise<AdminSession | null> {
    return this.#admins.getAdminSession(tokenHash, now);
  }
  extendAdminSession(tokenHash: string, expiresAt: number): Promise<void> {
    return this.#admins.extendAdminSession(tokenHash, expiresAt);
  }
  deleteAdminSession(tokenHash: string): Promise<void> {
    return this.#admins.deleteAdminSession(tokenHash);
  }
  deleteAdminSessionsOf(adminId: number, except?: string): Promise<void> {
    return this.#admins.deleteAdminSessionsOf(adminId, except);
  }
  addAudit(record: NewAuditRecord): Promise<AuditRecord> {
    return this.#audit.addAudit(record);
  }
  queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#audit.queryAudit(query);
  }
  pruneAudit(before: number): Promise<number> {
    return this.#audit.pruneAudit(before);
  }

  // The web app's preferences (a table of their own)
  readonly #preferences: WebPreferenceTable;
  getWebPreferences(mailboxId: number): Promise<WebPreferences> {
    return this.#preferences.getWebPreferences(mailboxId);
  }
  setWebPreferences(mailboxId: number, changes: Partial<WebPreferences>): Promise<WebPreferences> {
    return this.#preferences.setWebPreferences(mailboxId, changes);
  }
}
