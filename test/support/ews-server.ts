/**
 * An EWS test server (SOAP 1.1 over HTTPS on loopback) holding mailboxes in memory: the
 * operations Voicegate uses, checked as Exchange checks them; each behaviour names its source
 * (MS-OXWS* or the EWS reference on learn.microsoft.com). More lenient than Exchange: no XSD
 * validation beyond the elements read, one service account, Basic authentication only (no
 * NTLM handshake), and ItemIds are random strings rather than store entry ids.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { ensureSelfSignedCert } from '../../server/config/tls-cert.ts';

const NS = {
  soap: 'http://schemas.xmlsoap.org/soap/envelope/',
  m: 'http://schemas.microsoft.com/exchange/services/2006/messages',
  t: 'http://schemas.microsoft.com/exchange/services/2006/types',
  e: 'http://schemas.microsoft.com/exchange/services/2006/errors',
};

export interface EwsItem {
  itemId: string;
  changeKey: string;
  folder: 'inbox' | 'deleteditems';
  itemClass: string;
  subject: string;
  body: string;
  isRead: boolean;
  /** Extended properties by `0xTAG` (upper-case hex). */
  props: Map<string, string>;
  attachments: { name: string; contentType: string; bytes: Buffer }[];
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const kids = (el: Element, ns: string, name: string) =>
  Array.from(el.getElementsByTagNameNS(ns, name)) as Element[];
const first = (el: Element, ns: string, name: string) => kids(el, ns, name)[0] ?? null;
const txt = (el: Element | null) => el?.textContent ?? '';

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="${NS.soap}"><s:Header><h:ServerVersionInfo xmlns:h="${NS.t}" MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544" MinorBuildNumber="4" Version="V2017_07_11"/></s:Header><s:Body>${body}</s:Body></s:Envelope>`;
}

/**
 * A SOAP fault as Exchange sends it for errors outside a response message (MS-OXWSCDATA
 * ResponseCodeType in e:ResponseCode; ErrorServerBusy carries BackOffMilliseconds in
 * e:MessageXml, "EWS throttling in Exchange").
 */
function fault(res: ServerResponse, code: string, message: string, backOff?: number): void {
  const xmlDetail =
    backOff === undefined
      ? ''
      : `<e:MessageXml><t:Value xmlns:t="${NS.t}" Name="BackOffMilliseconds">${backOff}</t:Value></e:MessageXml>`;
  res.writeHead(500, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    envelope(
      `<s:Fault><faultcode xmlns:a="${NS.t}">a:${code}</faultcode><faultstring xml:lang="en-US">${esc(message)}</faultstring><detail xmlns:e="${NS.e}"><e:ResponseCode>${code}</e:ResponseCode><e:Message>${esc(message)}</e:Message>${xmlDetail}</detail></s:Fault>`,
    ),
  );
}

function ok(res: ServerResponse, op: string, inner: string): void {
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    envelope(
      `<m:${op}Response xmlns:m="${NS.m}" xmlns:t="${NS.t}"><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${inner}</m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response>`,
    ),
  );
}

function errorMessage(res: ServerResponse, op: string, code: string, text: string): void {
  res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  res.end(
    envelope(
      `<m:${op}Response xmlns:m="${NS.m}" xmlns:t="${NS.t}"><m:ResponseMessages><m:${op}ResponseMessage ResponseClass="Error"><m:MessageText>${esc(text)}</m:MessageText><m:ResponseCode>${code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:${op}ResponseMessage></m:ResponseMessages></m:${op}Response>`,
    ),
  );
}

export class EwsServer {
  readonly username = 'svc-voicegate';
  password = randomBytes(12).toString('hex');
  /** Whether the service account holds ApplicationImpersonation (MS-OXWSCORE, impersonation). */
  canImpersonate = true;
  readonly mailboxes = new Map<string, EwsItem[]>();
  readonly caFile: string;
  readonly requests: { op: string; impersonating: string | null; anchor: string | null }[] = [];
  #busy = { count: 0, backOff: 0 };
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

  items(address: string): EwsItem[] {
    return this.mailboxes.get(address.toLowerCase()) ?? [];
  }

  connection(name = 'onprem'): Record<string, unknown> {
    return {
      name,
      kind: 'ews',
      url: this.url,
      auth: 'basic',
      username: this.username,
      password: this.password,
      caFile: this.caFile,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (
      req.method !== 'POST' ||
      new URL(req.url ?? '/', 'https://x').pathname.toLowerCase() !== '/ews/exchange.asmx'
    ) {
      res.writeHead(404);
      return void res.end();
    }
    // Basic authentication (EWS "Authentication and EWS in Exchange"): 401 without a challenge met.
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!basic || Buffer.from(basic, 'base64').toString() !== `${this.username}:${this.password}`) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="mail.contoso.example"' });
      return void res.end();
    }
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
    if (op === 'CreateItem') return this.#create(res, opEl);
    if (op === 'FindItem') return this.#find(res, opEl);
    if (op === 'DeleteItem') return this.#delete(res, opEl);
    return fault(res, 'ErrorInvalidRequest', `${op} is not implemented by this test server.`);
  }

  /** The mailbox a DistinguishedFolderId names (its Mailbox, else the impersonated user). */
  #folderOf(el: Element, op: string, res: ServerResponse): EwsItem[] | null {
    const df = first(el, NS.t, 'DistinguishedFolderId');
    const address =
      txt(df && first(df, NS.t, 'EmailAddress')).toLowerCase() ||
      this.requests.at(-1)!.impersonating;
    const box = address ? this.mailboxes.get(address) : undefined;
    if (!df || df.getAttribute('Id') !== 'inbox' || !box) {
      errorMessage(
        res,
        op,
        'ErrorNonExistentMailbox',
        'The SMTP address has no mailbox associated with it.',
      );
      return null;
    }
    return box;
  }

  /**
   * CreateItem (MS-OXWSCORE 3.1.4.2, "CreateItem operation (email message)"): MessageDisposition
   * SaveOnly into SavedItemFolderId; the answer carries the new ItemId and ChangeKey.
   */
  #create(res: ServerResponse, op: Element): void {
    if (op.getAttribute('MessageDisposition') !== 'SaveOnly')
      return errorMessage(
        res,
        'CreateItem',
        'ErrorInvalidRequest',
        'Only SaveOnly is accepted here.',
      );
    const saved = first(op, NS.m, 'SavedItemFolderId');
    const box = saved && this.#folderOf(saved, 'CreateItem', res);
    if (!box) return;
    const msg = first(first(op, NS.m, 'Items')!, NS.t, 'Message');
    if (!msg) return errorMessage(res, 'CreateItem', 'ErrorInvalidRequest', 'No Message.');
    const props = new Map<string, string>();
    for (const p of kids(msg, NS.t, 'ExtendedProperty')) {
      const uri = first(p, NS.t, 'ExtendedFieldURI')!;
      const tag = uri.getAttribute('PropertyTag') ?? '';
      if (!/^0x[0-9A-Fa-f]{1,4}$/.test(tag) || !uri.getAttribute('PropertyType'))
        return errorMessage(
          res,
          'CreateItem',
          'ErrorInvalidExtendedProperty',
          `Invalid extended property ${tag}.`,
        );
      props.set(
        `0x${Number(tag).toString(16).toUpperCase().padStart(4, '0')}`,
        txt(first(p, NS.t, 'Value')),
      );
    }
    const flags = props.has('0x0E07') ? Number(props.get('0x0E07')) : null;
    const item: EwsItem = {
      itemId: `AAMkAD${randomBytes(24).toString('base64')}`,
      changeKey: `CQAAABYA${randomBytes(9).toString('base64')}`,
      folder: 'inbox',
      itemClass: txt(first(msg, NS.t, 'ItemClass')) || 'IPM.Note',
      subject: txt(first(msg, NS.t, 'Subject')),
      body: txt(first(msg, NS.t, 'Body')),
      // IsRead as given; else the flags' MSGFLAG_READ (Import items by using EWS).
      isRead: first(msg, NS.t, 'IsRead')
        ? txt(first(msg, NS.t, 'IsRead')) === 'true'
        : flags !== null && (flags & 1) !== 0,
      props,
      attachments: kids(msg, NS.t, 'FileAttachment').map((a) => ({
        name: txt(first(a, NS.t, 'Name')),
        contentType: txt(first(a, NS.t, 'ContentType')),
        bytes: Buffer.from(txt(first(a, NS.t, 'Content')), 'base64'),
      })),
    };
    // Without PidTagMessageFlags a saved message is unsent: a draft (Thunderbird's EWS client notes
    // the server then sets MSGFLAG_UNSENT | MSGFLAG_UNMODIFIED).
    if (flags === null) item.props.set('0x0E07', String(0x8 | 0x2));
    box.push(item);
    ok(
      res,
      'CreateItem',
      `<m:Items><t:Message><t:ItemId Id="${item.itemId}" ChangeKey="${item.changeKey}"/></t:Message></m:Items>`,
    );
  }

  /** DeleteItem (MS-OXWSCORE 3.1.4.3): HardDelete removes the items for good. */
  #delete(res: ServerResponse, op: Element): void {
    if (!op.getAttribute('DeleteType'))
      return errorMessage(res, 'DeleteItem', 'ErrorInvalidRequest', 'DeleteType is required.');
    for (const id of kids(op, NS.t, 'ItemId')) {
      const box = [...this.mailboxes.values()].find((b) =>
        b.some((i) => i.itemId === id.getAttribute('Id')),
      );
      if (!box)
        return errorMessage(
          res,
          'DeleteItem',
          'ErrorItemNotFound',
          'The specified object was not found in the store.',
        );
      box.splice(
        box.findIndex((i) => i.itemId === id.getAttribute('Id')),
        1,
      );
    }
    ok(res, 'DeleteItem', '');
  }

  /**
   * FindItem (MS-OXWSSRCH, "FindItem operation"): Shallow traversal of one folder with an
   * IsEqualTo restriction on an extended property; IdOnly plus HasAttachments.
   */
  #find(res: ServerResponse, op: Element): void {
    const parents = first(op, NS.m, 'ParentFolderIds');
    const box = parents && this.#folderOf(parents, 'FindItem', res);
    if (!box) return;
    const eq = first(op, NS.t, 'IsEqualTo');
    const uri = eq && first(eq, NS.t, 'ExtendedFieldURI');
    const constant = eq && first(eq, NS.t, 'Constant');
    if (!uri || !constant)
      return errorMessage(
        res,
        'FindItem',
        'ErrorInvalidRestriction',
        'Only IsEqualTo on an extended property is supported here.',
      );
    const tag = `0x${Number(uri.getAttribute('PropertyTag')).toString(16).toUpperCase().padStart(4, '0')}`;
    const found = box.filter(
      (i) => i.folder === 'inbox' && i.props.get(tag) === constant.getAttribute('Value'),
    );
    const xmlItems = found
      .map(
        (i) =>
          `<t:Message><t:ItemId Id="${i.itemId}" ChangeKey="${i.changeKey}"/><t:HasAttachments>${i.attachments.length > 0}</t:HasAttachments></t:Message>`,
      )
      .join('');
    ok(
      res,
      'FindItem',
      `<m:RootFolder IndexedPagingOffset="${found.length}" TotalItemsInView="${found.length}" IncludesLastItemInRange="true"><t:Items>${xmlItems}</t:Items></m:RootFolder>`,
    );
  }
}
