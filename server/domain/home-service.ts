import type { DomainDeps } from './deps.ts';
import { decideHome, type MailboxHome, type MailboxHomeChange } from './exchange.ts';
import type { MailboxRef } from './mailbox.ts';
import type { MailboxService } from './mailbox-service.ts';

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
}
