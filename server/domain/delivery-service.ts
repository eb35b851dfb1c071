import type { DomainDeps } from './deps.ts';
import {
  decideRetry,
  type DeliveryResult,
  type Notice,
  type QueueItem,
  type TargetKind,
} from './delivery.ts';
import { VoicegateError } from './errors.ts';
import { AuditTrail } from './audit-trail.ts';
import { CLI_ACTOR, type Actor } from './audit.ts';
import type { MessageService } from './message-service.ts';

/**
 * The durable delivery queue, for every target kind: items are claimed with a lease, and each
 * attempt's result is settled by one rule (`decideRetry`): removed when delivered, tried again
 * later when the failure may pass, kept as failed (a bounce) when it will not or has waited
 * `retryHours`. A forward that is not delivered goes into the mailbox instead: nothing is lost.
 * Notices (plain mail from the server to an administrator) go the same way.
 */
export class DeliveryService {
  readonly #deps: DomainDeps;
  readonly #messages: MessageService;
  readonly #retryHours: number;

  constructor(deps: DomainDeps, messages: MessageService, retryHours: number) {
    this.#deps = deps;
    this.#messages = messages;
    this.#retryHours = retryHours;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  /**
   * Queues a notice to `recipient` (an administrator's address): durable once this returns, and
   * mailed by the `smtp` target as voicemail e-mail is.
   */
  async queueNotice(recipient: string, notice: Notice): Promise<void> {
    await this.#deps.store.queueDelivery(
      { target: 'smtp', kind: 'notice', recipient, notice },
      this.#now(),
    );
    this.#deps.onDeliveryQueued?.();
  }

  /** Leases up to `limit` due items of one target kind to `holder` for `leaseMs`. */
  claim(target: TargetKind, holder: string, limit: number, leaseMs: number): Promise<QueueItem[]> {
    return this.#deps.store.claimDeliveries({ target, holder, now: this.#now(), leaseMs, limit });
  }

  /**
   * Records an attempt's result for an item `holder` claimed. Returns what became of it; `lost`
   * when the lease had passed to another worker, whose own attempt then counts.
   */
  async settle(
    item: QueueItem,
    result: DeliveryResult,
    holder: string,
  ): Promise<'delivered' | 'deferred' | 'failed' | 'lost'> {
    const decision = decideRetry(item, result, this.#now(), this.#retryHours);
    const notice = item.kind === 'notice';
    const log = {
      deliveryId: item.id,
      target: item.target,
      kind: item.kind,
      mailboxId: item.kind === 'notice' ? null : item.mailboxId,
      attempts: item.attempts + 1,
    };
    if (decision.action === 'done') {
      const unused = await this.#deps.store.completeDelivery(item.id, holder);
      if (unused === null) return this.#lost(log);
      await this.#deps.audio.remove(unused);
      this.#deps.log.info({ ...log, detail: (result as { detail?: string }).detail }, 'delivered');
      this.#deps.observe?.({ event: 'delivery', target: item.target, result: 'delivered', notice });
      return 'delivered';
    }
    if (decision.action === 'retry') {
      const reason = (result as { reason: string }).reason;
      const held = await this.#deps.store.deferDelivery(
        item.id,
        holder,
        decision.at,
        decision.attempts,
        reason,
      );
      if (!held) return this.#lost(log);
      this.#deps.log.warn({ ...log, reason, nextAttemptAt: decision.at }, 'delivery deferred');
      this.#deps.observe?.({
        event: 'delivery',
        target: item.target,
        result: 'deferred',
        reason,
        notice,
      });
      return 'deferred';
    }
    const keep = item.kind === 'forward' ? this.#messages.undeliveredForward(item) : undefined;
    const held = await this.#deps.store.failDelivery(item.id, holder, decision.reason, keep);
    if (!held) return this.#lost(log);
    this.#deps.log.warn(
      { ...log, reason: decision.reason, keptInMailbox: Boolean(keep) },
      'delivery failed',
    );
    this.#deps.observe?.({
      event: 'delivery',
      target: item.target,
      result: 'failed',
      reason: decision.reason,
      notice,
    });
    return 'failed';
  }

  #lost(log: { target: TargetKind }): 'lost' {
    this.#deps.observe?.({ event: 'delivery', target: log.target, result: 'lost' });
    this.#deps.log.warn(log, 'delivery lease lost to another worker: its result counts');
    return 'lost';
  }

  list(): Promise<QueueItem[]> {
    return this.#deps.store.listDeliveries();
  }

  async #get(id: number): Promise<QueueItem> {
    const item = await this.#deps.store.getDelivery(id);
    if (!item) throw new VoicegateError('NOT_FOUND', `no mail ${id} in the queue`);
    return item;
  }

  /** Tries an item again now (pending or failed). */
  async retry(id: number, actor: Actor = CLI_ACTOR): Promise<void> {
    const item = await this.#get(id);
    if (item.kind === 'forward' && item.status === 'failed') {
      throw new VoicegateError(
        'INVALID_STATE',
        'this forward was kept in the mailbox when it bounced; forward it again from there',
      );
    }
    await this.#deps.store.rescheduleDelivery(id, this.#now());
    this.#deps.onDeliveryQueued?.();
    await this.#audit(item, actor, 'retry now');
  }

  /** Removes an item from the queue. A pending forward would be lost: it goes into the mailbox. */
  async drop(id: number, actor: Actor = CLI_ACTOR): Promise<void> {
    const item = await this.#get(id);
    const keep =
      item.kind === 'forward' && item.status === 'pending'
        ? this.#messages.undeliveredForward(item)
        : undefined;
    await this.#deps.audio.remove(await this.#deps.store.dropDelivery(id, keep));
    await this.#audit(item, actor, keep ? 'dropped (kept in the mailbox)' : 'dropped');
  }

  async #audit(item: QueueItem, actor: Actor, reason: string): Promise<void> {
    const mailbox =
      item.kind === 'notice' ? null : await this.#deps.store.getMailbox(item.mailboxId);
    await new AuditTrail(this.#deps).record({
      kind: 'queue-change',
      actor,
      mailbox: mailbox?.name ?? null,
      reason,
      details: {
        item: item.id,
        target: item.target,
        recipient: item.recipient,
        status: item.status,
      },
    });
  }
}
