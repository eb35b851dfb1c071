/**
 * An EWS test server (SOAP 1.1 over HTTPS on loopback) holding mailboxes in memory: the
 * operations Voicegate uses (`ews-item-ops.ts`, `ews-find-sync.ts`), checked as Exchange checks them; each behaviour
 * names its source (MS-OXWS* or the EWS reference on learn.microsoft.com). More lenient than
 * Exchange: one service account, authenticated either by Basic or by NTLM (`auth`; IIS may offer
 * both, and Negotiate/Kerberos, at once), NTLM as `ntlm-acceptor.ts` says.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';
import { EwsMailboxes, type EwsFolder, type EwsItem } from './ews-items.ts';
import { findItem, syncFolderItems } from './ews-find-sync.ts';
import {
  createItem,
  deleteItem,
  getFolder,
  getItem,
  moveItem,
  updateItem,
} from './ews-item-ops.ts';
import { fault, first, NS, txt } from './ews-wire.ts';
import { HeldAnswer } from './held-answer.ts';
import { NtlmAcceptor, type NtlmChallenge } from './ntlm-acceptor.ts';

export type { EwsItem } from './ews-items.ts';

export class EwsServer {
  readonly username = 'svc-voicegate';
  readonly domain = 'CONTOSO';
  password = randomBytes(12).toString('hex');
  /** How the service account must authenticate: Basic, or NTLM (Windows authentication). */
  auth: 'basic' | 'ntlm' = 'basic';
  /** The NTLM handshakes that ended accepted, by account (`CONTOSO\svc-voicegate`). */
  readonly ntlmLogins: string[] = [];
  readonly #ntlm = new NtlmAcceptor(this.domain, () => [
    { domain: this.domain, user: this.username, password: this.password },
  ]);
  /** NTLM authenticates a connection (MS-NLMP 3.1): per socket, challenged or logged in. */
  readonly #sockets = new WeakMap<Socket, NtlmChallenge | { account: string }>();
  /** Whether the service account holds ApplicationImpersonation (MS-OXWSCORE, impersonation). */
  canImpersonate = true;
  /** The mailboxes and what a user does to them in Outlook (read, flag, move, purge). */
  readonly store = new EwsMailboxes();
  readonly mailboxes = this.store.mailboxes;
  readonly caFile: string;
  readonly requests: { op: string; impersonating: string | null; anchor: string | null }[] = [];
  #busy = { count: 0, backOff: 0 };
  #heldSync: HeldAnswer | null = null;
  #inboxSyncs = 0;
  #server: https.Server;
  #port = 0;
  #dir: string;

  private constructor(dir: string, key: Buffer, cert: Buffer, users: string[]) {
    this.#dir = dir;
    this.caFile = join(dir, 'cert.pem');
    for (const u of users) this.mailboxes.set(u.toLowerCase(), []);
    this.#server = https.createServer({ key, cert }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) =>
        fault(res, 'ErrorInternalServerError', String(err)),
      );
    });
  }

  static async start(users: string[]): Promise<EwsServer> {
    const dir = mkdtempSync(join(tmpdir(), 'voicegate-ews-'));
    await ensureSelfSignedCert(join(dir, 'cert.pem'), join(dir, 'key.pem'), 'localhost');
    const s = new EwsServer(
      dir,
      readFileSync(join(dir, 'key.pem')),
      readFileSync(join(dir, 'cert.pem')),
      users,
    );
    await new Promise<void>((resolve) =>
      s.#server.listen(0, '127.0.0.1', () => {
        s.#port = (s.#server.address() as AddressInfo).port;
        resolve();
      }),
    );
    return s;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    rmSync(this.#dir, { recursive: true, force: true });
  }

  get url(): string {
    return `https://localhost:${this.#port}/EWS/Exchange.asmx`;
  }

  /** The next `count` requests get ErrorServerBusy with BackOffMilliseconds `backOff`. */
  busy(count: number, backOff: number): void {
    this.#busy = { count, backOff };
  }

  /**
   * The next SyncFolderItems of the Inbox whose answer mentions `itemId` is answered with the
   * Inbox as it is when the request arrives, but the answer is sent only when the test releases it.
   */
  holdNextInboxSync(itemId: string): HeldAnswer {
    this.#heldSync = new HeldAnswer(itemId);
    return this.#heldSync;
  }

  /** The SyncFolderItems requests of the Inbox seen so far. */
  get inboxSyncs(): number {
    return this.#inboxSyncs;
  }

  items(address: string): EwsItem[] {
    return this.store.items(address);
  }

  /** What a user does in Outlook; a move gives the item a new ItemId, returned. */
  setRead = (itemId: string, isRead: boolean) => this.store.setRead(itemId, isRead);
  setFlag = (itemId: string, flag: EwsItem['flag']) => this.store.setFlag(itemId, flag);
  move = (itemId: string, folder: EwsFolder) => this.store.move(itemId, folder);
  purge = (itemId: string) => this.store.purge(itemId);
  receive: EwsMailboxes['receive'] = (address, e) => this.store.receive(address, e);

  connection(name = 'onprem'): Record<string, unknown> {
    return {
      name,
      kind: 'ews',
      url: this.url,
      auth: this.auth,
      username: this.auth === 'ntlm' ? `${this.domain}\\${this.username}` : this.username,
      password: this.password,
      caFile: this.caFile,
    };
  }

  /**
   * Authentication as the EWS virtual directory checks it ("Authentication and EWS in
   * Exchange"): Basic on every request; or NTLM, a handshake per connection (MS-NLMP 3.1.5.1.2,
   * over HTTP as RFC 4559 frames Negotiate): NEGOTIATE gets 401 with the CHALLENGE, a proven
   * AUTHENTICATE lets the request through, and the connection stays logged in. Otherwise 401.
   */
  async #authenticated(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const refuse = async (challenge: string | string[]) => {
      for await (const _ of req); // read the body, so the connection stays usable
      res.writeHead(401, { 'www-authenticate': challenge });
      res.end();
      return false;
    };
    const header = req.headers.authorization ?? '';
    if (this.auth === 'basic') {
      const basic = /^Basic (.+)$/.exec(header)?.[1];
      if (basic && Buffer.from(basic, 'base64').toString() === `${this.username}:${this.password}`)
        return true;
      return refuse('Basic realm="mail.contoso.example"');
    }
    const socket = req.socket;
    const state = this.#sockets.get(socket);
    const token = /^NTLM (.+)$/.exec(header)?.[1];
    if (!token) {
      if (state && 'account' in state) return true;
      return refuse(['Negotiate', 'NTLM']);
    }
    const challenge = this.#ntlm.challenge(token);
    if (challenge) {
      this.#sockets.set(socket, challenge.state);
      return refuse(challenge.header);
    }
    const account =
      state && 'serverChallenge' in state ? this.#ntlm.authenticate(token, state) : null;
    if (!account) {
      this.#sockets.delete(socket);
      return refuse(['Negotiate', 'NTLM']);
    }
    this.#sockets.set(socket, { account });
    this.ntlmLogins.push(account);
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (
      req.method !== 'POST' ||
      new URL(req.url ?? '/', 'https://x').pathname.toLowerCase() !== '/ews/exchange.asmx'
    ) {
      res.writeHead(404);
      return void res.end();
    }
    if (!(await this.#authenticated(req, res))) return;
    // SOAP 1.1 (EWS "EWS XML elements"): text/xml.
    if (!/^text\/xml/.test(req.headers['content-type'] ?? '')) {
      res.writeHead(415);
      return void res.end();
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const doc = new DOMParser().parseFromString(Buffer.concat(chunks).toString('utf8'), 'text/xml');
    const root = doc.documentElement as Element | null;
    if (!root || root.namespaceURI !== NS.soap || root.localName !== 'Envelope')
      return fault(
        res,
        'ErrorSchemaValidation',
        'The request failed schema validation: not a SOAP 1.1 envelope.',
      );
    const header = first(root, NS.soap, 'Header');
    const body = first(root, NS.soap, 'Body');
    const opEl =
      body && (Array.from(body.childNodes).find((n) => n.nodeType === 1) as Element | undefined);
    if (!opEl || opEl.namespaceURI !== NS.m)
      return fault(res, 'ErrorInvalidRequest', 'The request is invalid.');
    // RequestServerVersion is required from Exchange 2010 on (MS-OXWSCDATA 2.2.3.x, RequestServerVersion).
    if (!header || !first(header, NS.t, 'RequestServerVersion'))
      return fault(res, 'ErrorInvalidServerVersion', 'The specified server version is invalid.');
    const imp = header && first(header, NS.t, 'ExchangeImpersonation');
    const impersonating = imp
      ? txt(first(imp, NS.t, 'PrimarySmtpAddress') ?? first(imp, NS.t, 'SmtpAddress')).toLowerCase()
      : null;
    const op = opEl.localName!;
    this.requests.push({
      op,
      impersonating,
      anchor: (req.headers['x-anchormailbox'] as string | undefined) ?? null,
    });
    if (this.#busy.count > 0) {
      this.#busy.count--;
      return fault(
        res,
        'ErrorServerBusy',
        'The server cannot service this request right now. Try again later.',
        this.#busy.backOff,
      );
    }
    // ExchangeImpersonation (MS-OXWSCORE / "Impersonation and EWS in Exchange"): the account needs
    // ApplicationImpersonation; an address that has no mailbox is ErrorNonExistentMailbox.
    if (impersonating !== null) {
      if (!this.canImpersonate)
        return fault(
          res,
          'ErrorImpersonateUserDenied',
          'The account does not have permission to impersonate the requested user.',
        );
      if (!this.mailboxes.has(impersonating))
        return fault(
          res,
          'ErrorNonExistentMailbox',
          `The SMTP address has no mailbox associated with it.`,
        );
    }
    const items = this.store;
    if (op === 'CreateItem') return createItem(items, res, opEl, impersonating);
    if (op === 'FindItem') return findItem(items, res, opEl, impersonating);
    if (op === 'DeleteItem') return deleteItem(items, res, opEl);
    if (op === 'GetFolder') return getFolder(items, res, opEl, impersonating);
    if (op === 'GetItem') return getItem(items, res, opEl);
    if (op === 'UpdateItem') return updateItem(items, res, opEl);
    if (op === 'MoveItem') return moveItem(items, res, opEl, impersonating);
    if (op === 'SyncFolderItems') {
      const syncFolder = first(opEl, NS.m, 'SyncFolderId');
      const folder =
        syncFolder && first(syncFolder, NS.t, 'DistinguishedFolderId')?.getAttribute('Id');
      if (folder === 'inbox') {
        this.#inboxSyncs++;
        this.#heldSync?.offer(res);
      }
      return syncFolderItems(items, res, opEl, impersonating);
    }
    return fault(res, 'ErrorInvalidRequest', `${op} is not implemented by this test server.`);
  }
}
