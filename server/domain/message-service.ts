import type { DepositChannel } from './observe.ts';
import { randomUUID } from 'node:crypto';
import { SYSTEM_ACTOR, type Actor } from './audit.ts';
import { DEFAULT_AUDIT_RETENTION_DAYS } from './audit-trail.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import { checkIdentity, newIdentity } from './identity.ts';
import { housekeepingDue } from './housekeeping.ts';
import { emailDelivery } from './email-settings.ts';
import { exchangeDestination } from './exchange.ts';
import { ExchangeWriteBack } from './exchange-writeback.ts';
import {
  normalizeEmail,
  type GreetingKind,
  type MailboxRecord,
  type MailboxRef,
} from './mailbox.ts';
import { mailFactsOf, type Delivery, type NewDelivery } from './delivery.ts';
import {
  folderAfter,
  sortForPlayback,
  type Greeting,
  type Message,
  type MessageKind,
  type NewMessage,
  type Priority,
} from './message.ts';
import { applyAction, LIVE_STATES, type MessageAction } from './message-state.ts';
import { mergeState, type PeerState } from './state-merge.ts';
import { backupUpdatesFor, type BackupChange } from './backup-updates.ts';
import { peerGreetingWins, type PeerGreeting } from './greeting-merge.ts';
import { checkMessageLength } from './policy.ts';
import { lampCounts, type LampCounts } from './waiting.ts';
import type { MailboxService } from './mailbox-service.ts';
import { MAX_PAGE, toQuery, type MessageSearch, type MessageView } from './message-search.ts';
import type { MessagePage, StateChange } from './ports.ts';

/** At most this many messages in one bulk action. */
export const MAX_BULK = 10_000;

function tooMany(): VoicegateError {
  return new VoicegateError('INVALID_INPUT', `at most ${MAX_BULK} messages at once`);
}

export interface DepositInput {
  mailbox: MailboxRef;
  audio: Uint8Array;
  callerNumber?: string | null;
  callerName?: string | null;
  kind?: MessageKind;
  priority?: Priority;
  private?: boolean;
  receivedAt?: number;
  originServer?: string;
  /**
   * The voicemail's global identity when it arrives with one (a mail's Message-ID, a peer's
   * copy): a deposit made before under it into the same mailbox is acknowledged and not stored
   * again. Without one, the voicemail gets a new identity.
   */
  identity?: string;
  /** Where it came from, for the deposits counted by channel. */
  channel?: DepositChannel;
  /**
   * Its e-mail, alerts and Exchange copy were sent already, by the backup that recorded it
   * while live: it is kept here, and nothing is sent again.
   */
  mailed?: boolean;
  /**
   * A copy of a message the central stored (on its backup, with `topology.syncMessages`): kept
   * in this mailbox as it is; the central expanded the group and sent its mail.
   */
  copyOfCentral?: boolean;
}

export type { MessageView } from './message-search.ts';

export interface ActOptions {
  /** IMAP's \\Deleted flag: the message stays in its folder until EXPUNGE. */
  keepFolder?: boolean;
  /** The change was read back from Exchange: it is not written back there. */
  fromExchange?: boolean;
}

/** Caller data is untrusted: keep it short and free of control characters. */
function cleanCallerText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const clean = value
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .trim()
    .slice(0, max);
  return clean === '' ? null : clean;
}

export class MessageService {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  readonly #exchange: ExchangeWriteBack;
  constructor(deps: DomainDeps, mailboxes: MailboxService) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
    this.#exchange = new ExchangeWriteBack(deps);
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** The identity of a voicemail that starts here. */
  newIdentity(): string {
    return newIdentity(this.#deps.newVoicemailId(), this.#deps.serverName);
  }

  /**
   * Stores a new voicemail. Returns only once the audio and the record are durable. A message for
   * a hunt group with broadcast on is copied to each member instead. A voicemail whose identity
   * was deposited into the mailbox before is not stored again: the messages stored then, if
   * they still exist, are returned.
   */
  async deposit(input: DepositInput): Promise<Message[]> {
    const identity =
      input.identity === undefined ? this.newIdentity() : checkIdentity(input.identity);
    const mailbox = await this.#mailboxes.resolve(input.mailbox);
    const info = this.#deps.inspectAudio(input.audio);
    if ((input.kind ?? 'message') === 'message')
      checkMessageLength(info.durationMs, this.#deps.policy);
    const key = await this.#deps.audio.put(input.audio);
    const base: Omit<NewMessage, 'id' | 'mailboxId'> = {
      identity,
      kind: input.kind ?? 'message',
      callerNumber: cleanCallerText(input.callerNumber, 64),
      callerName: cleanCallerText(input.callerName, 128),
      receivedAt: input.receivedAt ?? this.#now(),
      audio: {
        key,
        format: info.format,
        bytes: input.audio.byteLength,
        durationMs: info.durationMs,
      },
      priority: input.priority ?? 'normal',
      private: input.private ?? false,
      originServer: input.originServer ?? this.#deps.serverName,
      forwardedFrom: null,
    };
    let stored: Message[];
    try {
      stored = await this.#addTo(mailbox, base, {
        mailed: input.mailed === true,
        copyOfCentral: input.copyOfCentral === true,
      });
    } catch (err) {
      await this.#deps.audio.remove([key]).catch(() => {});
      throw err;
    }
    this.#deps.observe?.({ event: 'deposit', channel: input.channel ?? 'other' });
    return stored;
  }

  /**
   * Adds a message to a mailbox, or to each member of a broadcast hunt group, as each one's
   * e-mail mode says: kept, kept and mailed (copy, alert), or only mailed (forward). The
   * messages and the mails are committed together.
   */
  async #addTo(
    mailbox: MailboxRecord,
    bases: Omit<NewMessage, 'id' | 'mailboxId'> | Omit<NewMessage, 'id' | 'mailboxId'>[],
    sent: { mailed?: boolean; copyOfCentral?: boolean } = {},
  ): Promise<Message[]> {
    const { mailed = false, copyOfCentral = false } = sent;
    const all = Array.isArray(bases) ? bases : [bases];
    // A copy of the central's message is the backup's to keep, live or not.
    if (this.#deps.central && !copyOfCentral && !this.#deps.keepsMessages?.())
      return this.#toCentral(mailbox, all, this.#deps.central);
    let targets = [mailbox];
    if (mailbox.kind === 'group' && mailbox.broadcast && !copyOfCentral) {
      const ids = await this.#deps.store.groupMembers(mailbox.id);
      const members = (await Promise.all(ids.map((id) => this.#deps.store.getMailbox(id)))).filter(
        (m): m is MailboxRecord => m !== null,
      );
      if (members.length > 0) targets = members;
    }
    const messages: NewMessage[] = [];
    const mails: NewDelivery[] = [];
    for (const base of all)
      for (const target of targets) {
        const id = randomUUID();
        const mode = copyOfCentral ? 'off' : emailDelivery(target);
        const facts = { voicemailId: id, ...mailFactsOf(base) };
        if (mailed) {
          // Mailed already where it was recorded: kept for the record unless only mailed.
          if (mode !== 'forward') messages.push({ ...base, id, mailboxId: target.id });
          continue;
        }
        if (mode === 'forward') {
          mails.push({
            ...facts,
            target: 'smtp',
            kind: 'forward',
            mailboxId: target.id,
            recipient: target.email!,
            messageId: null,
          });
          continue;
        }
        messages.push({ ...base, id, mailboxId: target.id });
        if (copyOfCentral) continue;
        // The backup keeps messages in step too (topology.syncMessages): the same voicemail,
        // under its identity, so a resend is stored there once.
        if (this.#deps.backup)
          mails.push({
            ...facts,
            target: 'peer',
            kind: 'copy',
            mailboxId: target.id,
            recipient: target.name,
            messageId: id,
            payload: { peer: this.#deps.backup },
          });
        // At home in Exchange: kept here until the item exists there, then a shadow of it.
        const home = await this.#deps.store.getMailboxHome(target.id);
        const exchange = exchangeDestination(home, this.#deps.exchangeConnections ?? []);
        if (exchange.target)
          mails.push({ ...facts, ...exchange, kind: 'copy', mailboxId: target.id, messageId: id });
        else if (exchange.reason) this.#deps.log.warn({ mailboxId: target.id }, exchange.reason);
        if (mode === 'copy' || mode === 'alert') {
          mails.push({
            ...facts,
            target: 'smtp',
            kind: mode,
            mailboxId: target.id,
            recipient: target.email!,
            messageId: id,
          });
        }
      }
    const added = await this.#deps.store.addMessages(messages, this.#now(), mails);
    const requested = new Set(messages.map((m) => m.id));
    const fresh = new Set(added.messages.filter((m) => requested.has(m.id)).map((m) => m.id));
    for (const m of added.messages) {
      if (!fresh.has(m.id)) continue;
      this.#deps.log.info(
        { messageId: m.id, mailboxId: m.mailboxId, ms: m.audio.durationMs },
        'message stored',
      );
    }
    let queued = mails;
    if (added.repeated > 0) {
      // A resend (a retried SMTP delivery, a peer's copy): acknowledged, nothing stored twice.
      this.#deps.log.info(
        { identities: all.map((b) => b.identity), repeated: added.repeated, mailboxId: mailbox.id },
        'voicemail deposited before: not stored again',
      );
      await this.#deps.audio.remove(added.unusedAudio);
      queued = mails.filter((mail) => mail.messageId !== null && fresh.has(mail.messageId));
    }
    for (const mail of queued)
      this.#deps.log.info(
        { mailboxId: mail.mailboxId, kind: mail.kind, target: mail.target },
        'delivery queued',
      );
    if (queued.length > 0) this.#deps.onDeliveryQueued?.();
    return added.messages;
  }

  /** A user's "forward to e-mail": any address, never a private message. */
  async forwardToEmail(
    mailboxId: number,
    id: string,
    address: string,
    actor: Actor = SYSTEM_ACTOR,
  ): Promise<void> {
    const message = await this.get(mailboxId, id);
    if (message.private)
      throw new VoicegateError('FORBIDDEN', 'a private message cannot be forwarded');
    const recipient = normalizeEmail(address);
    if (!recipient) throw new VoicegateError('INVALID_INPUT', 'an e-mail address is needed');
    await this.#deps.store.queueDelivery(
      {
        // A copy of the voicemail: it keeps its identity (the mail's Message-ID).
        voicemailId: randomUUID(),
        ...mailFactsOf(message),
        target: 'smtp',
        kind: 'manual',
        mailboxId,
        recipient,
        messageId: message.id,
      },
      this.#now(),
    );
    this.#deps.onDeliveryQueued?.();
    await this.#mailboxes.audit.record({
      kind: 'forward-email',
      actor,
      mailbox: (await this.#deps.store.getMailbox(mailboxId))?.name ?? null,
      details: { message: message.id, recipient },
    });
  }

  /**
   * Mails a recording that is not a stored message (a call flow's recorded answer) to any
   * address, through the delivery queue like every voicemail mail. `mailboxRef` is the mailbox the mail
   * is sent for (its name and sender); `to` defaults to that mailbox's own address.
   */
  async emailRecording(
    mailboxRef: MailboxRef,
    to: string | null,
    audio: Uint8Array,
    facts: { callerNumber?: string | null; callerName?: string | null } = {},
  ): Promise<{ recipient: string; voicemailId: string }> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const recipient = normalizeEmail(to ?? mailbox.email);
    if (!recipient)
      throw new VoicegateError('INVALID_INPUT', `mailbox "${mailbox.name}" has no e-mail address`);
    const info = this.#deps.inspectAudio(audio);
    const key = await this.#deps.audio.put(audio);
    const voicemailId = randomUUID();
    try {
      await this.#deps.store.queueDelivery(
        {
          voicemailId,
          identity: this.newIdentity(),
          callerNumber: cleanCallerText(facts.callerNumber, 64),
          callerName: cleanCallerText(facts.callerName, 128),
          receivedAt: this.#now(),
          audio: { key, format: info.format, bytes: audio.byteLength, durationMs: info.durationMs },
          priority: 'normal',
          private: false,
          target: 'smtp',
          kind: 'manual',
          mailboxId: mailbox.id,
          recipient,
          messageId: null,
        },
        this.#now(),
      );
    } catch (err) {
      await this.#deps.audio.remove([key]).catch(() => {});
      throw err;
    }
    this.#deps.log.info({ mailboxId: mailbox.id, kind: 'manual' }, 'e-mail queued');
    this.#deps.onDeliveryQueued?.();
    return { recipient, voicemailId };
  }

  /** The audio callers hear as a mailbox's greeting (`kind`, else its active one); null if none. */
  async greetingAudio(mailboxRef: MailboxRef, kind?: GreetingKind): Promise<Uint8Array | null> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const wanted = kind ?? mailbox.activeGreeting;
    const greeting = (await this.#deps.store.listGreetings(mailbox.id)).find(
      (g) => g.kind === wanted,
    );
    return greeting ? this.#deps.audio.read(greeting.audio.key) : null;
  }

  /**
   * A distributed server keeps no voicemail: each one is queued, with its audio, for the
   * central (a `forward` to the `peer` target, named by the mailbox's name there), which
   * expands groups and sends e-mail. The queue keeps it until the central stored it; one the
   * central refuses for good goes into the mailbox here instead (`undeliveredForward`).
   */
  async #toCentral(
    mailbox: MailboxRecord,
    bases: Omit<NewMessage, 'id' | 'mailboxId'>[],
    central: string,
  ): Promise<Message[]> {
    const mails: NewDelivery[] = bases.map((base) => ({
      voicemailId: randomUUID(),
      ...mailFactsOf(base),
      target: 'peer',
      kind: 'forward',
      mailboxId: mailbox.id,
      recipient: mailbox.name,
      messageId: null,
      payload: { peer: central },
    }));
    const added = await this.#deps.store.addMessages([], this.#now(), mails);
    // A resend of a voicemail queued or sent before: acknowledged, queued once.
    if (added.repeated > 0) await this.#deps.audio.remove(added.unusedAudio);
    for (const mail of mails)
      this.#deps.log.info(
        { mailboxId: mail.mailboxId, identity: mail.identity, peer: central },
        'voicemail queued for the central',
      );
    this.#deps.onDeliveryQueued?.();
    return [];
  }

  /** The message a forward becomes when it cannot be delivered: nothing is lost. */
  undeliveredForward(item: Delivery): NewMessage {
    return {
      id: item.voicemailId,
      identity: item.identity,
      mailboxId: item.mailboxId,
      kind: 'message',
      callerNumber: item.callerNumber,
      callerName: item.callerName,
      receivedAt: item.receivedAt,
      audio: item.audio,
      priority: item.priority,
      private: item.private,
      originServer: this.#deps.serverName,
      forwardedFrom: null,
    };
  }

  async get(mailboxId: number, id: string): Promise<Message> {
    const message = await this.#deps.store.getMessage(id);
    // Another mailbox's message is reported exactly like a missing one.
    if (!message || message.mailboxId !== mailboxId)
      throw new VoicegateError('NOT_FOUND', `no message "${id}" in this mailbox`);
    return message;
  }

  async list(mailboxId: number, view: MessageView = 'inbox'): Promise<Message[]> {
    const states = view === 'inbox' ? LIVE_STATES : (['deleted'] as const);
    const messages = await this.#deps.store.listMessages(mailboxId, { states });
    return sortForPlayback(messages, this.#deps.playbackOrder);
  }

  /** Messages per category: new (waiting: `lampCounts`' rule), old, saved, deleted. */
  async counts(
    mailboxId: number,
  ): Promise<{ new: number; old: number; saved: number; deleted: number }> {
    const c = await this.#deps.store.countByState(mailboxId);
    return {
      new: lampCounts(c).waiting,
      old: c.old ?? 0,
      saved: c.saved ?? 0,
      deleted: c.deleted ?? 0,
    };
  }

  /** What the lamp and the phone's summary count: messages waiting, and heard ones kept. */
  async lamp(mailboxId: number): Promise<LampCounts> {
    return lampCounts(await this.#deps.store.countByState(mailboxId));
  }

  /** play, playHeader, markUnread, save, unsave, delete, undelete: the same for every channel. */
  async act(
    mailboxId: number,
    id: string,
    action: MessageAction,
    opts: ActOptions = {},
  ): Promise<Message> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(mailboxId, id);
      const next = applyAction(current, action);
      if (!next) {
        throw new VoicegateError(
          'INVALID_STATE',
          `cannot ${action} a message that is ${current.state}`,
        );
      }
      const folder = folderAfter(current.folder, next.state, opts.keepFolder);
      if (
        next.state === current.state &&
        next.deletedFrom === current.deletedFrom &&
        folder === current.folder
      ) {
        return current;
      }
      const now = this.#now();
      const writeBack = [
        ...(opts.fromExchange ? [] : await this.#exchange.deliveriesFor(mailboxId, [current])),
        ...(await this.#toBackup(mailboxId, [{ message: current, to: next }], now)),
      ];
      const updated = await this.#deps.store.setState(id, current, next, folder, now, writeBack);
      if (updated) {
        this.#exchange.queued(writeBack);
        return updated;
      }
      // Another channel changed it between our read and write: read again and re-decide.
    }
    throw new VoicegateError('UNAVAILABLE', 'message is changing too often; try again');
  }

  /**
   * A state change another server made to a voicemail (a backup live, a split brain), merged by
   * `mergeState`: through the store's compare-and-set like `act`, at the peer's change time, so
   * the lamps and IMAP follow. Returns what became of it: changed, kept as it was, purged (the
   * peer removed it for good), or unknown here (purged, or never here).
   */
  async applyPeerState(
    mailboxRef: MailboxRef,
    identity: string,
    remote: PeerState,
  ): Promise<'changed' | 'kept' | 'unknown' | 'purged'> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#deps.store.findMessageByIdentity(mailbox.id, identity);
      if (!current) return 'unknown';
      // Removed for good there (the central's purge): the copy here goes too.
      if (remote.purged) {
        await this.#purge([current.id], SYSTEM_ACTOR, mailbox.id, [], [current]);
        return 'purged';
      }
      // A message still new was, as far as is known here, not changed since it was recorded:
      // its late arrival here (a hand-back deposits it then) is no change that beats the peer's.
      const changedAt = current.state === 'new' ? current.receivedAt : current.stateChangedAt;
      const local = { ...current, changedAt, server: this.#deps.serverName };
      const next = mergeState(local, remote);
      if (!next) return 'kept';
      const folder = folderAfter(current.folder, next.state);
      const writeBack = await this.#exchange.deliveriesFor(mailbox.id, [current]);
      const updated = await this.#deps.store.setState(
        current.id,
        current,
        next,
        folder,
        remote.changedAt,
        writeBack,
      );
      if (updated) {
        this.#exchange.queued(writeBack);
        return 'changed';
      }
    }
    throw new VoicegateError('UNAVAILABLE', 'message is changing too often; try again');
  }

  /**
   * On a central keeping a backup in step (`topology.syncMessages`): the updates that carry
   * these changes to the backup, queued by the caller with the change (`backup-updates.ts`).
   */
  async #toBackup(
    mailboxId: number,
    changes: readonly BackupChange[],
    at: number,
  ): Promise<NewDelivery[]> {
    if (!this.#deps.backup || changes.length === 0) return [];
    const mailbox = await this.#deps.store.getMailbox(mailboxId);
    return mailbox ? backupUpdatesFor(this.#deps, mailbox, changes, at) : [];
  }

  /** The messages still stored among `ids` (on a central with a backup only). */
  async #messagesOf(ids: readonly string[]): Promise<Message[]> {
    if (!this.#deps.backup) return [];
    const found = await Promise.all(ids.map((id) => this.#deps.store.getMessage(id)));
    return found.filter((m): m is Message => m !== null && m !== undefined);
  }

  /** Moves deleted messages still in the inbox (IMAP \\Deleted) to the trash: IMAP EXPUNGE. */
  async expunge(mailboxId: number, ids: string[]): Promise<Message[]> {
    const moved: Message[] = [];
    for (const id of ids) {
      const m = await this.get(mailboxId, id);
      if (m.state !== 'deleted' || m.folder !== 'inbox') continue;
      const updated = await this.#deps.store.setState(id, m, m, 'trash', this.#now());
      if (updated) moved.push(updated);
    }
    return moved;
  }

  /** IMAP \\Deleted on a message in the trash: marks it for the next EXPUNGE there. */
  async markForPurge(mailboxId: number, id: string, marked: boolean): Promise<Message> {
    await this.get(mailboxId, id);
    const updated = await this.#deps.store.setPurgeMark(id, marked, this.#now());
    if (!updated)
      throw new VoicegateError(
        'INVALID_STATE',
        'only messages in the trash are marked for purging',
      );
    return updated;
  }

  /** Removes messages for good. Users purge from the deleted folder only. */
  async purge(
    mailboxId: number,
    ids: string[],
    actor: Actor = SYSTEM_ACTOR,
    opts: ActOptions = {},
  ): Promise<void> {
    const purged: Message[] = [];
    for (const id of ids) {
      const m = await this.get(mailboxId, id);
      if (m.state !== 'deleted')
        throw new VoicegateError('INVALID_STATE', 'only deleted messages can be purged');
      purged.push(m);
    }
    const writeBack = opts.fromExchange
      ? []
      : await this.#exchange.deliveriesFor(mailboxId, purged);
    await this.#purge(ids, actor, mailboxId, writeBack, purged);
  }

  /**
   * Removes messages for good, with their write-backs to Exchange in the same commit, on the
   * audit trail (ids listed when few).
   */
  async #purge(
    ids: string[],
    actor: Actor,
    mailboxId: number | null,
    writeBack: NewDelivery[] = [],
    messages: readonly Message[] = [],
  ): Promise<void> {
    if (ids.length === 0) return;
    const now = this.#now();
    const all = [...writeBack];
    // The backup's copies go too (housekeeping's purges included: the backup runs none).
    const byMailbox = new Map<number, Message[]>();
    for (const m of messages.length > 0 ? messages : await this.#messagesOf(ids))
      byMailbox.set(m.mailboxId, [...(byMailbox.get(m.mailboxId) ?? []), m]);
    for (const [box, list] of byMailbox)
      all.push(
        ...(await this.#toBackup(
          box,
          list.map((message) => ({ message, to: null })),
          now,
        )),
      );
    const unused = await this.#deps.store.purgeMessages(ids, now, all);
    this.#exchange.queued(all);
    await this.#deps.audio.remove(unused);
    const mailbox =
      mailboxId === null ? null : ((await this.#deps.store.getMailbox(mailboxId))?.name ?? null);
    await this.#mailboxes.audit.record({
      kind: 'purge',
      actor,
      mailbox,
      reason: mailboxId === null ? 'housekeeping' : null,
      details: { count: ids.length, ...(ids.length <= 20 ? { messages: ids } : {}) },
    });
  }

  /**
   * Copies messages, as new, into another mailbox (or its group members): all of them in one
   * commit, or none when any is private or not this mailbox's.
   */
  async forward(mailboxId: number, ids: string | string[], targetRef: string): Promise<Message[]> {
    const messages = await Promise.all(
      [...new Set([ids].flat())].map((id) => this.get(mailboxId, id)),
    );
    if (messages.some((m) => m.private))
      throw new VoicegateError('FORBIDDEN', 'a private message cannot be forwarded');
    const target = await this.#mailboxes.resolve(targetRef);
    if (target.id === mailboxId)
      throw new VoicegateError('INVALID_INPUT', 'cannot forward a message to its own mailbox');
    const source = await this.#deps.store.getMailbox(mailboxId);
    // A forward is a new voicemail, made here: forwarding it again gives another one.
    const copies = messages.map((m) => ({
      identity: this.newIdentity(),
      kind: m.kind,
      callerNumber: m.callerNumber,
      callerName: m.callerName,
      receivedAt: m.receivedAt,
      audio: m.audio,
      priority: m.priority,
      private: m.private,
      originServer: m.originServer,
      forwardedFrom: source?.name ?? null,
    }));
    return this.#addTo(target, copies);
  }

  /**
   * One page of a view, searched and ordered by the store; days are the mailbox's. `total`, when
   * the caller knows it (counted at the mailbox's current modification sequence), spares the
   * store counting every match again.
   */
  async page(
    mailbox: { id: number; timeZone: string },
    search: MessageSearch,
    total?: number,
  ): Promise<MessagePage> {
    const query = toQuery(search, mailbox.timeZone);
    if (total !== undefined) query.total = total;
    return this.#deps.store.queryMessages(mailbox.id, query);
  }

  /** Every id a search matches (a user's "select all matching"), up to MAX_BULK. */
  async idsMatching(
    mailbox: { id: number; timeZone: string },
    search: Omit<MessageSearch, 'after' | 'limit'>,
  ): Promise<string[]> {
    const ids: string[] = [];
    const query = toQuery({ ...search, limit: MAX_PAGE }, mailbox.timeZone);
    for (;;) {
      const page = await this.#deps.store.queryMessages(mailbox.id, query);
      ids.push(...page.messages.map((m) => m.id));
      if (ids.length > MAX_BULK) throw tooMany();
      if (!page.next) return ids;
      query.after = page.next;
    }
  }

  /**
   * One action on many messages of a mailbox, all or none: refused whole when any is not this
   * mailbox's or cannot take the action. Messages the action leaves as they are stay untouched.
   */
  async actMany(mailboxId: number, ids: string[], action: MessageAction): Promise<Message[]> {
    const unique = [...new Set(ids)];
    if (unique.length > MAX_BULK) throw tooMany();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await Promise.all(unique.map((id) => this.get(mailboxId, id)));
      const changes: StateChange[] = [];
      const result = new Map(current.map((m) => [m.id, m]));
      for (const m of current) {
        const next = applyAction(m, action);
        if (!next)
          throw new VoicegateError(
            'INVALID_STATE',
            `cannot ${action} a message that is ${m.state}`,
          );
        const folder = folderAfter(m.folder, next.state);
        if (next.state === m.state && next.deletedFrom === m.deletedFrom && folder === m.folder)
          continue;
        changes.push({ id: m.id, from: m, to: next, folder });
      }
      if (changes.length === 0) return current;
      const changing = new Set(changes.map((c) => c.id));
      const now = this.#now();
      const writeBack = [
        ...(await this.#exchange.deliveriesFor(
          mailboxId,
          current.filter((m) => changing.has(m.id)),
        )),
        ...(await this.#toBackup(
          mailboxId,
          changes.map((c) => ({ message: result.get(c.id)!, to: c.to })),
          now,
        )),
      ];
      const updated = await this.#deps.store.setStates(changes, now, writeBack);
      if (updated) {
        this.#exchange.queued(writeBack);
        for (const m of updated) result.set(m.id, m);
        return unique.map((id) => result.get(id)!);
      }
      // Another channel changed one of them meanwhile: read them again and re-decide.
    }
    throw new VoicegateError('UNAVAILABLE', 'messages are changing too often; try again');
  }

  /** A user's "empty deleted": every deleted message removed for good; returns how many. */
  async emptyDeleted(mailboxId: number, actor: Actor = SYSTEM_ACTOR): Promise<number> {
    const deleted = await this.#deps.store.listMessages(mailboxId, { states: ['deleted'] });
    await this.#purge(
      deleted.map((m) => m.id),
      actor,
      mailboxId,
      await this.#exchange.deliveriesFor(mailboxId, deleted),
      deleted,
    );
    return deleted.length;
  }

  async runHousekeeping(): Promise<{ deleted: number; purged: number; journalPruned: number }> {
    const now = this.#now();
    const { toDelete, toPurge } = housekeepingDue(
      await this.#deps.store.messageAges(),
      this.#deps.housekeeping,
      now,
    );
    let deleted = 0;
    for (const id of toDelete) {
      const m = await this.#deps.store.getMessage(id);
      if (!m) continue;
      const next = applyAction(m, 'delete');
      if (
        next &&
        (await this.#deps.store.setState(
          id,
          m,
          next,
          folderAfter(m.folder, next.state),
          now,
          await this.#toBackup(m.mailboxId, [{ message: m, to: next }], now),
        ))
      )
        deleted++;
    }
    await this.#purge(toPurge, SYSTEM_ACTOR, null);
    await this.#deps.store.pruneAudit(
      now - (this.#deps.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS) * 86_400_000,
    );
    const journalPruned = await this.#deps.store.pruneJournal(now - 30 * 86_400_000);
    // A resend comes within the senders' retry times (days): a month covers them.
    await this.#deps.store.pruneDeposits(now - 30 * 86_400_000);
    if (deleted || toPurge.length)
      this.#deps.log.info({ deleted, purged: toPurge.length }, 'housekeeping');
    return { deleted, purged: toPurge.length, journalPruned };
  }

  async setGreeting(
    mailboxRef: MailboxRef,
    kind: GreetingKind,
    audio: Uint8Array,
  ): Promise<Greeting> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const info = this.#deps.inspectAudio(audio);
    if (info.durationMs > this.#deps.policy.maxMessageSeconds * 1000) {
      throw new VoicegateError(
        'TOO_LONG',
        `a greeting is at most ${this.#deps.policy.maxMessageSeconds} s long`,
      );
    }
    const key = await this.#deps.audio.put(audio);
    const ref = { key, format: info.format, bytes: audio.byteLength, durationMs: info.durationMs };
    const at = this.#now();
    const replaced = await this.#deps.store.setGreeting(mailbox.id, kind, ref, at);
    await this.#deps.audio.remove(replaced);
    this.#deps.observe?.({ event: 'greeting', mailbox: mailbox.name, kind, change: 'set', at });
    return { mailboxId: mailbox.id, kind, audio: ref, updatedAt: at };
  }

  /**
   * A greeting a peer set (`audio`) or removed (`change.removed`, audio null) while it served in
   * this server's place (a backup handing back): applied when it is the later change
   * (`peerGreetingWins`), else the one here stands. A removal of a greeting this server does
   * not have changes nothing.
   */
  async applyPeerGreeting(
    change: PeerGreeting,
    audio: Uint8Array | null,
  ): Promise<'changed' | 'removed' | 'kept'> {
    const mailbox = await this.#mailboxes.resolve(change.mailbox);
    const here =
      (await this.#deps.store.listGreetings(mailbox.id)).find((g) => g.kind === change.kind) ??
      null;
    if (change.removed || audio === null) {
      if (here === null || !peerGreetingWins(here, change)) return 'kept';
      await this.removeGreeting(mailbox.name, change.kind);
      return 'removed';
    }
    if (!peerGreetingWins(here, change)) return 'kept';
    await this.setGreeting(mailbox.name, change.kind, audio);
    return 'changed';
  }

  /** A message's audio as stored, for channels that play it themselves (the phone). */
  async messageAudio(mailboxId: number, id: string): Promise<Uint8Array> {
    const message = await this.get(mailboxId, id);
    return this.#deps.audio.read(message.audio.key);
  }

  async greetings(mailboxRef: MailboxRef): Promise<Greeting[]> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    return this.#deps.store.listGreetings(mailbox.id);
  }

  async removeGreeting(mailboxRef: MailboxRef, kind: GreetingKind): Promise<void> {
    const mailbox = await this.#mailboxes.resolve(mailboxRef);
    const at = this.#now();
    await this.#deps.audio.remove(await this.#deps.store.removeGreeting(mailbox.id, kind, at));
    this.#deps.observe?.({ event: 'greeting', mailbox: mailbox.name, kind, change: 'removed', at });
  }
}
