import type { DomainDeps } from './deps.ts';
import { isVoicemail, mailFactsOf } from './delivery.ts';
import { VoicegateError } from './errors.ts';
import {
  decideHome,
  exchangeDestination,
  type MailboxHome,
  type MailboxHomeChange,
} from './exchange.ts';
import type { MailboxRef } from './mailbox.ts';
import type { MailboxService } from './mailbox-service.ts';
import { LIVE_STATES } from './message-state.ts';

/** Where a move of a mailbox's existing voicemail into Exchange stands. */
export interface MoveProgress {
  /** The voicemail to move: every live message of the mailbox. */
  total: number;
  /** Those that are items in Exchange now (their local copy a shadow). */
  moved: number;
  /** Those whose delivery failed for good, with the reason. */
  failed: { messageId: string; reason: string }[];
}

/** Where each mailbox's voicemail lives (`exchange.ts`): read and changed by the administrator. */
export class MailboxHomeService {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  constructor(deps: DomainDeps, mailboxes: MailboxService) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
  }

  async home(ref: MailboxRef): Promise<MailboxHome> {
    const mailbox = await this.#mailboxes.resolve(ref);
    return this.#deps.store.getMailboxHome(mailbox.id);
  }

  /** Changes the home as `change` says, checked against the configured connections. */
  async setHome(ref: MailboxRef, change: MailboxHomeChange): Promise<MailboxHome> {
    const mailbox = await this.#mailboxes.resolve(ref);
    const current = await this.#deps.store.getMailboxHome(mailbox.id);
    const next = decideHome(current, change, this.#deps.exchangeConnections ?? []);
    await this.#deps.store.setMailboxHome(mailbox.id, next);
    this.#deps.log.info({ mailbox: mailbox.name, ...next }, 'mailbox home set');
    return next;
  }

  /**
   * Moves the voicemail a mailbox kept before its home became Exchange: each live message not
   * yet an item, nor on its way, is queued as new voicemail is (a `copy` to the connection's
   * target), so each becomes an item once and its local copy a shadow. Safe to run again after
   * an interruption: what is moved or queued is left alone, and a delivery cut short finds the
   * item it made by the voicemail's identity. Returns how many it queued.
   */
  async moveExisting(ref: MailboxRef): Promise<number> {
    const mailbox = await this.#mailboxes.resolve(ref);
    const home = await this.#deps.store.getMailboxHome(mailbox.id);
    const to = exchangeDestination(home, this.#deps.exchangeConnections ?? []);
    if (!to.target)
      throw new VoicegateError(
        'INVALID_STATE',
        to.reason ?? `mailbox "${mailbox.name}" is not at home in Exchange (--home exchange)`,
      );
    const queued = new Set(
      (await this.#deps.store.listDeliveries())
        .filter(isVoicemail)
        .filter((d) => d.kind === 'copy' && d.target === to.target && d.messageId !== null)
        .map((d) => d.messageId),
    );
    const now = this.#deps.now?.() ?? Date.now();
    let count = 0;
    for (const m of await this.#deps.store.listMessages(mailbox.id, { states: LIVE_STATES })) {
      if (queued.has(m.id) || (await this.#deps.store.getExchangeItem(m.id))) continue;
      await this.#deps.store.queueDelivery(
        {
          voicemailId: m.id,
          ...mailFactsOf(m),
          ...to,
          kind: 'copy',
          mailboxId: mailbox.id,
          messageId: m.id,
        },
        now,
      );
      count++;
    }
    this.#deps.log.info({ mailbox: mailbox.name, queued: count }, 'voicemail moving to Exchange');
    if (count > 0) this.#deps.onDeliveryQueued?.();
    return count;
  }

  /**
   * Gives each mailbox at home in Exchange without a connection (the old e-mail mode
   * `exchange` named none) the only connection configured; with several or none, says in the
   * log which mailboxes need `--exchange-connection`. Run at start-up; returns the names of
   * those given one and of those still waiting.
   */
  async completeConnections(): Promise<{ given: string[]; waiting: string[] }> {
    const connections = this.#deps.exchangeConnections ?? [];
    const given: string[] = [];
    const waiting: string[] = [];
    for (const { mailboxId, home } of await this.#deps.store.listExchangeHomes()) {
      if (home.exchangeConnection) continue;
      const mailbox = await this.#deps.store.getMailbox(mailboxId);
      if (!mailbox) continue;
      if (connections.length !== 1) {
        waiting.push(mailbox.name);
        continue;
      }
      const next = { ...home, exchangeConnection: connections[0]!.name };
      await this.#deps.store.setMailboxHome(mailboxId, next);
      this.#deps.log.info({ mailbox: mailbox.name, ...next }, 'mailbox home given its connection');
      given.push(mailbox.name);
    }
    if (waiting.length > 0)
      this.#deps.log.warn(
        { mailboxes: waiting, connections: connections.map((c) => c.name) },
        `at home in Exchange with no connection named: their voicemail is kept here only until one is set (voicegate mailbox set NAME --exchange-connection ${connections.map((c) => c.name).join('|') || 'NAME'})`,
      );
    return { given, waiting };
  }

  /** How far moving the mailbox's voicemail into Exchange got (`moveExisting`). */
  async moveProgress(ref: MailboxRef): Promise<MoveProgress> {
    const mailbox = await this.#mailboxes.resolve(ref);
    const live = await this.#deps.store.listMessages(mailbox.id, { states: LIVE_STATES });
    const items = await Promise.all(live.map((m) => this.#deps.store.getExchangeItem(m.id)));
    const ids = new Set(live.map((m) => m.id));
    const failed = (await this.#deps.store.listDeliveries())
      .filter(isVoicemail)
      .filter((d) => d.kind === 'copy' && d.status === 'failed' && ids.has(d.messageId ?? ''))
      .map((d) => ({ messageId: d.messageId!, reason: d.lastError ?? 'failed' }));
    return { total: live.length, moved: items.filter((i) => i !== null).length, failed };
  }
}
