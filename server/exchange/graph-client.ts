import { GraphAuth, type GraphCredentials } from './graph-auth.ts';
import { retryAfterMs, type HttpRequest, type HttpResponse } from './https-client.ts';

/** Graph's answer other than success: its status, error code and message, and Retry-After. */
export class GraphError extends Error {
  readonly status: number;
  readonly code: string;
  readonly retryAfterMs: number | undefined;
  constructor(status: number, code: string, message: string, retryAfterMs?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Below this, an attachment goes in the request that creates the message (Graph: < 3 MB). */
export const INLINE_ATTACHMENT_LIMIT = 3 * 1024 * 1024;
/** Upload-session chunks: a multiple of 320 KiB, each request under 4 MB (attachment-createuploadsession). */
export const UPLOAD_CHUNK = 10 * 320 * 1024;

export interface DeltaChange {
  id: string;
  isRead?: boolean;
  flag?: { flagStatus?: string };
  parentFolderId?: string;
  '@removed'?: { reason: string };
}

interface DeltaPage {
  value: DeltaChange[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

export interface GraphMessage {
  id: string;
  changeKey?: string;
  hasAttachments?: boolean;
}

/** The few Microsoft Graph mail calls Voicegate makes, as the application, for any user. */
export class GraphClient {
  readonly #send: (req: HttpRequest) => Promise<HttpResponse>;
  readonly #auth: GraphAuth;
  readonly #base: string;
  /** Well-known folders' ids, per user: they do not change. */
  readonly #folders = new Map<string, string>();

  constructor(c: GraphCredentials, send: (req: HttpRequest) => Promise<HttpResponse>) {
    this.#send = send;
    this.#auth = new GraphAuth(c, send);
    this.#base = `${c.endpoint.replace(/\/+$/, '')}/v1.0`;
  }

  #user(address: string): string {
    return `${this.#base}/users/${encodeURIComponent(address)}`;
  }

  async #json<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.#send({
      method,
      url,
      headers: {
        authorization: `Bearer ${await this.#auth.token()}`,
        accept: 'application/json',
        // Ids that stay the same when a message moves between folders (Graph: "Obtain
        // immutable identifiers for Outlook resources"): the shadow keeps its item's id.
        prefer: 'IdType="ImmutableId"',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = res.body.toString('utf8');
    if (res.status >= 200 && res.status < 300) return (text ? JSON.parse(text) : {}) as T;
    throw errorOf(res, text);
  }

  /** The user's messages whose Internet Message-ID is `<identity>` (none, or the one made before). */
  async findByInternetMessageId(
    address: string,
    messageId: string,
    signal?: AbortSignal,
  ): Promise<GraphMessage[]> {
    const filter = `internetMessageId eq '${messageId.replace(/'/g, "''")}'`;
    const url = `${this.#user(address)}/messages?$filter=${encodeURIComponent(filter)}&$select=id,changeKey,hasAttachments`;
    const page = await this.#json<{ value: GraphMessage[] }>('GET', url, undefined, signal);
    return page.value;
  }

  /** Creates a message in the user's Inbox (not in Drafts: its flags say it is not one). */
  createInInbox(address: string, message: object, signal?: AbortSignal): Promise<GraphMessage> {
    return this.#json('POST', `${this.#user(address)}/mailFolders/inbox/messages`, message, signal);
  }

  /** Attaches a file: in one request when small, else through an upload session in chunks. */
  async attach(
    address: string,
    messageId: string,
    file: { name: string; contentType: string; bytes: Buffer },
    signal?: AbortSignal,
  ): Promise<void> {
    const base = `${this.#user(address)}/messages/${encodeURIComponent(messageId)}/attachments`;
    if (file.bytes.length < INLINE_ATTACHMENT_LIMIT) {
      await this.#json('POST', base, fileAttachment(file), signal);
      return;
    }
    const session = await this.#json<{ uploadUrl: string }>(
      'POST',
      `${base}/createUploadSession`,
      {
        AttachmentItem: {
          attachmentType: 'file',
          name: file.name,
          size: file.bytes.length,
          contentType: file.contentType,
        },
      },
      signal,
    );
    for (let start = 0; start < file.bytes.length; start += UPLOAD_CHUNK) {
      const chunk = file.bytes.subarray(start, start + UPLOAD_CHUNK);
      // The upload URL carries its own authorisation: an Authorization header is refused.
      const res = await this.#send({
        method: 'PUT',
        url: session.uploadUrl,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${start}-${start + chunk.length - 1}/${file.bytes.length}`,
        },
        body: chunk,
        signal,
      });
      if (res.status !== 200 && res.status !== 201) throw errorOf(res, res.body.toString('utf8'));
    }
  }

  /** The id of a well-known folder of the user's (Graph: "mailFolder", well-known names). */
  async folderId(address: string, name: 'inbox' | 'deleteditems', signal?: AbortSignal) {
    const key = `${address.toLowerCase()} ${name}`;
    const known = this.#folders.get(key);
    if (known) return known;
    const f = await this.#json<{ id: string }>(
      'GET',
      `${this.#user(address)}/mailFolders/${name}?$select=id`,
      undefined,
      signal,
    );
    this.#folders.set(key, f.id);
    return f.id;
  }

  /** Sets a message's read mark and flag (Graph: "Update message", PATCH). */
  update(
    address: string,
    id: string,
    changes: { isRead?: boolean; flag?: { flagStatus: 'flagged' | 'notFlagged' } },
    signal?: AbortSignal,
  ): Promise<GraphMessage> {
    const url = `${this.#user(address)}/messages/${encodeURIComponent(id)}`;
    return this.#json('PATCH', url, changes, signal);
  }

  /** Moves a message to a folder, by id or well-known name (Graph: "message: move"). */
  move(address: string, id: string, to: string, signal?: AbortSignal): Promise<GraphMessage> {
    const url = `${this.#user(address)}/messages/${encodeURIComponent(id)}/move`;
    return this.#json('POST', url, { destinationId: to }, signal);
  }

  /**
   * One round of the Inbox's delta query (Graph: "message: delta"): from `link` (the deltaLink
   * of the round before) or from the start, every page, and the deltaLink for the next round.
   */
  async inboxDelta(address: string, link: string | null, signal?: AbortSignal) {
    let url: string | undefined =
      link ??
      `${this.#user(address)}/mailFolders/inbox/messages/delta?$select=isRead,flag,parentFolderId`;
    const changes: DeltaChange[] = [];
    for (;;) {
      const page: DeltaPage = await this.#json<DeltaPage>('GET', url!, undefined, signal);
      changes.push(...page.value);
      if (page['@odata.nextLink']) url = page['@odata.nextLink'];
      else if (page['@odata.deltaLink']) return { changes, deltaLink: page['@odata.deltaLink'] };
      else throw new GraphError(200, 'NoDeltaLink', 'a delta round ended without a deltaLink');
    }
  }

  /** A message's folder and marks; null when it no longer exists (purged). */
  async message(address: string, id: string, signal?: AbortSignal): Promise<DeltaChange | null> {
    try {
      return await this.#json<DeltaChange>(
        'GET',
        `${this.#user(address)}/messages/${encodeURIComponent(id)}?$select=isRead,flag,parentFolderId`,
        undefined,
        signal,
      );
    } catch (err) {
      if (err instanceof GraphError && err.status === 404) return null;
      throw err;
    }
  }

  /** Removes a message for good (`exchange test` cleans up after itself). */
  async remove(address: string, messageId: string, signal?: AbortSignal): Promise<void> {
    await this.#json(
      'DELETE',
      `${this.#user(address)}/messages/${encodeURIComponent(messageId)}`,
      undefined,
      signal,
    );
  }
}

export function fileAttachment(file: { name: string; contentType: string; bytes: Buffer }) {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    name: file.name,
    contentType: file.contentType,
    contentBytes: file.bytes.toString('base64'),
  };
}

/** Graph's error answer as a GraphError: its code and message, and Retry-After. */
export function errorOf(res: HttpResponse, text: string): GraphError {
  let code = `HTTP ${res.status}`;
  let message = text.slice(0, 200);
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
  } catch {
    // Not Graph's JSON (a proxy's page): the status says enough.
  }
  return new GraphError(res.status, code, message, retryAfterMs(res.headers));
}
