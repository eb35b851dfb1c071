/**
 * A Microsoft Graph and Microsoft identity platform test server, over HTTPS on loopback (MSAL
 * accepts only https authorities), holding mailboxes in memory. It speaks the documented
 * protocol and refuses what a real server would refuse; each behaviour names its source.
 * More lenient than the real service: one tenant, no $select/$expand beyond what Voicegate
 * asks, tokens are opaque strings (Entra issues JWTs), and no per-mailbox concurrency limit.
 *
 * This file is the server and its routes; the parts are the identity platform
 * (`graph-identity.ts`), the mailboxes and their message operations (`graph-mailboxes.ts`),
 * upload sessions (`graph-uploads.ts`) and the wire (`graph-wire.ts`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';
import { GraphIdentity } from './graph-identity.ts';
import { listAttachments, listInbox } from './graph-inbox.ts';
import { GraphMailboxes } from './graph-mailboxes.ts';
import { GraphUploads } from './graph-uploads.ts';
import { HeldAnswer } from './held-answer.ts';
import { FOLDER_IDS, graphError, json, view, type FakeMessage } from './graph-wire.ts';

export type { FakeAttachment, FakeMessage } from './graph-wire.ts';

export interface GraphServerOptions {
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  /** Mailboxes that exist (primary SMTP addresses). */
  users?: string[];
}

const NOT_FOUND = 'The specified object was not found in the store.';

export class GraphServer {
  /** The tenant, the application and its tokens. */
  readonly identity: GraphIdentity;
  /** The mailboxes and what a user does to them in Outlook (read, flag, move, purge). */
  readonly store: GraphMailboxes;
  /** Every request seen: method and path. */
  readonly requests: { method: string; path: string }[] = [];
  /** The CA file (the server's self-signed certificate) a client must trust. */
  readonly caFile: string;
  readonly #uploads: GraphUploads;
  #server: https.Server;
  #port = 0;
  #dir: string;
  #throttle: { count: number; retryAfter: number } = { count: 0, retryAfter: 0 };
  #heldDelta: HeldAnswer | null = null;

  private constructor(opts: GraphServerOptions, dir: string, key: Buffer, cert: Buffer) {
    this.identity = new GraphIdentity(opts, () => this.url);
    this.store = new GraphMailboxes(() => this.url);
    this.#uploads = new GraphUploads(
      () => this.url,
      (user, id) => this.messages(user).find((x) => x.id === id),
    );
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

  get tenant(): string {
    return this.identity.tenant;
  }
  get clientId(): string {
    return this.identity.clientId;
  }
  get clientSecret(): string {
    return this.identity.clientSecret;
  }
  set clientSecret(secret: string) {
    this.identity.clientSecret = secret;
  }
  get tokenLifetimeSeconds(): number {
    return this.identity.tokenLifetimeSeconds;
  }
  set tokenLifetimeSeconds(seconds: number) {
    this.identity.tokenLifetimeSeconds = seconds;
  }

  get users(): Set<string> {
    return this.store.users;
  }
  get mailboxes(): Map<string, FakeMessage[]> {
    return this.store.mailboxes;
  }
  /** The PATCHes and moves Voicegate made, in order: what it wrote back. */
  get patches(): { id: string; body: Record<string, unknown> }[] {
    return this.store.patches;
  }
  get moves(): { id: string; to: string }[] {
    return this.store.moves;
  }
  /** Creates are made, and not answered until the client goes away. */
  get holdCreates(): boolean {
    return this.store.holdCreates;
  }
  set holdCreates(hold: boolean) {
    this.store.holdCreates = hold;
  }
  get createsHeld(): number {
    return this.store.createsHeld;
  }

  addUser(address: string): void {
    this.store.addUser(address);
  }

  /**
   * The next delta query whose answer mentions `itemId` is answered with the Inbox as it is
   * when the query arrives, but the answer is sent only when the test releases it.
   */
  holdNextDelta(itemId: string): HeldAnswer {
    this.#heldDelta = new HeldAnswer(itemId);
    return this.#heldDelta;
  }

  /** The delta queries seen so far. */
  get deltaQueries(): number {
    return this.requests.filter((r) => r.path.endsWith('/mailFolders/inbox/messages/delta')).length;
  }

  /** The next `count` Graph requests get 429 with Retry-After: `retryAfter` seconds. */
  throttle(count: number, retryAfter: number): void {
    this.#throttle = { count, retryAfter };
  }

  messages(address: string): FakeMessage[] {
    return this.store.messages(address);
  }

  /** What a user does in Outlook: read or unread, flag, move, delete for good. */
  /** An e-mail that arrives in the user's Inbox (what a sender's mail server would bring). */
  receive(address: string, e: Parameters<GraphMailboxes['receive']>[1]): FakeMessage {
    return this.store.receive(address, e);
  }

  setRead(address: string, id: string, isRead: boolean): void {
    this.store.setRead(address, id, isRead);
  }
  setFlag(address: string, id: string, flagStatus: FakeMessage['flagStatus']): void {
    this.store.setFlag(address, id, flagStatus);
  }
  move(address: string, id: string, folder: 'inbox' | 'deleteditems' | 'archive'): void {
    this.store.move(address, id, folder);
  }
  purge(address: string, id: string): void {
    this.store.purge(address, id);
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
    if (await this.identity.handle(req, res, url)) return;
    if (url.pathname.startsWith('/upload/')) return this.#uploads.put(req, res, url);
    if (url.pathname.startsWith('/v1.0/')) return this.#graph(req, res, url);
    graphError(res, 404, 'BadRequest', `Resource not found for the segment '${url.pathname}'.`);
  }

  async #graph(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!this.identity.authorised(req, res)) return;
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
    const store = this.store;
    const method = req.method ?? 'GET';
    if (method === 'POST' && rest === '/mailFolders/inbox/messages')
      return store.create(req, res, box);
    if (method === 'GET' && rest === '/messages') return store.list(res, box, url);
    if (method === 'GET' && rest === '/mailFolders/inbox/messages')
      return listInbox(res, box, url, this.url);
    const wellKnown = /^\/mailFolders\/(inbox|deleteditems)$/.exec(rest);
    if (method === 'GET' && wellKnown) return json(res, 200, { id: FOLDER_IDS[wellKnown[1]!] });
    if (method === 'GET' && rest === '/mailFolders/inbox/messages/delta') {
      this.#heldDelta?.offer(res);
      return store.delta(res, user, box, url);
    }
    const one = /^\/messages\/([^/]+)(\/attachments(\/createUploadSession)?)?$/.exec(rest);
    const msg = one ? box.find((x) => x.id === decodeURIComponent(one[1]!)) : undefined;
    if (one && !msg) return graphError(res, 404, 'ErrorItemNotFound', NOT_FOUND);
    if (msg && one && method === 'POST' && one[3]) return this.#uploads.start(req, res, user, msg);
    if (msg && one && method === 'POST' && one[2]) return store.attach(req, res, msg);
    if (msg && one && method === 'GET' && one[2] && !one[3]) return listAttachments(res, msg, url);
    if (msg && one && !one[2] && method === 'DELETE') return store.remove(res, box, msg);
    if (msg && one && !one[2] && method === 'GET') return json(res, 200, view(msg));
    if (msg && one && !one[2] && method === 'PATCH') return store.patch(req, res, user, msg);
    const moving = /^\/messages\/([^/]+)\/move$/.exec(rest);
    if (moving && method === 'POST') {
      const target = box.find((x) => x.id === decodeURIComponent(moving[1]!));
      if (!target) return graphError(res, 404, 'ErrorItemNotFound', NOT_FOUND);
      return store.moveRequest(req, res, user, target);
    }
    graphError(res, 405, 'ErrorInvalidRequest', `The OData request is not supported.`);
  }
}
