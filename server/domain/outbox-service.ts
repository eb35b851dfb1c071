import type { DomainDeps } from './deps.ts';
import { VoicegateError } from './errors.ts';
import type { MessageService } from './message-service.ts';
import { givenUp, nextAttemptAt, type DeliveryTarget, type OutboxItem } from './outbox.ts';

const DELIVERY_TIMEOUT_MS = 120_000;

function timeout(ms: number): Promise<{ status: 'retry'; reason: string }> {
  return new Promise((resolve) =>
    setTimeout(
      () => resolve({ status: 'retry', reason: `no answer within ${ms / 1000} s` }),
      ms,
    ).unref(),
  );
}

/**
 * The durable outbound queue: each due mail is handed to the delivery target (with a time
 * limit), then removed when sent, retried with back-off when the failure may pass, and kept as
 * failed (a bounce) when it will not, or once it has waited `retryHours`.
 */
export class OutboxService {
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

  async runDue(
    target: DeliveryTarget,
    limit = 20,
  ): Promise<{ sent: number; retried: number; failed: number }> {
    const counts = { sent: 0, retried: 0, failed: 0 };
    for (const item of await this.#deps.store.dueMail(this.#now(), limit)) {
      const result = await Promise.race([
        target.deliver(item).catch((err: unknown) => ({
          status: 'retry' as const,
          reason: String((err as Error).message ?? err),
        })),
        timeout(DELIVERY_TIMEOUT_MS),
      ]);
      const log = {
        mailId: item.id,
        kind: item.kind,
        mailboxId: item.mailboxId,
        attempts: item.attempts + 1,
      };
      if (result.status === 'ok') {
        await this.#deps.audio.remove(await this.#deps.store.removeMail(item.id));
        this.#deps.log.info({ ...log, detail: result.detail }, 'e-mail sent');
        counts.sent++;
      } else if (result.status === 'retry' && !givenUp(item, this.#now(), this.#retryHours)) {
        const attempts = item.attempts + 1;
        await this.#deps.store.retryMailAt(
          item.id,
          nextAttemptAt(attempts, this.#now()),
          attempts,
          result.reason,
        );
        this.#deps.log.warn({ ...log, reason: result.reason }, 'e-mail deferred');
        counts.retried++;
      } else {
        await this.#fail(item, result.reason);
        counts.failed++;
      }
    }
    return counts;
  }

  async #fail(item: OutboxItem, reason: string): Promise<void> {
    const keep = item.kind === 'forward' ? this.#messages.undeliveredForward(item) : undefined;
    await this.#deps.store.failMail(item.id, reason, keep);
    this.#deps.log.warn(
      {
        mailId: item.id,
        kind: item.kind,
        mailboxId: item.mailboxId,
        reason,
        keptInMailbox: Boolean(keep),
      },
      'e-mail bounced',
    );
  }

  list(): Promise<OutboxItem[]> {
    return this.#deps.store.listOutbox();
  }

  /** Tries a mail again now (pending or failed). */
  async retry(id: number): Promise<void> {
    const item = (await this.list()).find((m) => m.id === id);
    if (!item) throw new VoicegateError('NOT_FOUND', `no mail ${id} in the queue`);
    if (item.kind === 'forward' && item.status === 'failed') {
      throw new VoicegateError(
        'INVALID_STATE',
        'this forward was kept in the mailbox when it bounced; forward it again from there',
      );
    }
    await this.#deps.store.retryMailAt(id, this.#now(), item.attempts, item.lastError);
    this.#deps.onMailQueued?.();
  }

  /** Removes a mail from the queue. A pending forward would be lost: it goes into the mailbox. */
  async drop(id: number): Promise<void> {
    const item = (await this.list()).find((m) => m.id === id);
    if (!item) throw new VoicegateError('NOT_FOUND', `no mail ${id} in the queue`);
    if (item.kind === 'forward' && item.status === 'pending') {
      // Kept in the mailbox instead, in the same transaction as leaving the queue.
      await this.#deps.store.failMail(
        id,
        'dropped from the queue',
        this.#messages.undeliveredForward(item),
      );
    }
    await this.#deps.audio.remove(await this.#deps.store.removeMail(id));
  }
}
