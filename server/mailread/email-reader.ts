import { createHash } from 'node:crypto';
import type {
  EmailReader,
  ExchangeInboxes,
  ExchangeReadingTarget,
  InboxFailure,
  InboxResult,
} from '../domain/email-reading.ts';
import type { ReadingSource } from '../domain/email-reading-service.ts';
import { isVoicegateError } from '../domain/errors.ts';
import type * as EmailFromSource from './email-from-source.ts';
import type * as ImapInbox from './imap-inbox.ts';

/**
 * imapflow, mailparser and html-to-text, with their character set tables, hold about 20 MiB
 * of a server's memory: loaded with the first e-mail read, not by every server at start.
 */
async function readers(): Promise<typeof ImapInbox & typeof EmailFromSource> {
  const [inbox, source] = await Promise.all([
    import('./imap-inbox.ts'),
    import('./email-from-source.ts'),
  ]);
  return { ...inbox, ...source };
}

export interface ReaderLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface EmailReaderOptions {
  /** The mailbox's source with its secret (`EmailReadingService.source`). */
  source(mailboxId: number): Promise<ReadingSource | null>;
  /** Whether the mailbox reads e-mail, without opening its secret. */
  isOn(mailboxId: number): Promise<boolean>;
  /** Exchange inboxes (Graph, EWS), for mailboxes that read e-mail from their Exchange home. */
  exchange?: ExchangeInboxes;
  maxPerCall: number;
  timeoutMs: number;
  log: ReaderLog;
}

/**
 * The phone's reader of owners' e-mail (the `EmailReader` port). A refused password is logged
 * once per account and password, not at every call, and touches nothing of the voicemail
 * mailbox (no lockout: the mail server keeps its own).
 */
export class MailReader implements EmailReader {
  readonly #o: EmailReaderOptions;
  readonly #refused = new Set<string>();

  constructor(opts: EmailReaderOptions) {
    this.#o = opts;
  }

  async reads(mailboxId: number): Promise<boolean> {
    return (await this.#o.isOn(mailboxId)) === true;
  }

  async open(mailbox: { id: number; name: string; locale: string }): Promise<InboxResult | null> {
    const { log } = this.#o;
    let source: ReadingSource | null;
    try {
      source = await this.#o.source(mailbox.id);
    } catch (err) {
      // A secret sealed under another key: the administrator sets it again.
      log.warn({ mailbox: mailbox.name, err: (err as Error).message }, 'e-mail reading unusable');
      return { ok: false, failure: 'unreachable' };
    }
    if (!source) return null;
    if (source.source === 'exchange') return this.#openExchange(mailbox, source.target);
    const { account } = source;
    const where = `${account.user}@${account.host}:${account.port}`;
    const started = Date.now();
    const { openImapInbox } = await readers();
    const result = await openImapInbox(account, {
      maxPerCall: this.#o.maxPerCall,
      timeoutMs: this.#o.timeoutMs,
      language: mailbox.locale,
    });
    if (result.ok) {
      this.#refused.delete(this.#accountKey(mailbox.id, account));
      log.info(
        {
          mailbox: mailbox.name,
          account: where,
          emails: result.inbox.emails.length,
          ms: Date.now() - started,
        },
        'e-mail inbox opened',
      );
      return { ok: true, inbox: result.inbox };
    }
    if (result.failure === 'login-failed') {
      const key = this.#accountKey(mailbox.id, account);
      if (!this.#refused.has(key)) {
        this.#refused.add(key);
        log.warn(
          { mailbox: mailbox.name, account: where },
          'the mail server refused the e-mail password',
        );
      }
    } else
      log.warn(
        { mailbox: mailbox.name, account: where, err: (result.error as Error)?.message },
        'the mail server could not be reached',
      );
    return { ok: false, failure: result.failure };
  }

  async #openExchange(
    mailbox: { id: number; name: string; locale: string },
    target: ExchangeReadingTarget,
  ): Promise<InboxResult> {
    const { log } = this.#o;
    const where = `${target.address} (Exchange connection ${target.connection})`;
    const exchange = this.#o.exchange;
    const started = Date.now();
    try {
      if (!exchange) throw new Error('no Exchange reader is configured on this server');
      const inbox = await exchange.open(target, {
        maxPerCall: this.#o.maxPerCall,
        timeoutMs: this.#o.timeoutMs,
      });
      this.#refused.delete(`${mailbox.id}\u0000${where}`);
      const { emailFromParts } = await readers();
      const emails = inbox.emails.map((e) => emailFromParts(e, mailbox.locale));
      log.info(
        { mailbox: mailbox.name, account: where, emails: emails.length, ms: Date.now() - started },
        'e-mail inbox opened',
      );
      return { ok: true, inbox: { ...inbox, emails } };
    } catch (err) {
      const failure: InboxFailure = isVoicegateError(err, 'AUTH_FAILED')
        ? 'login-failed'
        : 'unreachable';
      if (failure === 'unreachable')
        log.warn(
          { mailbox: mailbox.name, account: where, err: (err as Error).message },
          'the mail server could not be reached',
        );
      else if (!this.#refused.has(`${mailbox.id}\u0000${where}`)) {
        this.#refused.add(`${mailbox.id}\u0000${where}`);
        log.warn(
          { mailbox: mailbox.name, account: where, err: (err as Error).message },
          'Exchange refused to open the inbox',
        );
      }
      return { ok: false, failure };
    }
  }

  /** The account and a hash of its secret: a new password is a new account to report. */
  #accountKey(
    mailboxId: number,
    a: { user: string; host: string; port: number; secret: string },
  ): string {
    const digest = createHash('sha256').update(a.secret).digest('hex').slice(0, 16);
    return `${mailboxId}\u0000${a.user}@${a.host}:${a.port}\u0000${digest}`;
  }
}
