/**
 * Actions written back to Exchange: when the phone, the web or IMAP changes a voicemail of a
 * mailbox at home in Exchange (listened to, saved, deleted, undeleted, marked unread, purged),
 * an `update` delivery goes into the queue for the mailbox's connection, committed with the
 * change, and its target makes the Exchange item look like the voicemail then (`marksFor`,
 * `exchange-state.ts`). Changes read back from Exchange are not written back (they are what the
 * item already shows).
 */
import type { DomainDeps } from './deps.ts';
import { mailFactsOf, type NewDelivery } from './delivery.ts';
import { exchangeDestination } from './exchange.ts';
import type { Message } from './message.ts';

export class ExchangeWriteBack {
  readonly #deps: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#deps = deps;
  }

  /**
   * The write-backs of a change to these messages of `mailboxId` (or of their purge): one
   * `update` delivery each, none for a mailbox at home here. The store queues them in the
   * transaction of the change itself, so a crash never keeps one without the other.
   */
  async deliveriesFor(mailboxId: number, messages: readonly Message[]): Promise<NewDelivery[]> {
    const connections = this.#deps.exchangeConnections ?? [];
    if (messages.length === 0 || connections.length === 0) return [];
    const home = await this.#deps.store.getMailboxHome(mailboxId);
    const to = exchangeDestination(home, connections);
    if (!to.target) return [];
    const target = to.target;
    return messages.map((m) => ({
      voicemailId: m.id,
      ...mailFactsOf(m),
      target,
      kind: 'update',
      mailboxId,
      recipient: to.recipient,
      messageId: m.id,
      payload: to.payload,
    }));
  }

  /** Wakes the delivery runner once write-backs were committed with their change. */
  queued(deliveries: readonly NewDelivery[]): void {
    if (deliveries.length > 0) this.#deps.onDeliveryQueued?.();
  }
}
