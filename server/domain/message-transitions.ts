import { SYSTEM_ACTOR, type Actor } from './audit.ts';
import { DEFAULT_AUDIT_RETENTION_DAYS } from './audit-trail.ts';
import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import { housekeepingDue } from './housekeeping.ts';
import { ExchangeWriteBack } from './exchange-writeback.ts';
import type { MailboxRef } from './mailbox.ts';
import type { NewDelivery } from './delivery.ts';
import { folderAfter, type Message } from './message.ts';
import { applyAction, type MessageAction } from './message-state.ts';
import { mergeState, type PeerState } from './state-merge.ts';
import { backupUpdatesFor, type BackupChange } from './backup-updates.ts';
import type { MailboxService } from './mailbox-service.ts';
import { MAX_BULK, tooMany, type MessageReader } from './message-reading.ts';
import type { StateChange } from './ports.ts';

export interface ActOptions {
  /** IMAP's \\Deleted flag: the message stays in its folder until EXPUNGE. */
  keepFolder?: boolean;
  /** The change was read back from Exchange: it is not written back there. */
  fromExchange?: boolean;
}

/**
 * Changing messages' states, one or many at once, merging a peer's change, and removing them
 * for good (a user's purge, housekeeping): each change written back to Exchange and carried to
 * the backup in the store's commit.
 */
export class MessageTransitions {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  readonly #reader: MessageReader;
  readonly #exchange: ExchangeWriteBack;
  constructor(deps: DomainDeps, mailboxes: MailboxService, reader: MessageReader) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
    this.#reader = reader;
    this.#exchange = new ExchangeWriteBack(deps);
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /** play, playHeader, markUnread, save, unsave, delete, undelete: the same for every channel. */
  async act(
    mailboxId: number,
    id: string,
    action: MessageAction,
    opts: ActOptions = {},
  ): Promise<Message> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.#reader.get(mailboxId, id);
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
   * One action on many messages of a mailbox, all or none: refused whole when any is not this
   * mailbox's or cannot take the action. Messages the action leaves as they are stay untouched.
   */
  async actMany(mailboxId: number, ids: string[], action: MessageAction): Promise<Message[]> {
    const unique = [...new Set(ids)];
    if (unique.length > MAX_BULK) throw tooMany();
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await Promise.all(unique.map((id) => this.#reader.get(mailboxId, id)));
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
      const m = await this.#reader.get(mailboxId, id);
      if (m.state !== 'deleted' || m.folder !== 'inbox') continue;
      const updated = await this.#deps.store.setState(id, m, m, 'trash', this.#now());
      if (updated) moved.push(updated);
    }
    return moved;
  }

  /** IMAP \\Deleted on a message in the trash: marks it for the next EXPUNGE there. */
  async markForPurge(mailboxId: number, id: string, marked: boolean): Promise<Message> {
    await this.#reader.get(mailboxId, id);
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
      const m = await this.#reader.get(mailboxId, id);
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
}
