import type { DomainDeps } from './deps.ts';
import {
  describeEmailReading,
  parseReadEmail,
  viewEmailReading,
  type EmailReadingView,
  type ImapCredentials,
  type StoredEmailReading,
} from './email-reading.ts';
import { VoicegateError } from './errors.ts';
import type { MailboxRef } from './mailbox.ts';
import type { MailboxService } from './mailbox-service.ts';
import type { SecretBox } from './secret-box.ts';

/** What a mailbox's reader needs: the source, and for IMAP the account with its secret. */
export type ReadingSource = { source: 'imap'; account: ImapCredentials } | { source: 'exchange' };

/**
 * Per-mailbox e-mail reading, set by the administrator (CLI, admin area) and read by the phone.
 * The secret is sealed here, before the store sees it, and opened only for the reader; every
 * answer to an administrator masks it, and no log line holds it.
 */
export class EmailReadingService {
  readonly #deps: DomainDeps;
  readonly #mailboxes: MailboxService;
  readonly #box: () => SecretBox;

  /** `box` is asked for only when a secret is sealed or opened (the key file made at first use). */
  constructor(deps: DomainDeps, mailboxes: MailboxService, box: () => SecretBox) {
    this.#deps = deps;
    this.#mailboxes = mailboxes;
    this.#box = box;
  }

  async view(ref: MailboxRef): Promise<EmailReadingView> {
    const mailbox = await this.#mailboxes.resolve(ref);
    return viewEmailReading(await this.#deps.store.getEmailReading(mailbox.id));
  }

  /**
   * Sets reading from `off`, `exchange` or an IMAP URL (`parseReadEmail`); an IMAP account
   * needs `secret` (its password or token). Exchange needs the mailbox's home in Exchange.
   */
  async set(ref: MailboxRef, choice: string, secret?: string): Promise<EmailReadingView> {
    const mailbox = await this.#mailboxes.resolve(ref);
    const parsed = parseReadEmail(choice);
    let stored: StoredEmailReading | null = null;
    if (parsed.source === 'exchange') {
      // The store keeps the choice; the phone has no Exchange reader yet, so it is not offered.
      throw new VoicegateError(
        'INVALID_INPUT',
        "reading e-mail from Exchange is not available yet; read the user's IMAP account instead",
      );
    } else if (parsed.source === 'imap') {
      if (!secret)
        throw new VoicegateError(
          'INVALID_INPUT',
          `the ${parsed.imap.auth === 'oauth' ? 'OAuth token' : 'password'} of ${parsed.imap.user}@${parsed.imap.host} is needed (on standard input)`,
        );
      stored = { source: 'imap', imap: parsed.imap, sealedSecret: this.#box().seal(secret) };
    }
    await this.#deps.store.setEmailReading(mailbox.id, stored);
    const view = viewEmailReading(stored);
    // The view is masked: safe to log.
    this.#deps.log.info(
      { mailbox: mailbox.name, emailReading: describeEmailReading(view) },
      'e-mail reading set',
    );
    return view;
  }

  /** Whether the mailbox reads e-mail from a source the phone can read (IMAP today). */
  async isOn(mailboxId: number): Promise<boolean> {
    return (await this.#deps.store.getEmailReading(mailboxId))?.source === 'imap';
  }

  /** For the reader only: the source with the secret opened; null when reading is off. */
  async source(mailboxId: number): Promise<ReadingSource | null> {
    const stored = await this.#deps.store.getEmailReading(mailboxId);
    if (!stored) return null;
    if (stored.source === 'exchange') return { source: 'exchange' };
    if (!stored.imap || !stored.sealedSecret) return null;
    return {
      source: 'imap',
      account: { ...stored.imap, secret: this.#box().open(stored.sealedSecret) },
    };
  }
}
