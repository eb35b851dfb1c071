/**
 * A Microsoft Graph and Microsoft identity platform test server, over HTTPS on loopback (MSAL
 * accepts only https authorities), holding mailboxes in memory. It speaks the documented
 * protocol and refuses what a real server would refuse; each behaviour names its source.
 * More lenient than the real service: one tenant, no $select/$expand beyond what Voicegate
 * asks, tokens are opaque strings (Entra issues JWTs), and no per-mailbox concurrency limit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';

export interface FakeAttachment {
  name: string;
  contentType: string;
  bytes: Buffer;
}

export interface FakeMessage {
  id: string;
  changeKey: string;
  folder: 'inbox' | 'deleteditems' | 'drafts' | string;
  subject: string;
  body: { contentType: string; content: string };
  from: unknown;
  toRecipients: unknown;
  internetMessageId: string | null;
  importance: string;
  isRead: boolean;
  isDraft: boolean;
  flagStatus: 'notFlagged' | 'flagged' | 'complete';
  /** singleValueExtendedProperties by id as written (`String 0x001A`). */
  props: Map<string, string>;
  attachments: FakeAttachment[];
  createdAt: number;
  /** The change number of its last change (delta queries). */
  version: number;
}

interface UploadSession {
  user: string;
  messageId: string;
  name: string;
  contentType: string;
  size: number;
  received: Buffer[];
  next: number;
}

export interface GraphServerOptions {
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  /** Mailboxes that exist (primary SMTP addresses). */
  users?: string[];
}

/** A Graph error body (Graph reference, "Microsoft Graph error responses and resource types"). */
function graphError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message, innerError: { 'request-id': randomUUID() } } }));
}

function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

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
/** Folder ids are opaque in Graph; these stand for them. */
const FOLDER_IDS: Record<string, string> = {
  inbox: 'AAMkFolder-Inbox',
  deleteditems: 'AAMkFolder-DeletedItems',
  archive: 'AAMkFolder-Archive',
};
const MSGFLAG_READ = 0x1;
const MSGFLAG_UNSENT = 0x8;
const THREE_MB = 3 * 1024 * 1024;
const FOUR_MB = 4 * 1024 * 1024;

export class GraphServer {
  readonly tenant: string;
  readonly clientId: string;
  clientSecret: string;
  readonly users = new Set<string>();
  /** Messages by user (lower-case address). */
  readonly mailboxes = new Map<string, FakeMessage[]>();
  /** The PATCHes and moves Voicegate made, in order: what it wrote back. */
  readonly patches: { id: string; body: Record<string, unknown> }[] = [];
  readonly moves: { id: string; to: string }[] = [];
  /** Creates are made, and not answered until the client goes away. */
  holdCreates = false;
  createsHeld = 0;
  /** Every request seen: method and path. */
  readonly requests: { method: string; path: string }[] = [];
  /** The CA file (the server's self-signed certificate) a client must trust. */
  readonly caFile: string;
  #server: https.Server;
  #port = 0;
  #dir: string;
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, UploadSession>();
  #throttle: { count: number; retryAfter: number } = { count: 0, retryAfter: 0 };
  tokenLifetimeSeconds = 3599;
  /** Rises with every change of any message: what delta tokens count. */
  #seq = 0;
  /** Per user: messages that left the Inbox (moved or purged), by id, at which change. */
  readonly #left = new Map<string, Map<string, number>>();

  private constructor(opts: GraphServerOptions, dir: string, key: Buffer, cert: Buffer) {
    this.tenant = opts.tenant ?? 'contoso.onmicrosoft.com';
    this.clientId = opts.clientId ?? randomUUID();
    this.clientSecret = opts.clientSecret ?? randomBytes(16).toString('hex');
    for (const u of opts.users ?? []) this.addUser(u);
    this.#dir = dir;
    this.caFile = join(dir, 'cert.pem');
    this.#server = https.createServer({ key, cert }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) graphError(res, 500, 'InternalServerError', String(err));
        else res.destroy();
      });
    });
  }

  static async start(opts: GraphServerOptions = {}): Promise<GraphServer> {
    const dir = mkdtempSync(join(tmpdir(), 'voicegate-graph-'));
    await ensureSelfSignedCert(join(dir, 'cert.pem'), join(dir, 'key.pem'), 'localhost');
    const s = new GraphServer(
      opts,
      dir,
      readFileSync(join(dir, 'key.pem')),
      readFileSync(join(dir, 'cert.pem')),
    );
    await s.listen();
    return s;
  }

  /** Listens (again, on the same port once it had one: Exchange back after an outage). */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Stops answering (connections refused) until `listen()`. */
  down(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async close(): Promise<void> {
    if (this.#server.listening) await this.down();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  get listening(): boolean {
    return this.#server.listening;
  }

  get url(): string {
    return `https://localhost:${this.#port}`;
  }

  addUser(address: string): void {
    this.users.add(address.toLowerCase());
    this.mailboxes.set(address.toLowerCase(), []);
  }

  /** The next `count` Graph requests get 429 with Retry-After: `retryAfter` seconds. */
  throttle(count: number, retryAfter: number): void {
    this.#throttle = { count, retryAfter };
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

  /** The connection config a Voicegate uses for this server. */
  connection(name = 'online'): Record<string, unknown> {
    return {
      name,
      kind: 'graph',
      tenant: this.tenant,
      clientId: this.clientId,
      clientSecret: this.clientSecret,
      authority: this.url,
      endpoint: this.url,
      caFile: this.caFile,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? '', path: url.pathname });
    const t = `/${this.tenant}`;
    // OpenID Connect discovery (Microsoft identity platform: "OpenID Connect on the Microsoft
    // identity platform", the metadata document), which MSAL reads for the token endpoint.
    if (req.method === 'GET' && url.pathname === `${t}/v2.0/.well-known/openid-configuration`)
      return json(res, 200, {
        issuer: `${this.url}${t}/v2.0`,
        token_endpoint: `${this.url}${t}/oauth2/v2.0/token`,
        authorization_endpoint: `${this.url}${t}/oauth2/v2.0/authorize`,
        jwks_uri: `${this.url}${t}/discovery/v2.0/keys`,
        end_session_endpoint: `${this.url}${t}/oauth2/v2.0/logout`,
        response_types_supported: ['code', 'id_token', 'token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    if (req.method === 'POST' && url.pathname === `${t}/oauth2/v2.0/token`)
      return this.#token(req, res);
    if (url.pathname.startsWith('/upload/')) return this.#upload(req, res, url);
    if (url.pathname.startsWith('/v1.0/')) return this.#graph(req, res, url);
    graphError(res, 404, 'BadRequest', `Resource not found for the segment '${url.pathname}'.`);
  }

  /**
   * The client credentials grant (Microsoft identity platform: "OAuth 2.0 client credentials
   * flow", first case: a shared secret): form-encoded, scope `{resource}/.default`. A wrong
   * secret is 401 invalid_client with AADSTS7000215.
   */
  async #token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? ''))
      return json(res, 400, { error: 'invalid_request', error_description: 'AADSTS900144' });
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials')
      return json(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'AADSTS70003: The app requested an unsupported grant type.',
      });
    if (form.get('client_id') !== this.clientId)
      return json(res, 400, {
        error: 'unauthorized_client',
        error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.`,
      });
    if (form.get('client_secret') !== this.clientSecret)
      return json(res, 401, {
        error: 'invalid_client',
        error_description:
          'AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.',
      });
    const scopes = (form.get('scope') ?? '').split(' ');
    if (!scopes.includes(`${this.url}/.default`))
      return json(res, 400, {
        error: 'invalid_scope',
        error_description: `AADSTS1002012: The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      });
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
    json(res, 200, {
      token_type: 'Bearer',
      expires_in: this.tokenLifetimeSeconds,
      ext_expires_in: this.tokenLifetimeSeconds,
      access_token: token,
    });
  }

  /** Bearer token check (Graph: "Authentication and authorization basics"): 401 InvalidAuthenticationToken. */
  #authorised(req: IncomingMessage, res: ServerResponse): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const until = token ? this.#tokens.get(token) : undefined;
    if (until !== undefined && until > Date.now()) return true;
    graphError(
      res,
      401,
      'InvalidAuthenticationToken',
      token ? 'Lifetime validation failed, the token is expired.' : 'Access token is empty.',
    );
    return false;
  }

  async #graph(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!this.#authorised(req, res)) return;
    // Throttling (Graph: "Microsoft Graph throttling guidance"): 429 with Retry-After seconds.
    if (this.#throttle.count > 0) {
      this.#throttle.count--;
      res.setHeader('retry-after', String(this.#throttle.retryAfter));
      return graphError(
        res,
        429,
        'ApplicationThrottled',
        'Application is over its MailboxConcurrency limit.',
      );
    }
    const m = /^\/v1\.0\/users\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (!m) return graphError(res, 400, 'BadRequest', 'Unsupported request.');
    const user = decodeURIComponent(m[1]!).toLowerCase();
    const rest = m[2]!;
    // An unknown user (Graph: user and message operations answer 404 ErrorInvalidUser).
    const box = this.mailboxes.get(user);
    if (!box || !this.users.has(user))
      return graphError(
        res,
        404,
        'ErrorInvalidUser',
        `The requested user '${decodeURIComponent(m[1]!)}' is invalid.`,
      );
    const method = req.method ?? 'GET';
    if (method === 'POST' && rest === '/mailFolders/inbox/messages')
      return this.#create(req, res, box);
    if (method === 'GET' && rest === '/messages') return this.#list(res, box, url);
    if (method === 'GET' && rest === '/mailFolders/inbox/messages')
      return this.#listInbox(res, box, url);
    const wellKnown = /^\/mailFolders\/(inbox|deleteditems)$/.exec(rest);
    if (method === 'GET' && wellKnown) return json(res, 200, { id: FOLDER_IDS[wellKnown[1]!] });
    if (method === 'GET' && rest === '/mailFolders/inbox/messages/delta')
      return this.#delta(res, user, box, url);
    const one = /^\/messages\/([^/]+)(\/attachments(\/createUploadSession)?)?$/.exec(rest);
    const msg = one ? box.find((x) => x.id === decodeURIComponent(one[1]!)) : undefined;
    if (one && !msg)
      return graphError(
        res,
        404,
        'ErrorItemNotFound',
        'The specified object was not found in the store.',
      );
    if (msg && one && method === 'POST' && one[3]) return this.#startUpload(req, res, user, msg);
    if (msg && one && method === 'POST' && one[2]) return this.#attach(req, res, msg);
    if (msg && one && method === 'GET' && one[2] && !one[3])
      return this.#listAttachments(res, msg, url);
    if (msg && one && !one[2] && method === 'DELETE') {
      box.splice(box.indexOf(msg), 1);
      res.writeHead(204);
      return void res.end();
    }
    if (msg && one && !one[2] && method === 'GET') return json(res, 200, view(msg));
    if (msg && one && !one[2] && method === 'PATCH') return this.#patch(req, res, user, msg);
    const moving = /^\/messages\/([^/]+)\/move$/.exec(rest);
    if (moving && method === 'POST') {
      const target = box.find((x) => x.id === decodeURIComponent(moving[1]!));
      if (!target)
        return graphError(
          res,
          404,
          'ErrorItemNotFound',
          'The specified object was not found in the store.',
        );
      return this.#move(req, res, user, target);
    }
    graphError(res, 405, 'ErrorInvalidRequest', `The OData request is not supported.`);
  }

  /**
   * Update message (Graph: "Update message", PATCH /users/{id}/messages/{id}): the marks a user
   * changes (isRead, flag); other writable properties are refused here (Graph takes more).
   */
  async #patch(req: IncomingMessage, res: ServerResponse, user: string, msg: FakeMessage) {
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
  async #move(req: IncomingMessage, res: ServerResponse, user: string, msg: FakeMessage) {
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
  async #create(req: IncomingMessage, res: ServerResponse, box: FakeMessage[]): Promise<void> {
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
  #list(res: ServerResponse, box: FakeMessage[], url: URL): void {
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

  /**
   * List messages of the Inbox (Graph: "List messages", GET /users/{id}/mailFolders/inbox/messages)
   * with `$filter` on isRead (and receivedDateTime), `$orderby=receivedDateTime desc`, `$top`,
   * `$select` and `$expand` of the message class. Graph refuses an $orderby property that is not
   * also the first in $filter (InefficientFilter: "Using filter and orderby in the same query");
   * other filters are refused here. Pages carry `@odata.nextLink` ($skip), as Graph's do.
   */
  #listInbox(res: ServerResponse, box: FakeMessage[], url: URL): void {
    const q = url.searchParams;
    const filter = q.get('$filter') ?? '';
    const m =
      /^(?:receivedDateTime ge (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) and )?isRead eq (true|false)$/.exec(
        filter,
      );
    if (!m)
      return graphError(
        res,
        400,
        'ErrorInvalidUrlQueryFilter',
        'The query filter contains one or more invalid nodes.',
      );
    const orderby = q.get('$orderby');
    if (orderby !== null && (orderby !== 'receivedDateTime desc' || !m[1]))
      return graphError(
        res,
        400,
        'InefficientFilter',
        'The restriction or sort order is too complex for this operation.',
      );
    const top = Number(q.get('$top') ?? 10);
    const skip = Number(q.get('$skip') ?? 0);
    if (!Number.isInteger(top) || top < 1 || top > 1000 || !Number.isInteger(skip) || skip < 0)
      return graphError(res, 400, 'BadRequest', 'Invalid $top or $skip.');
    const since = m[1] ? Date.parse(m[1]) : 0;
    const found = box
      .filter((x) => x.folder === 'inbox' && x.isRead === (m[2] === 'true') && x.createdAt >= since)
      .sort((a, b) => (orderby ? b.createdAt - a.createdAt : 0));
    const expand = q.get('$expand');
    const classProp = /^singleValueExtendedProperties\(\$filter=id eq '(String 0x001A)'\)$/.exec(
      expand ?? '',
    );
    if (expand !== null && !classProp)
      return graphError(res, 400, 'BadRequest', 'Only the message class is expanded here.');
    const select = q.get('$select')?.split(',');
    const page = found.slice(skip, skip + top).map((x) => {
      const v: Record<string, unknown> = {
        ...view(x),
        from: x.from,
        body: x.body,
        receivedDateTime: new Date(x.createdAt).toISOString(),
        sentDateTime: new Date(x.createdAt - 60_000).toISOString(),
      };
      const shown = select
        ? Object.fromEntries(Object.entries(v).filter(([k]) => select.includes(k) || k === 'id'))
        : v;
      if (classProp)
        shown.singleValueExtendedProperties = x.props.has(classProp[1]!)
          ? [{ id: classProp[1], value: x.props.get(classProp[1]!) }]
          : [];
      return shown;
    });
    const next = new URL(url.href.replace(/^https?:\/\/[^/]+/, this.url));
    next.searchParams.set('$skip', String(skip + top));
    json(res, 200, {
      value: page,
      ...(skip + top < found.length ? { '@odata.nextLink': next.href } : {}),
    });
  }

  /** List attachments (Graph: "List attachments"), with `$select` of their properties. */
  #listAttachments(res: ServerResponse, msg: FakeMessage, url: URL): void {
    const select = url.searchParams.get('$select')?.split(',');
    json(res, 200, {
      value: msg.attachments.map((a) => {
        const v: Record<string, unknown> = {
          '@odata.type': '#microsoft.graph.fileAttachment',
          id: randomUUID(),
          name: a.name,
          contentType: a.contentType,
          size: a.bytes.length,
          isInline: (a as { isInline?: boolean }).isInline ?? false,
        };
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
  #delta(res: ServerResponse, user: string, box: FakeMessage[], url: URL): void {
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
    json(res, 200, {
      '@odata.context': `${this.url}/v1.0/$metadata#Collection(message)`,
      value,
      '@odata.deltaLink': `${this.url}/v1.0/users/${encodeURIComponent(user)}/mailFolders/inbox/messages/delta?$deltatoken=${this.#seq}`,
    });
  }

  /** Add attachment (Graph: "Add attachment": a fileAttachment under 3 MB in one POST). */
  async #attach(req: IncomingMessage, res: ServerResponse, msg: FakeMessage): Promise<void> {
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

  /**
   * Create an upload session (Graph: "attachment: createUploadSession"): for 3 MB to 150 MB;
   * the answer's uploadUrl takes the bytes in PUTs with Content-Range, without Authorization.
   */
  async #startUpload(
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
      uploadUrl: `${this.url}/upload/${token}`,
      expirationDateTime: new Date(Date.now() + 6 * 3600_000).toISOString(),
      nextExpectedRanges: ['0-'],
    });
  }

  /** Upload bytes to the session: ranges in order, 200 with nextExpectedRanges, 201 when complete. */
  async #upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const session = this.#sessions.get(url.pathname.slice('/upload/'.length));
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
    const msg = this.messages(session.user).find((x) => x.id === session.messageId);
    msg?.attachments.push({
      name: session.name,
      contentType: session.contentType,
      bytes: Buffer.concat(session.received),
    });
    this.#sessions.delete(url.pathname.slice('/upload/'.length));
    res.writeHead(201, {
      location: `${this.url}/v1.0/users/${session.user}/messages/${session.messageId}/attachments/${randomUUID()}`,
    });
    res.end();
  }
}

function attachmentProblem(a: Record<string, string>): string | null {
  if (a['@odata.type'] !== '#microsoft.graph.fileAttachment')
    return "'@odata.type' must be #microsoft.graph.fileAttachment";
  if (!a.name || typeof a.contentBytes !== 'string')
    return 'a fileAttachment needs name and contentBytes';
  return null;
}

/** A message as Graph shows it (the properties Voicegate and the tests read). */
function view(m: FakeMessage) {
  return {
    id: m.id,
    changeKey: m.changeKey,
    subject: m.subject,
    internetMessageId: m.internetMessageId,
    isRead: m.isRead,
    isDraft: m.isDraft,
    importance: m.importance,
    hasAttachments: m.attachments.length > 0,
    parentFolderId: FOLDER_IDS[m.folder] ?? m.folder,
    flag: { flagStatus: m.flagStatus },
  };
}
