import type { NewDelivery, NewNotice, QueueItem } from '../../domain/delivery.ts';
import type {
  GreetingKind,
  MailboxChanges,
  MailboxRecord,
  SipCredentials,
} from '../../domain/mailbox.ts';
import type {
  AudioRef,
  Change,
  FolderSnapshot,
  Greeting,
  MailFolder,
  Message,
  NewMessage,
} from '../../domain/message.ts';
import type { ExchangeItemRef, MailboxHome } from '../../domain/exchange.ts';
import type { MessageState, StatePair } from '../../domain/message-state.ts';
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
} from '../../domain/ports.ts';
import type { PgAccess } from './pg-access.ts';
import type { PgChangeFeed } from './pg-change-feed.ts';
import { PgDeliveryTable } from './pg-delivery-table.ts';
import { PgExchangeTable } from './pg-exchange-table.ts';
import { PgEmailReadingTable } from './pg-email-reading-table.ts';
import type { StoredEmailReading } from '../../domain/email-reading.ts';
import { PgMailboxTable } from './pg-mailbox-table.ts';
import { PgMessageTable } from './pg-message-table.ts';
import { PgAdminTable } from './pg-admin-table.ts';
import { PgAuditTable } from './pg-audit-table.ts';
import type { AdminRecord, AdminSession } from '../../domain/admin.ts';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../domain/audit.ts';
import {
  PgDepositTable,
  PgGreetingTable,
  PgWebPreferenceTable,
  PgWebSessionTable,
} from './pg-side-tables.ts';
import type { WebPreferences } from '../../domain/web-preferences.ts';

/**
 * The PostgreSQL store: the same ports as the embedded one, over a connection pool. Its tables
 * live in files of their own; this class only puts them behind one interface.
 */
export class PgStore implements VoicemailStore {
  readonly feed: PgChangeFeed;
  readonly #db: PgAccess;
  readonly #mailboxes: PgMailboxTable;
  readonly #messages: PgMessageTable;
  readonly #deposits: PgDepositTable;
  readonly #deliveries: PgDeliveryTable;
  readonly #greetings: PgGreetingTable;
  readonly #sessions: PgWebSessionTable;
  readonly #exchange: PgExchangeTable;
  readonly #emailReading: PgEmailReadingTable;
  readonly #admins: PgAdminTable;
  readonly #audit: PgAuditTable;
  readonly #preferences: PgWebPreferenceTable;

  constructor(db: PgAccess, feed: PgChangeFeed) {
    this.#db = db;
    this.feed = feed;
    this.#mailboxes = new PgMailboxTable(db);
    this.#deposits = new PgDepositTable(db);
    this.#messages = new PgMessageTable(db, this.#deposits);
    this.#deliveries = new PgDeliveryTable(db, (t, m, at) =>
      this.#messages.insertMessage(t, m, at),
    );
    this.#messages.deliveries = this.#deliveries;
    this.#greetings = new PgGreetingTable(db);
    this.#sessions = new PgWebSessionTable(db);
    this.#exchange = new PgExchangeTable(db);
    this.#emailReading = new PgEmailReadingTable(db);
    this.#admins = new PgAdminTable(db);
    this.#audit = new PgAuditTable(db);
    this.#preferences = new PgWebPreferenceTable(db);
  }

  // Mailboxes
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

  // Messages and the journal
  addMessages(m: NewMessage[], at: number, deliveries?: NewDelivery[]): Promise<AddedMessages> {
    return this.#messages.addMessages(m, at, deliveries);
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
  changesSince(mailboxId: number, modseq: number): Promise<Change[]> {
    return this.#messages.changesSince(mailboxId, modseq);
  }
  highestModseq(mailboxId: number): Promise<number> {
    return this.#messages.highestModseq(mailboxId);
  }
  pruneJournal(before: number): Promise<number> {
    return this.#messages.pruneJournal(before);
  }

  // Greetings
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

  // The delivery queue
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

  // Web sessions
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

  // Mailbox homes and the Exchange shadow
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

  // E-mail reading by phone
  getEmailReading(mailboxId: number): Promise<StoredEmailReading | null> {
    return this.#emailReading.getEmailReading(mailboxId);
  }
  setEmailReading(mailboxId: number, reading: StoredEmailReading | null): Promise<void> {
    return this.#emailReading.setEmailReading(mailboxId, reading);
  }

  /** null while the database answers a query; else why not. */
  // The web app's preferences
  getWebPreferences(mailboxId: number): Promise<WebPreferences> {
    return this.#preferences.getWebPreferences(mailboxId);
  }
  setWebPreferences(mailboxId: number, changes: Partial<WebPreferences>): Promise<WebPreferences> {
    return this.#preferences.setWebPreferences(mailboxId, changes);
  }

  async health(): Promise<string | null> {
    if (this.#db.closed) return 'store closed';
    try {
      await this.#db.sql.rows('SELECT 1');
      return null;
    } catch (err) {
      return `store unavailable: ${(err as Error).message}`;
    }
  }

  async close(): Promise<void> {
    await this.feed.stop();
    await this.#db.close();
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
}
