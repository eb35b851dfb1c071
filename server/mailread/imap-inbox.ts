/**
 * An owner's IMAP inbox for one call, with imapflow: the unseen e-mails of INBOX, newest first,
 * at most `maxPerCall`, fetched with BODY.PEEK (reading them does not mark them read), and the
 * three things keys do: mark read, leave unread, move to the trash. Every step has a deadline:
 * a slow server costs the caller a few seconds, never the call.
 */
import { ImapFlow } from 'imapflow';
import type { ImapCredentials, InboxResult, OpenInbox } from '../domain/email-reading.ts';
import { VoicegateError } from '../domain/errors.ts';
import { emailFromSource } from './email-from-source.ts';

export interface ImapInboxOptions {
  maxPerCall: number;
  /** For connecting, logging in and listing together, and for each later command. */
  timeoutMs: number;
  /** The language attachments and links are announced in. */
  language: string;
}

/** Each e-mail's source is read up to this: the text is at its start, attachments are named. */
const MAX_SOURCE_BYTES = 512 * 1024;

class Timeout extends Error {}

function withDeadline<T>(work: Promise<T>, ms: number, onLate: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate();
      reject(new Timeout(`no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function imapClient(account: ImapCredentials, timeoutMs: number): ImapFlow {
  return new ImapFlow({
    host: account.host,
    port: account.port,
    secure: account.tls === 'implicit',
    // starttls: required; none: not even tried (a server on this machine, a test).
    doSTARTTLS: account.tls === 'starttls' ? true : account.tls === 'none' ? false : undefined,
    auth:
      account.auth === 'oauth'
        ? { user: account.user, accessToken: account.secret }
        : { user: account.user, pass: account.secret },
    // imapflow's own log would hold the conversation; ours says what matters, without secrets.
    logger: false,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: 10 * 60_000,
    disableAutoIdle: true,
  });
}

/** Why opening failed, as the caller will hear it; other errors are the server's or network's. */
export function failureOf(err: unknown): 'login-failed' | 'unreachable' {
  return (err as { authenticationFailed?: boolean }).authenticationFailed
    ? 'login-failed'
    : 'unreachable';
}

export async function openImapInbox(
  account: ImapCredentials,
  opts: ImapInboxOptions,
): Promise<InboxResult & { error?: unknown }> {
  const client = imapClient(account, opts.timeoutMs);
  client.on('error', () => {}); // a socket error after the fact surfaces in the next command
  const drop = () => client.close();
  try {
    const inbox = await withDeadline(list(client, opts), opts.timeoutMs, drop);
    return { ok: true, inbox };
  } catch (err) {
    drop();
    return { ok: false, failure: failureOf(err), error: err };
  }
}

async function list(client: ImapFlow, opts: ImapInboxOptions): Promise<OpenInbox> {
  await client.connect();
  await client.mailboxOpen('INBOX');
  const unseen = (await client.search({ seen: false }, { uid: true })) || [];
  const dated: { uid: number; at: number }[] = [];
  if (unseen.length > 0)
    for await (const m of client.fetch(unseen, { uid: true, internalDate: true }, { uid: true }))
      dated.push({ uid: m.uid, at: new Date(m.internalDate ?? 0).getTime() });
  dated.sort((a, b) => b.at - a.at || b.uid - a.uid);
  const chosen = dated.slice(0, opts.maxPerCall);
  const sources = new Map<number, Buffer>();
  if (chosen.length > 0)
    for await (const m of client.fetch(
      chosen.map((c) => c.uid),
      { uid: true, source: { maxLength: MAX_SOURCE_BYTES } },
      { uid: true },
    ))
      if (m.source) sources.set(m.uid, m.source);
  const emails = [];
  for (const c of chosen) {
    const source = sources.get(c.uid);
    if (source) emails.push(await emailFromSource(String(c.uid), source, opts.language, c.at));
  }
  return new ImapOpenInbox(client, emails, opts.timeoutMs);
}

class ImapOpenInbox implements OpenInbox {
  readonly emails;
  readonly #client: ImapFlow;
  readonly #timeoutMs: number;

  constructor(client: ImapFlow, emails: OpenInbox['emails'], timeoutMs: number) {
    this.#client = client;
    this.emails = emails;
    this.#timeoutMs = timeoutMs;
  }

  markRead(id: string): Promise<void> {
    return this.#command(() => this.#client.messageFlagsAdd(id, ['\\Seen'], { uid: true }));
  }

  leaveUnread(id: string): Promise<void> {
    return this.#command(() => this.#client.messageFlagsRemove(id, ['\\Seen'], { uid: true }));
  }

  trash(id: string): Promise<void> {
    return this.#command(async () => {
      await this.#client.messageMove(id, await this.#trashPath(), { uid: true });
    });
  }

  async close(): Promise<void> {
    try {
      await withDeadline(this.#client.logout(), this.#timeoutMs, () => this.#client.close());
    } catch {
      this.#client.close();
    }
  }

  /** The folder marked \Trash (RFC 6154), else one named Trash, made when there is none. */
  async #trashPath(): Promise<string> {
    const folders = await this.#client.list();
    const trash =
      folders.find((f) => f.specialUse === '\\Trash') ??
      folders.find((f) => f.path.toLowerCase() === 'trash');
    if (trash) return trash.path;
    await this.#client.mailboxCreate('Trash');
    return 'Trash';
  }

  async #command(run: () => Promise<unknown>): Promise<void> {
    try {
      await withDeadline(run(), this.#timeoutMs, () => this.#client.close());
    } catch (err) {
      throw new VoicegateError('UNAVAILABLE', 'the mail server did not do it', { cause: err });
    }
  }
}
