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
import { DepositTable } from './deposit-table.ts';
import { GreetingTable } from './greeting-table.ts';
import { MailboxTable } from './mailbox-table.ts';
import { DeliveryTable } from './delivery-table.ts';
import type { SqlAccess } from './sql-access.ts';
import { WebSessionTable } from './web-session-table.ts';
import { WebPreferenceTable } from './web-preference-table.ts';
import type { WebPreferences } from '../domain/web-preferences.ts';
import { SqliteConnection, type SqliteConnectionOptions } from './sqlite-connection.ts';
import { ExchangeTable } from './exchange-table.ts';
import { EmailReadingTable } from './email-reading-table.ts';
import type { StoredEmailReading } from '../domain/email-reading.ts';
import type { ExchangeItemRef, MailboxHome } from '../domain/exchange.ts';
import { JournalTable } from './journal-table.ts';
import { MessageTable } from './message-table.ts';
import { AdminTable } from './admin-table.ts';
import { AuditTable } from './audit-table.ts';
import type { AdminRecord, AdminSession } from '../domain/admin.ts';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../domain/audit.ts';

/**
 * The embedded store: its tables behind the domain's `VoicemailStore`, on one SQLite connection
 * (sqlite-connection.ts: WAL, synchronous=FULL, transactions, group commit, checkpoints).
 */
export class SqliteStore extends SqliteConnection implements VoicemailStore, SqlAccess {
  constructor(path: string, opts: SqliteConnectionOptions = {}) {
    super(path, opts);
    this.#deliveries = new DeliveryTable(this);
    this.#sessions = new WebSessionTable(this);
    this.#greetings = new GreetingTable(this);
    this.#preferences = new WebPreferenceTable(this);
    this.#deposits = new DepositTable(this);
    this.#messages = new MessageTable(this, {
      connection: this.db,
      deposits: this.#deposits,
      deliveries: this.#deliveries,
    });
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
    return this.#journal.write(mailboxId, kind, messageId, state, at, place, modseq);
  }

  insertMessage(m: NewMessage, at: number): Message {
    return this.#messages.insertMessage(m, at);
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
  readonly #messages: MessageTable;
  readonly #journal = new JournalTable(this);
  async addMessages(
    messages: NewMessage[],
    at: number,
    deliveries: NewDelivery[] = [],
  ): Promise<AddedMessages> {
    return this.groupTx(() => this.#messages.deposit(messages, at, deliveries));
  }
  getMessage(id: string): Promise<Message | null> {
    return this.#messages.getMessage(id);
  }
  findMessageByIdentity(mailboxId: number, identity: string): Promise<Message | null> {
    return this.#messages.findMessageByIdentity(mailboxId, identity);
  }
  listMessages(mailboxId: number, filter?: MessageFilter): Promise<Message[]> {
    return this.#messages.listMessages(mailboxId, filter);
  }
  setState(
    id: string,
    from: StatePair,
    to: StatePair,
    folder: MailFolder,
    at: number,
    deliveries?: readonly NewDelivery[],
  ): Promise<Message | null> {
    return this.#messages.setState(id, from, to, folder, at, deliveries);
  }
  setStates(
    changes: readonly StateChange[],
    at: number,
    deliveries?: readonly NewDelivery[],
  ): Promise<Message[] | null> {
    return this.#messages.setStates(changes, at, deliveries);
  }
  queryMessages(mailboxId: number, query: MessageQuery): Promise<MessagePage> {
    return this.#messages.queryMessages(mailboxId, query);
  }
  setPurgeMark(id: string, marked: boolean, at: number): Promise<Message | null> {
    return this.#messages.setPurgeMark(id, marked, at);
  }
  folderSnapshot(mailboxId: number, folder: MailFolder): Promise<FolderSnapshot> {
    return this.#messages.folderSnapshot(mailboxId, folder);
  }
  getRendition(messageId: string, kind: string): Promise<Uint8Array | null> {
    return this.#messages.getRendition(messageId, kind);
  }
  putRendition(messageId: string, kind: string, data: Uint8Array): Promise<void> {
    return this.#messages.putRendition(messageId, kind, data);
  }
  purgeMessages(ids: string[], at: number, deliveries?: readonly NewDelivery[]): Promise<string[]> {
    return this.#messages.purgeMessages(ids, at, deliveries);
  }
  countByState(mailboxId: number): Promise<Partial<Record<MessageState, number>>> {
    return this.#messages.countByState(mailboxId);
  }
  messageAges(): Promise<{ id: string; state: MessageState; stateChangedAt: number }[]> {
    return this.#messages.messageAges();
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

  // Journal (a table of its own)
  changesSince(mailboxId: number, modseq: number): Promise<Change[]> {
    return this.#journal.changesSince(mailboxId, modseq);
  }
  highestModseq(mailboxId: number): Promise<number> {
    return this.#journal.highestModseq(mailboxId);
  }
  pruneJournal(before: number): Promise<number> {
    return this.#journal.pruneJournal(before);
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
