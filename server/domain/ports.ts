/**
 * What the domain needs from the outside world, as interfaces. The store (store/) implements
 * them; tests may pass fakes. Every method is async so that a networked back end (PostgreSQL)
 * can implement the same interface.
 */
import type {
  AudioRef,
  Change,
  FolderSnapshot,
  Greeting,
  MailFolder,
  Message,
  NewMessage,
  Priority,
} from './message.ts';
import type {
  GreetingKind,
  MailboxChanges,
  MailboxKind,
  MailboxRecord,
  SipCredentials,
} from './mailbox.ts';
import type { NewDelivery, NewNotice, QueueItem, TargetKind } from './delivery.ts';
import type { MessageState, StatePair } from './message-state.ts';
import type { ExchangeItemRef, MailboxHome } from './exchange.ts';
import type { StoredEmailReading } from './email-reading.ts';
import type { AdminRecord, AdminSession } from './admin.ts';
import type { AuditQuery, AuditRecord, NewAuditRecord } from './audit.ts';
import type { WebPreferences } from './web-preferences.ts';
import type { Readable } from 'node:stream';

export interface NewMailbox extends Required<Omit<MailboxChanges, 'name'>> {
  kind: MailboxKind;
  name: string;
  codeHash: string;
}

export interface MessageFilter {
  states?: readonly MessageState[];
  folder?: MailFolder;
}

/** How a page of messages is ordered; equal times are ordered by id, in the same direction. */
export type MessageOrder = 'newest' | 'oldest' | 'priority';

/** Where a page ended: its last message's sort keys. The next page starts after it. */
export interface MessageCursor {
  receivedAt: number;
  id: string;
  priority: Priority;
}

/**
 * A search of one mailbox's messages, answered by the store from its indexes (not by reading
 * every message): the criteria given all hold. `priority` order is high first, then newest first.
 */
export interface MessageQuery {
  states: readonly MessageState[];
  order: MessageOrder;
  /** Part of the caller's name or number, letters compared without case. */
  caller?: string;
  /** Received at or after (UTC ms). */
  from?: number;
  /** Received before (UTC ms). */
  to?: number;
  priority?: Priority;
  private?: boolean;
  /** Continue after this message (the previous page's `next`). */
  after?: MessageCursor;
  /** At most this many messages (1 or more). */
  limit: number;
  /**
   * How many match, already known (counted at the mailbox's current modification sequence): the
   * store returns it as the page's `total` instead of counting again.
   */
  total?: number;
}

export interface MessagePage {
  messages: Message[];
  /** The cursor of the next page; null when this page is the last. */
  next: MessageCursor | null;
  /** How many messages match the query in all (`after` and `limit` aside). */
  total: number;
}

/** One message's compare-and-set, as `setState` takes it. */
export interface StateChange {
  id: string;
  from: StatePair;
  to: StatePair;
  folder: MailFolder;
}

export interface MailboxStore {
  createMailbox(input: NewMailbox): Promise<MailboxRecord>;
  updateMailbox(id: number, changes: MailboxChanges): Promise<MailboxRecord>;
  setCodeHash(id: number, codeHash: string): Promise<void>;
  setSipCredentials(id: number, sip: SipCredentials | null): Promise<void>;
  setLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void>;
  /**
   * Counts a log-in attempt before its code is checked, atomically: returns its number in the
   * current window (1 after an expired lock), or null while the mailbox is locked (or gone). The
   * attempt numbered `limit` locks the mailbox until `lockUntil`; a right code then resets both
   * with setLoginState. Throws (STORAGE_FULL) when the attempt cannot be recorded.
   */
  reserveLogin(id: number, now: number, limit: number, lockUntil: number): Promise<number | null>;
  /**
   * A write as costly as reserveLogin's, changing nothing: an attempt on an unknown mailbox pays
   * it too, so the time of an answer does not tell whether the mailbox exists.
   */
  recordNoLogin(): Promise<void>;
  /** Removes the mailbox with its messages and greetings; returns audio keys no longer used. */
  removeMailbox(id: number): Promise<string[]>;
  getMailbox(id: number): Promise<MailboxRecord | null>;
  /** By exact (case-sensitive) name first, then by extension. */
  findMailbox(nameOrExtension: string): Promise<MailboxRecord | null>;
  listMailboxes(): Promise<MailboxRecord[]>;
  setGroupMembers(groupId: number, memberIds: number[]): Promise<void>;
  groupMembers(groupId: number): Promise<number[]>;
}

/** What addMessages did. */
export interface AddedMessages {
  /** Each message stored: the new one, or the one stored before under its identity if it exists. */
  messages: Message[];
  /** How many deposits (messages, forwards) had been made before: nothing was added for them. */
  repeated: number;
  /** Audio keys of those repeated deposits that nothing refers to: the caller removes them. */
  unusedAudio: string[];
}

export interface MessageStore {
  /**
   * Adds the messages and queues the deliveries, all or none, in one transaction; each message
   * gets a journal entry. Each message, and each delivery standing for a message not kept (a
   * forward: `messageId` null), is a deposit of its voicemail into its mailbox: a deposit whose
   * (mailbox, identity) was deposited before (a resend) adds nothing, nor the deliveries about
   * it, even if that message has since been forwarded, deleted or purged; the decision is taken
   * in this same transaction, so concurrent resends store one.
   */
  addMessages(
    messages: NewMessage[],
    at: number,
    deliveries?: NewDelivery[],
  ): Promise<AddedMessages>;
  getMessage(id: string): Promise<Message | null>;
  /** The mailbox's message of this voicemail identity (any state), from its index; null if none. */
  findMessageByIdentity(mailboxId: number, identity: string): Promise<Message | null>;
  listMessages(mailboxId: number, filter?: MessageFilter): Promise<Message[]>;
  /**
   * Compare-and-set: applies `to` (and moves the message to `folder`, with a new UID there) only
   * if the message is still in `from`; else returns null. `deliveries` (what the change makes
   * known elsewhere: an Exchange write-back) are queued in the same transaction, only when the
   * change is applied: both or neither.
   */
  setState(
    id: string,
    from: StatePair,
    to: StatePair,
    folder: MailFolder,
    at: number,
    deliveries?: readonly NewDelivery[],
  ): Promise<Message | null>;
  /** One page of a mailbox's messages matching `query`, in its order. */
  queryMessages(mailboxId: number, query: MessageQuery): Promise<MessagePage>;
  /**
   * setState for several messages in one transaction: every change is applied, or none (null)
   * when any message is gone or no longer in its `from`. Returns the messages in the order given.
   * `deliveries` are queued with the changes, as setState's.
   */
  setStates(
    changes: readonly StateChange[],
    at: number,
    deliveries?: readonly NewDelivery[],
  ): Promise<Message[] | null>;
  /** Sets or clears the purge mark of a message in the trash; null if it is not there. */
  setPurgeMark(id: string, marked: boolean, at: number): Promise<Message | null>;
  folderSnapshot(mailboxId: number, folder: MailFolder): Promise<FolderSnapshot>;
  /** A cached derived form of a message (e.g. its parsed MIME for IMAP), removed with it. */
  getRendition(messageId: string, kind: string): Promise<Uint8Array | null>;
  putRendition(messageId: string, kind: string, data: Uint8Array): Promise<void>;
  /**
   * Removes the messages and queues `deliveries` (their write-backs) in one transaction; returns
   * audio keys no longer used by any message, greeting or delivery.
   */
  purgeMessages(ids: string[], at: number, deliveries?: readonly NewDelivery[]): Promise<string[]>;
  /** How many messages of the mailbox are in each state. */
  countByState(mailboxId: number): Promise<Partial<Record<MessageState, number>>>;
  /** Every message's id, state and state time, for housekeeping. */
  messageAges(): Promise<{ id: string; state: MessageState; stateChangedAt: number }[]>;
  /**
   * Forgets deposits made before `before` whose message is gone (purged, or forwarded by
   * e-mail): a resend after that is stored again. Returns how many were forgotten.
   */
  pruneDeposits(before: number): Promise<number>;
}

export interface ClaimRequest {
  target: TargetKind;
  /** Who claims: unique per process, so a restarted process never holds its old leases. */
  holder: string;
  now: number;
  leaseMs: number;
  limit: number;
}

/**
 * The delivery queue. Items are claimed with a lease; only the lease holder completes them
 * (removed, deferred or failed), so several workers, on one node or several, never deliver an
 * item twice while a live one holds it, and a dead worker's items come back when its lease ends.
 * A notice (no mailbox, no voicemail, no audio) is queued, leased and settled as voicemail is.
 */
export interface DeliveryStore {
  queueDelivery(delivery: NewDelivery | NewNotice, at: number): Promise<void>;
  /**
   * Atomically leases pending items of a target kind that are due and not leased (or whose lease
   * ran out), oldest first.
   */
  claimDeliveries(request: ClaimRequest): Promise<QueueItem[]>;
  listDeliveries(): Promise<QueueItem[]>;
  getDelivery(id: number): Promise<QueueItem | null>;
  /**
   * Removes a delivered item if `holder` still leases it; returns the audio keys no longer used,
   * or null when the lease was lost (the item is left alone).
   */
  completeDelivery(id: number, holder: string): Promise<string[] | null>;
  /** Schedules the next attempt and ends the lease, if `holder` still leases it. */
  deferDelivery(
    id: number,
    holder: string,
    at: number,
    attempts: number,
    error: string,
  ): Promise<boolean>;
  /**
   * Marks an item failed for good, if `holder` still leases it, and notes it on its message;
   * `keep` (an undeliverable forward) is added as a message in the same transaction.
   */
  failDelivery(id: number, holder: string, error: string, keep?: NewMessage): Promise<boolean>;
  /** An administrator's "try again now": pending from `at`, a lease in force is left alone. */
  rescheduleDelivery(id: number, at: number): Promise<void>;
  /**
   * An administrator's "drop": removes the item whoever leases it; `keep` (a pending forward) is
   * added as a message in the same transaction. Returns the audio keys no longer used.
   */
  dropDelivery(id: number, keep?: NewMessage): Promise<string[]>;
}

export interface GreetingStore {
  /** Sets the greeting; returns the audio key it replaced if no longer used. */
  setGreeting(
    mailboxId: number,
    kind: GreetingKind,
    audio: AudioRef,
    at: number,
  ): Promise<string[]>;
  listGreetings(mailboxId: number): Promise<Greeting[]>;
  removeGreeting(mailboxId: number, kind: GreetingKind, at: number): Promise<string[]>;
}

/**
 * A wake-up, not a cursor: after a commit that changed a mailbox (by this process, another one,
 * or another node on a shared store), `listener` is called with the mailbox and its modseq as of
 * that commit or later. Consumers keep their own modseq per mailbox and read what happened with
 * `changesSince`; wake-ups may be coalesced, repeated or arrive in any order across mailboxes,
 * but every change committed while subscribed is followed by a wake-up whose modseq covers it.
 * There is no global order of changes to rely on: concurrent writers may commit out of order.
 */
export interface ChangeFeed {
  subscribe(listener: (mailboxId: number, modseq: number) => void): () => void;
}

export interface JournalStore {
  changesSince(mailboxId: number, modseq: number): Promise<Change[]>;
  highestModseq(mailboxId: number): Promise<number>;
  /** Drops journal entries older than `before`, keeping each mailbox's newest. */
  pruneJournal(before: number): Promise<number>;
  readonly feed: ChangeFeed;
}

/** A web log-in: the cookie's token is kept only as a hash. */
export interface WebSession {
  tokenHash: string;
  mailboxId: number;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export interface WebSessionStore {
  createWebSession(session: WebSession): Promise<void>;
  /** The session if it exists and has not expired at `now`. */
  getWebSession(tokenHash: string, now: number): Promise<WebSession | null>;
  extendWebSession(tokenHash: string, expiresAt: number): Promise<void>;
  deleteWebSession(tokenHash: string): Promise<void>;
  /** Ends every session of a mailbox except one (after a code change). */
  deleteWebSessionsOf(mailboxId: number, except?: string): Promise<void>;
  /**
   * Web sessions alive at `now`, of mailboxes and of administrators (for the metrics): counted
   * in the store, which every server sharing it sees alike.
   */
  countWebSessions(now: number): Promise<{ mailbox: number; admin: number }>;
}

/**
 * Where each mailbox's voicemail lives (`exchange.ts`), and the shadow of an Exchange mailbox:
 * per voicemail, the Exchange item it became, and per mailbox where reading Exchange's changes
 * back got to. A mailbox's rows go with it, a message's with the message.
 */
export interface ExchangeStore {
  /** The mailbox's home; LOCAL_HOME for one never set (or gone). */
  getMailboxHome(mailboxId: number): Promise<MailboxHome>;
  /** Sets the home; a new home (or connection) forgets the sync state. */
  setMailboxHome(mailboxId: number, home: MailboxHome): Promise<void>;
  /** Every mailbox whose home is Exchange, with its home. */
  listExchangeHomes(): Promise<{ mailboxId: number; home: MailboxHome }[]>;
  /** Remembers the Exchange item a message became (replacing what was remembered). */
  setExchangeItem(messageId: string, item: ExchangeItemRef): Promise<void>;
  /** The item a message became; null while it has not (or no such message). */
  getExchangeItem(messageId: string): Promise<ExchangeItemRef | null>;
  /** The message of a mailbox that became Exchange item `itemId`; null if none. */
  findMessageByExchangeItem(mailboxId: number, itemId: string): Promise<Message | null>;
  /** Where reading the mailbox's Exchange changes back got to (a delta link, a sync state). */
  getExchangeSyncState(mailboxId: number): Promise<string | null>;
  setExchangeSyncState(mailboxId: number, state: string | null): Promise<void>;
}

/**
 * Per mailbox, where its owner's e-mail is read from by phone (`email-reading.ts`). The secret
 * arrives sealed and is kept as given; a mailbox's setting goes with it.
 */
export interface EmailReadingStore {
  /** null when the mailbox does not read e-mail (or is gone). */
  getEmailReading(mailboxId: number): Promise<StoredEmailReading | null>;
  /** Sets the reading; null turns it off. */
  setEmailReading(mailboxId: number, reading: StoredEmailReading | null): Promise<void>;
}

/**
 * Administrator accounts and their web sessions. Names are unique (case-sensitive); the last
 * administrator is never removed; log-in attempts are counted atomically, as a mailbox's.
 */
export interface AdminStore {
  /** ALREADY_EXISTS when the name is taken. */
  createAdmin(input: {
    name: string;
    passwordHash: string;
    createdAt: number;
  }): Promise<AdminRecord>;
  getAdmin(id: number): Promise<AdminRecord | null>;
  findAdmin(name: string): Promise<AdminRecord | null>;
  listAdmins(): Promise<AdminRecord[]>;
  setAdminPassword(id: number, passwordHash: string): Promise<void>;
  setAdminTotp(id: number, secret: string | null): Promise<void>;
  /**
   * Takes the time step of a one-time code just checked, in one atomic step: true when it is
   * later than every step taken before for this administrator, false when a code of that step
   * or a later one was already used (a replay, or two log-ins racing with one code).
   */
  takeAdminTotpStep(id: number, step: number): Promise<boolean>;
  /**
   * Removes the administrator and its sessions, in one step that refuses (INVALID_STATE) to
   * remove the last one, so two concurrent removals never leave none. NOT_FOUND if gone.
   */
  removeAdmin(id: number): Promise<void>;
  /** As MailboxStore.reserveLogin, for an administrator. */
  reserveAdminLogin(
    id: number,
    now: number,
    limit: number,
    lockUntil: number,
  ): Promise<number | null>;
  setAdminLoginState(id: number, failures: number, lockedUntil: number | null): Promise<void>;
  createAdminSession(session: AdminSession): Promise<void>;
  /** The session if it exists and has not expired at `now`. */
  getAdminSession(tokenHash: string, now: number): Promise<AdminSession | null>;
  extendAdminSession(tokenHash: string, expiresAt: number): Promise<void>;
  deleteAdminSession(tokenHash: string): Promise<void>;
  /** Ends every session of an administrator except one (after a password change). */
  deleteAdminSessionsOf(adminId: number, except?: string): Promise<void>;
}

/** The audit trail: appended to, searched newest first, pruned by housekeeping. */
export interface AuditStore {
  addAudit(record: NewAuditRecord): Promise<AuditRecord>;
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;
  /** Drops records older than `before`; returns how many. */
  pruneAudit(before: number): Promise<number>;
}

/** What each mailbox's owner chose in the web app (web-preferences.ts); a mailbox's row goes with it. */
export interface WebPreferenceStore {
  /** The mailbox's preferences; the defaults for one that never chose (or is gone). */
  getWebPreferences(mailboxId: number): Promise<WebPreferences>;
  /** Changes the given preferences, keeps the others; returns them all. NOT_FOUND: no mailbox. */
  setWebPreferences(mailboxId: number, changes: Partial<WebPreferences>): Promise<WebPreferences>;
}

export interface VoicemailStore
  extends
    MailboxStore,
    MessageStore,
    GreetingStore,
    JournalStore,
    WebSessionStore,
    DeliveryStore,
    ExchangeStore,
    EmailReadingStore,
    AdminStore,
    AuditStore,
    WebPreferenceStore {
  close(): Promise<void>;
}

/** An inclusive byte range, as HTTP Range counts it. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Durable audio, wherever a back end keeps it: `put` returns only once the bytes are durable.
 * Channels read it whole (`read`) or as streamed byte ranges (`size` + `stream`: HTTP Range,
 * IMAP partial FETCH), never as a local path. A missing key is NOT_FOUND.
 */
export interface AudioStore {
  put(bytes: Uint8Array): Promise<string>;
  read(key: string): Promise<Buffer>;
  size(key: string): Promise<number>;
  /** The bytes of `range` (all of them without one), clipped to the audio's end. */
  stream(key: string, range?: ByteRange): Promise<Readable>;
  remove(keys: string[]): Promise<void>;
}

/**
 * An open store, as `openStore(config)` returns it: the only handle the rest of the server has
 * on storage, whatever the back end.
 */
export interface OpenedStore {
  store: VoicemailStore;
  audio: AudioStore;
  /** null while the store answers; else why not (for readiness). */
  health(): Promise<string | null>;
  close(): Promise<void>;
}

export interface AudioInfo {
  format: string;
  durationMs: number;
}

/** Inspects audio a channel hands in; throws BAD_AUDIO naming what is wrong. */
export type AudioInspector = (bytes: Uint8Array) => AudioInfo;

export interface DomainLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
