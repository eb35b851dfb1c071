/**
 * Actions written back to Exchange: when the phone, the web or IMAP changes a voicemail of a
 * mailbox at home in Exchange (listened to, saved, deleted, undeleted, marked unread, purged),
 * an `update` delivery goes into the queue for the mailbox's connection, and its target makes
 * the Exchange item look like the voicemail then (`marksFor`, `exchange-state.ts`). Changes read
 * back from Exchange are not written back (they are what the item already shows).
 */
import type { DomainDeps } from './deps.ts';
import type { NewDelivery } from './delivery.ts';
import { exchangeDestination } from './exchange.ts';
import type { Message } from './message.ts';

export class ExchangeWriteBack {
  readonly #deps: DomainDeps;
  constructor(deps: DomainDeps) {
    this.#deps = deps;
  }

  /**
   * Queues one write-back per message of `mailboxId` that changed (or was purged). Called once
   * the change is stored; a mailbox at home here queues nothing.
   */
  async queue(mailboxId: number, changed: readonly Message[]): Promise<void> {
    const connections = this.#deps.exchangeConnections ?? [];
    if (changed.length === 0 || connections.length === 0) return;
    const home = await this.#deps.store.getMailboxHome(mailboxId);
    const to = exchangeDestination(home, connections);
    if (!to.target) return;
    const now = this.#deps.now?.() ?? Date.now();
    for (const m of changed) {
      const update: NewDelivery = {
        voicemailId: m.id,
        identity: m.identity,
        callerNumber: m.callerNumber,
        callerName: m.callerName,
        receivedAt: m.receivedAt,
        audio: m.audio,
        priority: m.priority,
        private: m.private,
        target: to.target,
        kind: 'update',
        mailboxId,
        recipient: to.recipient,
        messageId: m.id,
        payload: to.payload,
      };
      await this.#deps.store.queueDelivery(update, now);
    }
    this.#deps.onDeliveryQueued?.();
  }
}
