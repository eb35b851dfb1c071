/**
 * Reading a mailbox owner's e-mail by phone: where the e-mail lives (an IMAP account, or the
 * mailbox's Exchange connection), as the administrator sets it, and what a reader of that
 * inbox offers the phone menu. The password or token is sealed (`secret-box.ts`) before the
 * store sees it; nothing here does I/O.
 */
import { VoicegateError } from './errors.ts';

/** How the IMAP connection is protected: TLS from the start, STARTTLS required, or none. */
export type ImapTls = 'implicit' | 'starttls' | 'none';

export interface ImapAccount {
  host: string;
  port: number;
  tls: ImapTls;
  user: string;
  /** What the secret is: the account's password, or an OAuth access token (XOAUTH2). */
  auth: 'password' | 'oauth';
}

/** A mailbox's setting, as kept: the account and its secret sealed, never in clear. */
export interface StoredEmailReading {
  source: 'imap' | 'exchange';
  /** The account, for source imap; null for exchange. */
  imap: ImapAccount | null;
  /** The sealed password or token (source imap); null for exchange. */
  sealedSecret: string | null;
}

/** What the administrator sees: the secret only as whether there is one. */
export interface EmailReadingView {
  source: 'off' | 'imap' | 'exchange';
  imap: ImapAccount | null;
  /** "********" when a secret is kept, else null. */
  secret: string | null;
}

export const MASK = '********';

/** An IMAP account with its secret in clear, only for the reader that logs in with it. */
export interface ImapCredentials extends ImapAccount {
  secret: string;
}

/** What `parseReadEmail` understood: off, the Exchange connection, or an IMAP account. */
export type ReadEmailChoice =
  { source: 'off' } | { source: 'exchange' } | { source: 'imap'; imap: ImapAccount };

const HOST = /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/;

/**
 * `off`, `exchange`, or `imap://user@host[:port]` / `imaps://...`: implicit TLS for imaps or
 * port 993, STARTTLS required otherwise; `?tls=none` allows a plain connection (a server on
 * the same machine), `?auth=oauth` says the secret is an OAuth token.
 */
export function parseReadEmail(text: string): ReadEmailChoice {
  const t = text.trim();
  if (t === 'off') return { source: 'off' };
  if (t === 'exchange') return { source: 'exchange' };
  const bad = (why: string) =>
    new VoicegateError(
      'INVALID_INPUT',
      `--read-email "${t.replace(/:[^:@/]*@/, ':***@')}": ${why}; expected off, exchange or imap://user@host:993`,
    );
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'imap:' && url.protocol !== 'imaps:') throw bad('not imap:// or imaps://');
  if (url.password) throw bad('the password goes on standard input, not in the URL');
  const user = decodeURIComponent(url.username);
  if (!user) throw bad('no user name');
  if (!url.hostname || !HOST.test(url.hostname)) throw bad('no valid host');
  if ((url.pathname !== '' && url.pathname !== '/') || url.hash) throw bad('no path allowed');
  const port = url.port ? Number(url.port) : url.protocol === 'imaps:' ? 993 : 143;
  const params = url.searchParams;
  for (const k of params.keys())
    if (k !== 'tls' && k !== 'auth') throw bad(`unknown option "${k}"`);
  const tlsParam = params.get('tls');
  if (tlsParam !== null && !['implicit', 'starttls', 'none'].includes(tlsParam))
    throw bad('tls is implicit, starttls or none');
  const tls: ImapTls =
    (tlsParam as ImapTls | null) ??
    (url.protocol === 'imaps:' || port === 993 ? 'implicit' : 'starttls');
  const authParam = params.get('auth') ?? 'password';
  if (authParam !== 'password' && authParam !== 'oauth') throw bad('auth is password or oauth');
  return {
    source: 'imap',
    imap: { host: url.hostname, port, tls, user, auth: authParam },
  };
}

/** The setting as an administrator reads it: every secret masked. */
export function viewEmailReading(stored: StoredEmailReading | null): EmailReadingView {
  if (!stored) return { source: 'off', imap: null, secret: null };
  return {
    source: stored.source,
    imap: stored.imap,
    secret: stored.sealedSecret ? MASK : null,
  };
}

/** One line for people: `imap alice@mail.example:993 (implicit TLS, password ********)`. */
export function describeEmailReading(view: EmailReadingView): string {
  if (view.source !== 'imap' || !view.imap) return view.source;
  const a = view.imap;
  return `imap ${a.user}@${a.host}:${a.port} (${a.tls} TLS, ${a.auth} ${view.secret ?? 'none'})`;
}

/** One unread e-mail, made ready to be heard. */
export interface InboxEmail {
  /** The reader's handle for it (an IMAP UID, an Exchange item id). */
  id: string;
  fromName: string;
  /** When it was sent (UTC ms). */
  sentAt: number;
  subject: string;
  /** The text to speak: no markup, quotes and signature dropped, attachments named. */
  text: string;
  words: number;
}

/** An inbox opened for one call: the unseen e-mails, newest first, and what keys do to them. */
export interface OpenInbox {
  emails: InboxEmail[];
  markRead(id: string): Promise<void>;
  leaveUnread(id: string): Promise<void>;
  /** Moves it to the user's trash (not purged). */
  trash(id: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why an inbox could not be opened, in the words the phone uses: the server did not answer in
 * time (or at all), or it refused the credentials.
 */
export type InboxFailure = 'unreachable' | 'login-failed';

export type InboxResult = { ok: true; inbox: OpenInbox } | { ok: false; failure: InboxFailure };

/** An e-mail as its store hands it over (Exchange: Graph or EWS), before it is made listenable. */
export interface SourceEmail {
  id: string;
  fromName: string;
  fromAddress: string;
  /** When it was sent (UTC ms). */
  sentAt: number;
  subject: string;
  body: { html: boolean; content: string };
  attachments: { name: string; contentType: string }[];
}

/** An inbox of a store other than IMAP, opened for one call: its unread e-mails, as they are. */
export interface SourceInbox extends Omit<OpenInbox, 'emails'> {
  emails: SourceEmail[];
}

/** Where a mailbox's e-mail is read in Exchange: its address, through a configured connection. */
export interface ExchangeReadingTarget {
  address: string;
  connection: string;
}

/**
 * Opens a user's Exchange inbox for a call (the unread e-mails of the Inbox, newest first, at
 * most `maxPerCall`, voicemail items left out: they are heard as voicemail). Rejects with a
 * VoicegateError: AUTH_FAILED when Exchange refused the connection's credentials or
 * permissions, UNAVAILABLE when it did not answer in `timeoutMs`.
 */
export interface ExchangeInboxes {
  open(
    target: ExchangeReadingTarget,
    opts: { maxPerCall: number; timeoutMs: number },
  ): Promise<SourceInbox>;
}

/** The port the phone menu uses: a mailbox's inbox, or null when reading is off. */
export interface EmailReader {
  /** Whether the mailbox reads e-mail at all (a store read; no mail server is asked). */
  reads(mailboxId: number): Promise<boolean>;
  /**
   * null when the mailbox does not read e-mail; never rejects for the mail server's sake.
   * `locale` is the language attachments and links are announced in.
   */
  open(mailbox: { id: number; name: string; locale: string }): Promise<InboxResult | null>;
}
