/**
 * The mailboxes of the Graph test server, in memory, and the message operations Voicegate uses
 * (create, list by Internet Message-ID, get, update, move, delete, add attachment, delta), each
 * checked as Graph checks it; plus what a user does in Outlook (read, flag, move, purge).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  attachmentProblem,
  FOLDER_IDS,
  FOUR_MB,
  graphError,
  json,
  readBody,
  THREE_MB,
  view,
  type FakeAttachment,
  type FakeMessage,
} from './graph-wire.ts';

/** `String 0x001A`, `Integer 0x0E07`, `SystemTime 0x0E06` (Graph: singleValueLegacyExtendedProperty id formats). */
const PROP_ID = /^(String|Integer|SystemTime|Boolean|Binary|Long|Double) 0x[0-9A-Fa-f]{4}$/;
/** Properties of the message resource that a create request may set (Graph: message resource). */
const WRITABLE = new Set([
  'subject',
  'body',
  'from',
  'sender',
  'toRecipients',
  'ccRecipients',
  'internetMessageId',
  'importance',
  'isRead',
  'singleValueExtendedProperties',
  'attachments',
  'flag',
  'categories',
]);
const MSGFLAG_READ = 0x1;
const MSGFLAG_UNSENT = 0x8;

export class GraphMailboxes {
  readonly users = new Set<string>();
  /** Messages by user (lower-case address). */
  readonly mailboxes = new Map<string, FakeMessage[]>();
  /** The PATCHes and moves Voicegate made, in order: what it wrote back. */
  readonly patches: { id: string; body: Record<string, unknown> }[] = [];
  readonly moves: { id: string; to: string }[] = [];
  /** Creates are made, and not answered until the client goes away. */
  holdCreates = false;
  createsHeld = 0;
  /** Rises with every change of any message: what delta tokens count. */
  #seq = 0;
  /** Per user: messages that left the Inbox (moved or purged), by id, at which change. */
  readonly #left = new Map<string, Map<string, number>>();
  readonly #url: () => string;

  constructor(url: () => string) {
    this.#url = url;
  }

  addUser(address: string): void {
    this.users.add(address.toLowerCase());
    this.mailboxes.set(address.toLowerCase(), []);
  }

  messages(address: string): FakeMessage[] {
    return this.mailboxes.get(address.toLowerCase()) ?? [];
  }

  #change(address: string, id: string, fn: (m: FakeMessage) => void): void {
    const m = this.messages(address).find((x) => x.id === id);
    if (!m) throw new Error(`no message ${id}`);
    const wasInInbox = m.folder === 'inbox';
    fn(m);
    m.version = ++this.#seq;
    m.changeKey = `CQAAAB${randomBytes(6).toString('base64url')}`;
    if (wasInInbox && m.folder !== 'inbox') this.#leftBox(address).set(id, m.version);
  }

  #leftBox(address: string): Map<string, number> {
    let left = this.#left.get(address.toLowerCase());
    if (!left) this.#left.set(address.toLowerCase(), (left = new Map()));
    return left;
  }

  /** What a user does in Outlook: read or unread, flag, move, delete for good. */
  setRead(address: string, id: string, isRead: boolean): void {
    this.#change(address, id, (m) => (m.isRead = isRead));
  }

  setFlag(address: string, id: string, flagStatus: FakeMessage['flagStatus']): void {
    this.#change(address, id, (m) => (m.flagStatus = flagStatus));
  }

  move(address: string, id: string, folder: 'inbox' | 'deleteditems' | 'archive'): void {
    this.#change(address, id, (m) => (m.folder = folder));
  }

  purge(address: string, id: string): void {
    const box = this.messages(address);
    const i = box.findIndex((x) => x.id === id);
    if (i < 0) throw new Error(`no message ${id}`);
    const [m] = box.splice(i, 1);
    if (m!.folder === 'inbox') this.#leftBox(address).set(id, ++this.#seq);
  }

  /** Delete message (Graph: "Delete message"): 204. */
  remove(res: ServerResponse, box: FakeMessage[], msg: FakeMessage): void {
    box.splice(box.indexOf(msg), 1);
    res.writeHead(204);
    res.end();
  }

  /**
   * Update message (Graph: "Update message", PATCH /users/{id}/messages/{id}): the marks a user
   * changes (isRead, flag); other writable properties are refused here (Graph takes more).
   */
  async patch(req: IncomingMessage, res: ServerResponse, user: string, msg: FakeMessage) {
    if (!/^application\/json/.test(req.headers['content-type'] ?? ''))
      return graphError(res, 415, 'UnsupportedMediaType', 'Content-Type must be application/json.');
    const body = JSON.parse((await readBody(req)).toString('utf8')) as Record<string, unknown>;
    for (const key of Object.keys(body))
      if (key !== 'isRead' && key !== 'flag')
        return graphError(
          res,
          400,
          'ErrorInvalidProperty',
          `'${key}' is not updated by this test server.`,
        );
    const flag = (body.flag as { flagStatus?: unknown } | undefined)?.flagStatus;
    if (
      (body.isRead !== undefined && typeof body.isRead !== 'boolean') ||
      (body.flag !== undefined &&
        flag !== 'flagged' &&
        flag !== 'notFlagged' &&
        flag !== 'complete')
    )
      return graphError(
        res,
        400,
        'RequestBodyRead',
        'isRead is a boolean; flagStatus flagged, notFlagged or complete.',
      );
    this.#change(user, msg.id, (m) => {
      if (typeof body.isRead === 'boolean') m.isRead = body.isRead;
      if (flag) m.flagStatus = flag as FakeMessage['flagStatus'];
    });
    this.patches.push({ id: msg.id, body });
    json(res, 200, view(msg));
  }

  /**
   * Move a message (Graph: "message: move"): destinationId is a folder id or a well-known name;
   * 201 with the moved message. Ids stay as they are: Voicegate asks for immutable ids (Prefer:
   * IdType="ImmutableId"), without which Graph gives the moved message a new id (more lenient).
   */
  async moveRequest(req: IncomingMessage, res: ServerResponse, user: string, msg: FakeMessage) {
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { destinationId?: string };
    const folder = Object.entries(FOLDER_IDS).find(
      ([name, id]) => body.destinationId === name || body.destinationId === id,
    )?.[0];
    if (!folder) return graphError(res, 400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
    this.move(user, msg.id, folder as 'inbox' | 'deleteditems' | 'archive');
    this.moves.push({ id: msg.id, to: folder });
    json(res, 201, view(msg));
  }

  /**
   * Create message in a folder (Graph: "Create message", POST /users/{id}/mailFolders/{id}/messages,
   * JSON body). Graph makes it a draft unless PidTagMessageFlags (Integer 0x0E07) is set without
   * MSGFLAG_UNSENT in the creating request (graph-docs issues #2790/#8631; Exchange import docs).
   */
  async create(req: IncomingMessage, res: ServerResponse, box: FakeMessage[]): Promise<void> {
    if (!/^application\/json/.test(req.headers['content-type'] ?? ''))
      return graphError(res, 415, 'UnsupportedMediaType', 'Content-Type must be application/json.');
    const raw = await readBody(req);
    if (raw.length > FOUR_MB)
      return graphError(res, 413, 'RequestEntityTooLarge', 'The request is larger than 4 MB.');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return graphError(res, 400, 'RequestBodyRead', 'Invalid JSON.');
    }
    for (const key of Object.keys(body))
      if (!WRITABLE.has(key))
        return graphError(
          res,
          400,
          'RequestBodyRead',
          `The property '${key}' does not exist on type 'microsoft.graph.message' or is read-only.`,
        );
    const props = new Map<string, string>();
    for (const p of (body.singleValueExtendedProperties as
      { id: string; value: unknown }[] | undefined) ?? []) {
      if (!PROP_ID.test(p.id) || typeof p.value !== 'string')
        return graphError(
          res,
          400,
          'ErrorInvalidProperty',
          `The extended property '${p.id}' is not valid (id 'Type 0xTAG', value a string).`,
        );
      props.set(
        p.id.replace(/0x([0-9a-f]{4})$/i, (_m, h: string) => `0x${h.toUpperCase()}`),
        p.value,
      );
    }
    const flags = props.has('Integer 0x0E07') ? Number(props.get('Integer 0x0E07')) : null;
    const attachments: FakeAttachment[] = [];
    for (const a of (body.attachments as Record<string, string>[] | undefined) ?? []) {
      const bad = attachmentProblem(a);
      if (bad) return graphError(res, 400, 'ErrorInvalidRequest', bad);
      attachments.push({
        name: a.name!,
        contentType: a.contentType!,
        bytes: Buffer.from(a.contentBytes!, 'base64'),
      });
    }
    const flag = (body.flag as { flagStatus?: string } | undefined)?.flagStatus;
    const msg: FakeMessage = {
      id: `AAMkAG${randomBytes(18).toString('base64url')}`,
      changeKey: `CQAAAB${randomBytes(6).toString('base64url')}`,
      folder: 'inbox',
      subject: String(body.subject ?? ''),
      body: (body.body as FakeMessage['body']) ?? { contentType: 'text', content: '' },
      from: body.from,
      toRecipients: body.toRecipients,
      internetMessageId: typeof body.internetMessageId === 'string' ? body.internetMessageId : null,
      importance: String(body.importance ?? 'normal'),
      isRead:
        typeof body.isRead === 'boolean'
          ? body.isRead
          : flags !== null && (flags & MSGFLAG_READ) !== 0,
      isDraft: flags === null || (flags & MSGFLAG_UNSENT) !== 0,
      flagStatus: flag === 'flagged' || flag === 'complete' ? flag : 'notFlagged',
      props,
      attachments,
      createdAt: Date.now(),
      version: ++this.#seq,
    };
    box.push(msg);
    // The message exists; the answer waits (a slow Exchange, or a client that dies meanwhile).
    if (this.holdCreates) {
      this.createsHeld++;
      await new Promise<void>((resolve) => res.once('close', resolve));
      return;
    }
    json(res, 201, view(msg));
  }

  /**
   * List messages (Graph: "List messages") with `$filter=internetMessageId eq '...'` and
   * `$select`; other filters are refused here (more strict than Graph, which knows many).
   */
  list(res: ServerResponse, box: FakeMessage[], url: URL): void {
    const filter = url.searchParams.get('$filter');
    let found = box;
    if (filter !== null) {
      const m = /^internetMessageId eq '((?:[^']|'')*)'$/.exec(filter);
      if (!m)
        return graphError(
          res,
          400,
          'ErrorInvalidUrlQueryFilter',
          'The query filter contains one or more invalid nodes.',
        );
      const wanted = m[1]!.replace(/''/g, "'");
      found = box.filter((x) => x.internetMessageId === wanted);
    }
    const select = url.searchParams.get('$select')?.split(',');
    json(res, 200, {
      value: found.map((x) => {
        const v = view(x);
        return select
          ? Object.fromEntries(Object.entries(v).filter(([k]) => select.includes(k) || k === 'id'))
          : v;
      }),
    });
  }

  /**
   * Delta query of a folder's messages (Graph: "message: delta"): the first round lists the
   * folder, each later one (`$deltatoken`) what changed since, with `@removed` for messages
   * that left the folder; the last page carries `@odata.deltaLink`. An unknown token is 410.
   */
  delta(res: ServerResponse, user: string, box: FakeMessage[], url: URL): void {
    const token = url.searchParams.get('$deltatoken');
    const since = token === null ? 0 : Number(token);
    if (!Number.isInteger(since) || since < 0 || since > this.#seq)
      return graphError(res, 410, 'SyncStateNotFound', 'The sync state is not found or expired.');
    const value: unknown[] = box
      .filter((m) => m.folder === 'inbox' && m.version > since)
      .map((m) => ({
        id: m.id,
        isRead: m.isRead,
        flag: { flagStatus: m.flagStatus },
        parentFolderId: FOLDER_IDS.inbox,
      }));
    for (const [id, at] of this.#leftBox(user))
      if (at > since && !box.some((m) => m.id === id && m.folder === 'inbox'))
        value.push({ id, '@removed': { reason: 'deleted' } });
    const base = this.#url();
    json(res, 200, {
      '@odata.context': `${base}/v1.0/$metadata#Collection(message)`,
      value,
      '@odata.deltaLink': `${base}/v1.0/users/${encodeURIComponent(user)}/mailFolders/inbox/messages/delta?$deltatoken=${this.#seq}`,
    });
  }

  /** Add attachment (Graph: "Add attachment": a fileAttachment under 3 MB in one POST). */
  async attach(req: IncomingMessage, res: ServerResponse, msg: FakeMessage): Promise<void> {
    const a = JSON.parse((await readBody(req)).toString('utf8')) as Record<string, string>;
    const bad = attachmentProblem(a);
    if (bad) return graphError(res, 400, 'ErrorInvalidRequest', bad);
    const bytes = Buffer.from(a.contentBytes!, 'base64');
    if (bytes.length >= THREE_MB)
      return graphError(
        res,
        413,
        'ErrorRequestEntityTooLarge',
        'Use an upload session for attachments of 3 MB or more.',
      );
    msg.attachments.push({ name: a.name!, contentType: a.contentType!, bytes });
    json(res, 201, { id: randomUUID(), name: a.name, size: bytes.length });
  }

  /** An e-mail that arrives in the user's Inbox (what a sender's mail server would bring). */
  receive(
    address: string,
    e: {
      subject: string;
      from: { name: string; address: string };
      body: FakeMessage['body'];
      receivedAt: Date;
      attachments?: (FakeAttachment & { isInline?: boolean })[];
      messageClass?: string;
    },
  ): FakeMessage {
    const msg: FakeMessage = {
      id: `AAMkAG${randomBytes(18).toString('base64url')}`,
      changeKey: `CQAAAB${randomBytes(6).toString('base64url')}`,
      folder: 'inbox',
      subject: e.subject,
      body: e.body,
      from: { emailAddress: e.from },
      toRecipients: [{ emailAddress: { address } }],
      internetMessageId: `<${randomUUID()}@mail.example>`,
      importance: 'normal',
      isRead: false,
      isDraft: false,
      flagStatus: 'notFlagged',
      props: new Map([['String 0x001A', e.messageClass ?? 'IPM.Note']]),
      attachments: e.attachments ?? [],
      createdAt: e.receivedAt.getTime(),
      version: ++this.#seq,
    };
    this.messages(address).push(msg);
    return msg;
  }
}
