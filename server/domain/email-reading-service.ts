import type { DomainDeps } from './deps.ts';
import {
  describeEmailReading,
  parseReadEmail,
  type ExchangeReadingTarget,
  viewEmailReading,
  type EmailReadingView,
  type ImapCredentials,
  type StoredEmailReading,
} from './email-reading.ts';
import { VoicegateError } from './errors.ts';
import type { MailboxRef } from './mailbox.ts';
import type { MailboxService } from './mailbox-service.ts';
import type { SecretBox } from './secret-box.ts';

/**
 * What a mailbox's reader needs: for IMAP the account with its secret; for Exchange the
 * mailbox's Exchange address and connection (its home), whose own credentials are used.
 */
export type ReadingSource =
  | { source: 'imap'; account: ImapCredentials }
  | { source: 'exchange'; target: ExchangeReadingTarget };

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
      // Read through the connection the voicemail goes by: its credentials, the user's address.
      const home = await this.#deps.store.getMailboxHome(mailbox.id);
      if (home.home !== 'exchange')
        throw new VoicegateError(
          'INVALID_INPUT',
          `reading e-mail from Exchange uses the mailbox's Exchange connection: set it first (mailbox set ${mailbox.name} --home exchange --exchange-address ADDRESS)`,
        );
      stored = { source: 'exchange', imap: null, sealedSecret: null };
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

  /** Whether the mailbox reads e-mail (IMAP, or Exchange while its home is there). */
  async isOn(mailboxId: number): Promise<boolean> {
    const stored = await this.#deps.store.getEmailReading(mailboxId);
    if (stored?.source === 'exchange')
      return (await this.#deps.store.getMailboxHome(mailboxId)).home === 'exchange';
    return stored?.source === 'imap';
  }

  /**
   * For the reader only: the source with the secret opened; null when reading is off (or from
   * Exchange for a mailbox whose home is no longer there).
   */
  async source(mailboxId: number): Promise<ReadingSource | null> {
    const stored = await this.#deps.store.getEmailReading(mailboxId);
    if (!stored) return null;
    if (stored.source === 'exchange') {
      const home = await this.#deps.store.getMailboxHome(mailboxId);
      if (home.home !== 'exchange' || !home.exchangeAddress || !home.exchangeConnection)
        return null;
      return {
        source: 'exchange',
        target: { address: home.exchangeAddress, connection: home.exchangeConnection },
      };
    }
    if (!stored.imap || !stored.sealedSecret) return null;
    return {
      source: 'imap',
      account: { ...stored.imap, secret: this.#box().open(stored.sealedSecret) },
    };
  }
}
