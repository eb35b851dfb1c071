import type { Actor } from './audit.ts';
import type { DomainDeps } from './deps.ts';
import type { GreetingKind, MailboxRef } from './mailbox.ts';
import type { Delivery } from './delivery.ts';
import type { Greeting, Message, NewMessage } from './message.ts';
import type { MessageAction } from './message-state.ts';
import type { PeerState } from './state-merge.ts';
import type { PeerGreeting } from './greeting-merge.ts';
import type { LampCounts } from './waiting.ts';
import type { MailboxService } from './mailbox-service.ts';
import type { MessageSearch, MessageView } from './message-search.ts';
import type { MessagePage } from './ports.ts';
import { MessageReader } from './message-reading.ts';
import { MessageDeposits, type DepositInput } from './message-deposit.ts';
import { MessageForwarding } from './message-forwarding.ts';
import { MessageTransitions, type ActOptions } from './message-transitions.ts';
import { GreetingService } from './greeting-service.ts';

// The SMTP listener's mail parser names the deposit's fields by this module.
export type { DepositInput } from './message-deposit.ts';

/**
 * What every channel does with voicemail, in one place: each operation is one of the parts'
 * (reading, depositing, forwarding, state transitions, greetings), where its rule is written.
 */
export class MessageService {
  readonly #reader: MessageReader;
  readonly #deposits: MessageDeposits;
  readonly #forwarding: MessageForwarding;
  readonly #transitions: MessageTransitions;
  readonly #greetings: GreetingService;
  constructor(deps: DomainDeps, mailboxes: MailboxService) {
    this.#reader = new MessageReader(deps);
    this.#deposits = new MessageDeposits(deps, mailboxes);
    this.#forwarding = new MessageForwarding(deps, mailboxes, this.#reader, this.#deposits);
    this.#transitions = new MessageTransitions(deps, mailboxes, this.#reader);
    this.#greetings = new GreetingService(deps, mailboxes);
  }

  // Reading (`message-reading.ts`).

  get(mailboxId: number, id: string): Promise<Message> {
    return this.#reader.get(mailboxId, id);
  }

  list(mailboxId: number, view?: MessageView): Promise<Message[]> {
    return this.#reader.list(mailboxId, view);
  }

  page(
    mailbox: { id: number; timeZone: string },
    search: MessageSearch,
    total?: number,
  ): Promise<MessagePage> {
    return this.#reader.page(mailbox, search, total);
  }

  idsMatching(
    mailbox: { id: number; timeZone: string },
    search: Omit<MessageSearch, 'after' | 'limit'>,
  ): Promise<string[]> {
    return this.#reader.idsMatching(mailbox, search);
  }

  counts(mailboxId: number): Promise<{ new: number; old: number; saved: number; deleted: number }> {
    return this.#reader.counts(mailboxId);
  }

  lamp(mailboxId: number): Promise<LampCounts> {
    return this.#reader.lamp(mailboxId);
  }

  messageAudio(mailboxId: number, id: string): Promise<Uint8Array> {
    return this.#reader.messageAudio(mailboxId, id);
  }

  // Depositing (`message-deposit.ts`).

  newIdentity(): string {
    return this.#deposits.newIdentity();
  }

  deposit(input: DepositInput): Promise<Message[]> {
    return this.#deposits.deposit(input);
  }

  undeliveredForward(item: Delivery): NewMessage {
    return this.#deposits.undeliveredForward(item);
  }

  // Forwarding (`message-forwarding.ts`).

  forward(mailboxId: number, ids: string | string[], targetRef: string): Promise<Message[]> {
    return this.#forwarding.forward(mailboxId, ids, targetRef);
  }

  forwardToEmail(mailboxId: number, id: string, address: string, actor?: Actor): Promise<void> {
    return this.#forwarding.forwardToEmail(mailboxId, id, address, actor);
  }

  emailRecording(
    mailboxRef: MailboxRef,
    to: string | null,
    audio: Uint8Array,
    facts?: { callerNumber?: string | null; callerName?: string | null },
  ): Promise<{ recipient: string; voicemailId: string }> {
    return this.#forwarding.emailRecording(mailboxRef, to, audio, facts);
  }

  // State transitions and purges (`message-transitions.ts`).

  act(mailboxId: number, id: string, action: MessageAction, opts?: ActOptions): Promise<Message> {
    return this.#transitions.act(mailboxId, id, action, opts);
  }

  actMany(mailboxId: number, ids: string[], action: MessageAction): Promise<Message[]> {
    return this.#transitions.actMany(mailboxId, ids, action);
  }

  applyPeerState(
    mailboxRef: MailboxRef,
    identity: string,
    remote: PeerState,
  ): Promise<'changed' | 'kept' | 'unknown' | 'purged'> {
    return this.#transitions.applyPeerState(mailboxRef, identity, remote);
  }

  expunge(mailboxId: number, ids: string[]): Promise<Message[]> {
    return this.#transitions.expunge(mailboxId, ids);
  }

  markForPurge(mailboxId: number, id: string, marked: boolean): Promise<Message> {
    return this.#transitions.markForPurge(mailboxId, id, marked);
  }

  purge(mailboxId: number, ids: string[], actor?: Actor, opts?: ActOptions): Promise<void> {
    return this.#transitions.purge(mailboxId, ids, actor, opts);
  }

  emptyDeleted(mailboxId: number, actor?: Actor): Promise<number> {
    return this.#transitions.emptyDeleted(mailboxId, actor);
  }

  runHousekeeping(): Promise<{ deleted: number; purged: number; journalPruned: number }> {
    return this.#transitions.runHousekeeping();
  }

  // Greetings (`greeting-service.ts`).

  setGreeting(mailboxRef: MailboxRef, kind: GreetingKind, audio: Uint8Array): Promise<Greeting> {
    return this.#greetings.setGreeting(mailboxRef, kind, audio);
  }

  removeGreeting(mailboxRef: MailboxRef, kind: GreetingKind): Promise<void> {
    return this.#greetings.removeGreeting(mailboxRef, kind);
  }

  greetings(mailboxRef: MailboxRef): Promise<Greeting[]> {
    return this.#greetings.greetings(mailboxRef);
  }

  greetingAudio(mailboxRef: MailboxRef, kind?: GreetingKind): Promise<Uint8Array | null> {
    return this.#greetings.greetingAudio(mailboxRef, kind);
  }

  applyPeerGreeting(
    change: PeerGreeting,
    audio: Uint8Array | null,
  ): Promise<'changed' | 'removed' | 'kept'> {
    return this.#greetings.applyPeerGreeting(change, audio);
  }
}
