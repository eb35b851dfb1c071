/**
 * A user's unread e-mail in Exchange Online, read by phone through Microsoft Graph, as the
 * connection's application: the Inbox's unread messages newest first, their attachments' names
 * and types, and what the caller's keys do (mark read or unread, move to Deleted Items).
 */
import type { SourceEmail, SourceInbox } from '../domain/email-reading.ts';
import { GraphAuth, type GraphCredentials } from './graph-auth.ts';
import { errorOf } from './graph-client.ts';
import type { HttpRequest, HttpResponse } from './https-client.ts';
import { isVoicemailClass, readingError, type InboxOptions } from './inbox-common.ts';

type Send = (req: HttpRequest) => Promise<HttpResponse>;

interface GraphRecipient {
  emailAddress?: { name?: string; address?: string };
}

interface ListedMessage {
  id: string;
  subject?: string | null;
  from?: GraphRecipient | null;
  sentDateTime?: string | null;
  receivedDateTime?: string | null;
  body?: { contentType?: string; content?: string } | null;
  hasAttachments?: boolean;
  singleValueExtendedProperties?: { id: string; value: string }[];
}

/** PidTagMessageClass, as Graph names a single-value extended property. */
const MESSAGE_CLASS = 'String 0x001A';
/** Pages of unread messages looked through for e-mail that is not voicemail. */
const MAX_PAGES = 5;

/** The Graph calls of reading by phone; one per connection, its token cached by MSAL. */
export class GraphInboxReader {
  readonly #send: Send;
  readonly #auth: GraphAuth;
  readonly #base: string;

  constructor(c: GraphCredentials, send: Send) {
    this.#send = send;
    this.#auth = new GraphAuth(c, send);
    this.#base = `${c.endpoint.replace(/\/+$/, '')}/v1.0`;
  }

  async open(address: string, opts: InboxOptions): Promise<SourceInbox> {
    const user = `${this.#base}/users/${encodeURIComponent(address)}`;
    try {
      const signal = AbortSignal.timeout(opts.timeoutMs);
      const emails = await this.#unread(user, opts.maxPerCall, signal);
      return this.#inbox(address, user, emails, opts.timeoutMs);
    } catch (err) {
      throw readingError(err, address);
    }
  }

  /**
   * List messages (Graph: "List messages"): a $filter with $orderby must name the sorted
   * property first, else Graph answers InefficientFilter; the message class comes along
   * ($expand of singleValueExtendedProperties) so voicemail items are left out.
   */
  async #unread(user: string, max: number, signal: AbortSignal): Promise<SourceEmail[]> {
    const query = new URLSearchParams({
      $filter: 'receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false',
      $orderby: 'receivedDateTime desc',
      $top: String(max),
      $select: 'id,subject,from,sentDateTime,receivedDateTime,body,hasAttachments',
      $expand: `singleValueExtendedProperties($filter=id eq '${MESSAGE_CLASS}')`,
    });
    let url: string | undefined = `${user}/mailFolders/inbox/messages?${query}`;
    const found: ListedMessage[] = [];
    for (let page = 0; url && page < MAX_PAGES && found.length < max; page++) {
      const answer: { value: ListedMessage[]; '@odata.nextLink'?: string } = await this.#json(
        'GET',
        url,
        undefined,
        signal,
      );
      for (const m of answer.value) if (!isVoicemail(m) && found.length < max) found.push(m);
      url = answer['@odata.nextLink'];
    }
    return Promise.all(found.map((m) => this.#email(user, m, signal)));
  }

  async #email(user: string, m: ListedMessage, signal: AbortSignal): Promise<SourceEmail> {
    // List attachments (Graph: "List attachments"); pictures shown in the text are not named.
    const attachments = m.hasAttachments
      ? (
          await this.#json<{
            value: { name?: string; contentType?: string; isInline?: boolean }[];
          }>(
            'GET',
            `${user}/messages/${encodeURIComponent(m.id)}/attachments?$select=name,contentType,isInline`,
            undefined,
            signal,
          )
        ).value
          .filter((a) => !a.isInline)
          .map((a) => ({ name: a.name ?? '', contentType: a.contentType ?? '' }))
      : [];
    const sent = Date.parse(m.sentDateTime ?? m.receivedDateTime ?? '');
    return {
      id: m.id,
      fromName: m.from?.emailAddress?.name ?? '',
      fromAddress: m.from?.emailAddress?.address ?? '',
      sentAt: Number.isNaN(sent) ? Date.now() : sent,
      subject: m.subject ?? '',
      body: { html: m.body?.contentType === 'html', content: m.body?.content ?? '' },
      attachments,
    };
  }

  #inbox(address: string, user: string, emails: SourceEmail[], timeoutMs: number): SourceInbox {
    const message = (id: string) => `${user}/messages/${encodeURIComponent(id)}`;
    const command = async (run: (signal: AbortSignal) => Promise<unknown>) => {
      try {
        await run(AbortSignal.timeout(timeoutMs));
      } catch (err) {
        throw readingError(err, address, 'UNAVAILABLE');
      }
    };
    return {
      emails,
      // Update message (Graph: "Update message", PATCH isRead).
      markRead: (id) => command((s) => this.#json('PATCH', message(id), { isRead: true }, s)),
      leaveUnread: (id) => command((s) => this.#json('PATCH', message(id), { isRead: false }, s)),
      // message: move (Graph), to the well-known folder: the user's Deleted Items, not purged.
      trash: (id) =>
        command((s) =>
          this.#json('POST', `${message(id)}/move`, { destinationId: 'deleteditems' }, s),
        ),
      close: async () => {},
    };
  }

  async #json<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.#send({
      method,
      url,
      headers: {
        authorization: `Bearer ${await this.#auth.token()}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = res.body.toString('utf8');
    if (res.status >= 200 && res.status < 300) return (text ? JSON.parse(text) : {}) as T;
    throw errorOf(res, text);
  }
}

function isVoicemail(m: ListedMessage): boolean {
  return isVoicemailClass(
    m.singleValueExtendedProperties?.find((p) => p.id === MESSAGE_CLASS)?.value ?? '',
  );
}
