/**
 * Upload sessions of the Graph test server (Graph: "attachment: createUploadSession", "Upload
 * large files using the Microsoft Graph SDKs"): an attachment of 3 MB to 150 MB is sent in
 * ranges to a URL that is its own credential.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FOUR_MB,
  graphError,
  json,
  readBody,
  THREE_MB,
  type FakeAttachment,
  type FakeMessage,
} from './graph-wire.ts';

interface UploadSession {
  user: string;
  messageId: string;
  name: string;
  contentType: string;
  size: number;
  received: Buffer[];
  next: number;
}

export class GraphUploads {
  readonly #sessions = new Map<string, UploadSession>();
  readonly #url: () => string;
  /** Where a finished upload's attachment goes: its message, if it still exists. */
  readonly #messageOf: (user: string, id: string) => FakeMessage | undefined;

  constructor(url: () => string, messageOf: (user: string, id: string) => FakeMessage | undefined) {
    this.#url = url;
    this.#messageOf = messageOf;
  }

  /**
   * Create an upload session (Graph: "attachment: createUploadSession"): for 3 MB to 150 MB;
   * the answer's uploadUrl takes the bytes in PUTs with Content-Range, without Authorization.
   */
  async start(
    req: IncomingMessage,
    res: ServerResponse,
    user: string,
    msg: FakeMessage,
  ): Promise<void> {
    const body = JSON.parse((await readBody(req)).toString('utf8')) as {
      AttachmentItem?: {
        attachmentType?: string;
        name?: string;
        size?: number;
        contentType?: string;
      };
    };
    const item = body.AttachmentItem;
    if (!item || item.attachmentType !== 'file' || !item.name || typeof item.size !== 'number')
      return graphError(
        res,
        400,
        'ErrorInvalidRequest',
        'AttachmentItem with attachmentType file, name and size is required.',
      );
    if (item.size < THREE_MB || item.size > 150 * 1024 * 1024)
      return graphError(
        res,
        400,
        'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'Attachment size should be between 3 MB and 150 MB for an upload session.',
      );
    const token = randomBytes(16).toString('hex');
    this.#sessions.set(token, {
      user,
      messageId: msg.id,
      name: item.name,
      contentType: item.contentType ?? 'application/octet-stream',
      size: item.size,
      received: [],
      next: 0,
    });
    json(res, 201, {
      uploadUrl: `${this.#url()}/upload/${token}`,
      expirationDateTime: new Date(Date.now() + 6 * 3600_000).toISOString(),
      nextExpectedRanges: ['0-'],
    });
  }

  /** Upload bytes to the session: ranges in order, 200 with nextExpectedRanges, 201 when complete. */
  async put(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const token = url.pathname.slice('/upload/'.length);
    const session = this.#sessions.get(token);
    if (!session || req.method !== 'PUT')
      return graphError(res, 404, 'ErrorItemNotFound', 'No such upload session.');
    // "Do not specify an Authorization request header in the PUT": the URL is the credential.
    if (req.headers.authorization)
      return graphError(
        res,
        401,
        'InvalidAuthenticationToken',
        'An Authorization header is not accepted by an upload URL.',
      );
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    const bytes = await readBody(req);
    if (
      !range ||
      Number(range[3]) !== session.size ||
      Number(range[1]) !== session.next ||
      Number(range[2]) - Number(range[1]) + 1 !== bytes.length
    )
      return graphError(
        res,
        416,
        'InvalidRange',
        `Expected bytes ${session.next}- of ${session.size}.`,
      );
    if (bytes.length > FOUR_MB)
      return graphError(res, 413, 'RequestEntityTooLarge', 'A chunk is at most 4 MB.');
    session.received.push(bytes);
    session.next += bytes.length;
    if (session.next < session.size)
      return json(res, 200, {
        expirationDateTime: new Date(Date.now() + 3600_000).toISOString(),
        nextExpectedRanges: [`${session.next}-`],
      });
    const attachment: FakeAttachment = {
      name: session.name,
      contentType: session.contentType,
      bytes: Buffer.concat(session.received),
    };
    this.#messageOf(session.user, session.messageId)?.attachments.push(attachment);
    this.#sessions.delete(token);
    res.writeHead(201, {
      location: `${this.#url()}/v1.0/users/${session.user}/messages/${session.messageId}/attachments/${randomUUID()}`,
    });
    res.end();
  }
}
