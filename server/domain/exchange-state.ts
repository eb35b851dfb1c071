/**
 * What the user did to a voicemail in Outlook, OWA or a phone's mail app, made the voicemail's
 * state here through the same transitions every channel uses, so the lamp, the phone menus, the
 * web and IMAP follow it. The mapping, beside IMAP's:
 *
 * | in Exchange                         | voicemail                                 |
 * | ----------------------------------- | ----------------------------------------- |
 * | unread in the Inbox                 | new (a heard one is marked new again)     |
 * | read                                | old (played)                              |
 * | flagged (follow-up, or complete)    | saved                                     |
 * | flag cleared                        | old (unsaved)                             |
 * | moved to Deleted Items              | deleted (keeps its state for undelete)    |
 * | moved back to the Inbox             | undeleted                                 |
 * | moved to another folder             | saved: the user filed it, so it is kept   |
 * | purged (deleted from Deleted Items) | purged here too                           |
 *
 * The other way (`marksFor`), what the phone, the web or IMAP did is written to the item: new
 * and unopened are unread, played is read, saved is read and flagged, deleted moves the item to
 * Deleted Items (keeping the marks of the state it had) and undeleted moves it back to the Inbox.
 * An item the user filed in another folder stays there while the voicemail is live.
 *
 * Conflicts resolve one way: the last change wins. A change made here that is still being
 * written to the item wins over what Exchange shows meanwhile. A write-back carries no state of its own: it
 * makes the item look like the voicemail when it runs, so writes made in the user's order end
 * with the item as the user left it; and Exchange's state is read after every change, so what
 * the user sees in Outlook is what the phone says once the two have met (the user deleted it in
 * Outlook while the phone saved it: whichever reached Voicegate last is what both show).
 */
import { SYSTEM_ACTOR } from './audit.ts';
import type { DomainDeps } from './deps.ts';
import type { ExchangeItemRef } from './exchange.ts';
import type { Message } from './message.ts';
import type { MessageAction } from './message-state.ts';
import type { MessageService } from './message-service.ts';

/** Changes that come from Exchange are not written back to it. */
const FROM_EXCHANGE = { fromExchange: true } as const;

/** An Exchange item as read back: where it is, and its read and flag marks. */
export type ExchangeView =
  | { place: 'gone' }
  | { place: 'inbox' | 'deleted' | 'elsewhere'; isRead: boolean; flagged: boolean };

/** The transitions that bring `current` to what Exchange shows, in order; 'purge' for gone. */
export function actionsFor(current: Message, view: ExchangeView): MessageAction[] | 'purge' {
  if (view.place === 'gone') return 'purge';
  if (view.place === 'deleted') return current.state === 'deleted' ? [] : ['delete'];
  const actions: MessageAction[] = current.state === 'deleted' ? ['undelete'] : [];
  const live = current.state === 'deleted' ? (current.deletedFrom ?? 'old') : current.state;
  const saved = view.flagged || view.place === 'elsewhere';
  if (saved && live !== 'saved') actions.push('save');
  else if (!saved && live === 'saved') actions.push(view.isRead ? 'unsave' : 'markUnread');
  else if (!saved && view.isRead && (live === 'new' || live === 'unopened')) actions.push('play');
  else if (!saved && !view.isRead && live === 'old') actions.push('markUnread');
  return actions;
}

/** The marks an Exchange item shows for a voicemail in `m`'s state: the inverse of `actionsFor`. */
export function marksFor(m: Pick<Message, 'state' | 'deletedFrom'>): {
  place: 'inbox' | 'deleted';
  isRead: boolean;
  flagged: boolean;
} {
  const live = m.state === 'deleted' ? (m.deletedFrom ?? 'old') : m.state;
  return {
    place: m.state === 'deleted' ? 'deleted' : 'inbox',
    isRead: live === 'old' || live === 'saved',
    flagged: live === 'saved',
  };
}

/**
 * One read-back round of a mailbox: what it reads of Exchange is as old as the round's start at
 * best, so a change made here after that (a later modification sequence than the mailbox's at
 * the start: a sequence, not a clock, since a peer's merged change keeps its own time) (the phone saved the message while the round was
 * reading) is newer than anything the round saw, and the round does not take it back. The round
 * then asks to be read again (`readAgain`: the sync state is not advanced), so what the user did
 * in Outlook meanwhile is read by the next round, which started after the change. The changes
 * the round makes itself are not taken for such local changes.
 */
export class ReadBackRound {
  /** The mailbox's highest modification sequence when the round started. */
  readonly startModseq: number;
  /** A change made here after the round started was newer than what it read. */
  readAgain = false;
  readonly #service: ExchangeStateService;
  readonly #changed = new Set<string>();

  constructor(service: ExchangeStateService, startModseq: number) {
    this.#service = service;
    this.startModseq = startModseq;
  }

  /** Whether `m` changed here (not by this round) since the round started. */
  changedSinceStart(m: Pick<Message, 'id' | 'modseq'>): boolean {
    return m.modseq > this.startModseq && !this.#changed.has(m.id);
  }

  /** Remembers a message this round changed. */
  changedByRound(messageId: string): void {
    this.#changed.add(messageId);
  }

  follow(mailboxId: number, itemId: string, view: ExchangeView): Promise<boolean> {
    return this.#service.follow(mailboxId, itemId, view, this);
  }

  deletedItems(mailboxId: number): Promise<string[]> {
    return this.#service.deletedItems(mailboxId);
  }

  identityOf(mailboxId: number, itemId: string): Promise<string | null> {
    return this.#service.identityOf(mailboxId, itemId);
  }

  relink(mailboxId: number, identity: string, ref: ExchangeItemRef): Promise<boolean> {
    return this.#service.relink(mailboxId, identity, ref);
  }
}

/** Applies what is read back from Exchange to the shadows of a mailbox. */
export class ExchangeStateService {
  readonly #deps: DomainDeps;
  readonly #messages: MessageService;
  constructor(deps: DomainDeps, messages: MessageService) {
    this.#deps = deps;
    this.#messages = messages;
  }

  /**
   * The items of the mailbox's deleted voicemail: a reader that sees only the Inbox's changes
   * looks these up, to learn which were purged from Deleted Items.
   */
  async deletedItems(mailboxId: number): Promise<string[]> {
    const deleted = await this.#messages.list(mailboxId, 'deleted');
    const items = await Promise.all(deleted.map((m) => this.#deps.store.getExchangeItem(m.id)));
    return items.filter((i) => i !== null).map((i) => i.itemId);
  }

  /** The voicemail identity of the message that became item `itemId`; null if none did. */
  async identityOf(mailboxId: number, itemId: string): Promise<string | null> {
    return (await this.#deps.store.findMessageByExchangeItem(mailboxId, itemId))?.identity ?? null;
  }

  /**
   * Remembers that the voicemail `identity` of the mailbox is now item `ref` (Exchange gave the
   * item a new id when it moved); false when no voicemail here has that identity.
   */
  async relink(mailboxId: number, identity: string, ref: ExchangeItemRef): Promise<boolean> {
    const message = await this.#deps.store.findMessageByIdentity(mailboxId, identity);
    if (!message) return false;
    await this.#deps.store.setExchangeItem(message.id, ref);
    return true;
  }

  /** Starts a read-back round (before its first read of Exchange): see `ReadBackRound`. */
  async startRound(mailboxId: number): Promise<ReadBackRound> {
    return new ReadBackRound(this, await this.#deps.store.highestModseq(mailboxId));
  }

  async #writingBack(messageId: string): Promise<boolean> {
    const queued = await this.#deps.store.listDeliveries();
    return queued.some((d) => d.kind === 'update' && d.messageId === messageId);
  }

  /**
   * Makes the shadow of item `itemId` follow `view`, read by `round`; false when no voicemail is
   * that item.
   */
  async follow(
    mailboxId: number,
    itemId: string,
    view: ExchangeView,
    round?: ReadBackRound,
  ): Promise<boolean> {
    const current = await this.#deps.store.findMessageByExchangeItem(mailboxId, itemId);
    if (!current) return false;
    const actions = actionsFor(current, view);
    if (actions !== 'purge' && actions.length === 0) return true;
    // A change made here after the round started is newer than what it read: it stands, and
    // the round is read again once the change is written to the item.
    if (round?.changedSinceStart(current)) {
      round.readAgain = true;
      this.#deps.log.info(
        { mailboxId, messageId: current.id, actions },
        'Exchange read back before a change made here: not applied',
      );
      return true;
    }
    // A change made here and not yet written to the item is the later one: it wins, and what
    // Exchange shows meanwhile (perhaps an earlier write-back) is not taken back.
    if (await this.#writingBack(current.id)) return true;
    round?.changedByRound(current.id);
    if (actions === 'purge') {
      if (current.state !== 'deleted')
        await this.#messages.act(mailboxId, current.id, 'delete', FROM_EXCHANGE);
      await this.#messages.purge(mailboxId, [current.id], SYSTEM_ACTOR, FROM_EXCHANGE);
    } else
      for (const a of actions) await this.#messages.act(mailboxId, current.id, a, FROM_EXCHANGE);
    this.#deps.log.info(
      { mailboxId, messageId: current.id, actions },
      'voicemail changed in Exchange',
    );
    return true;
  }
}
