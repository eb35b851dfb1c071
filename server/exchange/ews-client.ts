import { NEW_VOICEMAIL_FLAGS, VOICE_PROPERTIES } from '../domain/exchange.ts';
import { GraphAuth } from './graph-auth.ts';
import { caOf, httpClientFor, type HttpRequest, type HttpResponse } from './https-client.ts';
import { ntlmClient } from './ntlm.ts';
import { envelope, EwsError, folder, items, NS, responseMessage, text, xml } from './ews-soap.ts';
import type { Element } from '@xmldom/xmldom';
import type { VoicemailItem } from './voicemail-item.ts';

export interface EwsConnection {
  url: string;
  auth: 'basic' | 'ntlm' | 'oauth';
  username: string;
  password: string;
  impersonation: boolean;
  tenant: string;
  clientId: string;
  clientSecret: string;
  authority: string;
}

/** PidTagInternetMessageId: the voicemail's identity, which a created item is found by. */
export const INTERNET_MESSAGE_ID = 0x1035;
/** PidTagMessageDeliveryTime. */
const DELIVERY_TIME = 0x0e06;

const hex = (tag: number): string => `0x${tag.toString(16).padStart(4, '0').toUpperCase()}`;
const prop = (tag: number, type: string, value: string): string =>
  `<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="${hex(tag)}" PropertyType="${type}"/><t:Value>${xml(value)}</t:Value></t:ExtendedProperty>`;
const mailbox = (m: { name: string; address: string }): string =>
  `<t:Mailbox><t:Name>${xml(m.name)}</t:Name><t:EmailAddress>${xml(m.address)}</t:EmailAddress></t:Mailbox>`;

/** How a connection's requests travel: through an NTLM handshake each, or as they are. */
export function ewsTransport(
  c: Pick<EwsConnection, 'auth' | 'username' | 'password'> & { caFile?: string },
): (req: HttpRequest) => Promise<HttpResponse> {
  return c.auth === 'ntlm' ? ntlmClient(c, caOf(c)) : httpClientFor(c);
}

/**
 * The EWS operations Voicegate makes (Exchange Server 2016, 2019, SE; Exchange Online until
 * EWS is retired there), as a service account acting for each user: impersonation (the
 * ExchangeImpersonation header) or delegate access, with X-AnchorMailbox as Microsoft asks.
 */
export class EwsClient {
  readonly #c: EwsConnection;
  readonly #send: (req: HttpRequest) => Promise<HttpResponse>;
  readonly #oauth: GraphAuth | null;
  /** Well-known folders' ids, per user: they do not change. */
  readonly #folders = new Map<string, string>();

  constructor(c: EwsConnection, send: (req: HttpRequest) => Promise<HttpResponse>) {
    this.#c = c;
    this.#send = send;
    // App-only OAuth for EWS: the same client credentials, for the EWS host's resource.
    this.#oauth =
      c.auth === 'oauth'
        ? new GraphAuth(
            {
              tenant: c.tenant,
              clientId: c.clientId,
              clientSecret: c.clientSecret,
              certificate: { privateKeyFile: '', thumbprint: '' },
              authority: c.authority,
              endpoint: new URL(c.url).origin,
            },
            send,
          )
        : null;
  }

  /** The Authorization header; none for NTLM, whose transport (`ewsTransport`) authenticates. */
  async #authorization(): Promise<Record<string, string>> {
    if (this.#oauth) return { authorization: `Bearer ${await this.#oauth.token()}` };
    if (this.#c.auth === 'ntlm') return {};
    const basic = Buffer.from(`${this.#c.username}:${this.#c.password}`).toString('base64');
    return { authorization: `Basic ${basic}` };
  }

  /** Sends one operation and reads its response message (the first, for one item or folder). */
  call(op: string, address: string, body: string, signal?: AbortSignal): Promise<Element> {
    return this.#call(op, address, body, signal);
  }

  async #call(op: string, address: string, body: string, signal?: AbortSignal) {
    const res = await this.#send({
      method: 'POST',
      url: this.#c.url,
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        soapaction: `"${NS.m}/${op}"`,
        'x-anchormailbox': address,
        ...(await this.#authorization()),
      },
      body: envelope(body, this.#c.impersonation ? address : null),
      signal,
    });
    if (res.status === 401) throw this.#refused(res);
    return responseMessage(res.status, res.body.toString('utf8'), op);
  }

  #refused(res: HttpResponse & { offered?: string }): EwsError {
    if (res.offered !== undefined)
      return new EwsError(
        'Unauthorized',
        `${this.#c.url} does not offer NTLM (WWW-Authenticate: ${res.offered}): enable Windows authentication on the EWS virtual directory, or use auth basic`,
        401,
      );
    const how = this.#c.auth === 'ntlm' ? `NTLM as ${this.#c.username}` : this.#c.auth;
    return new EwsError(
      'Unauthorized',
      `credentials refused (HTTP 401, ${how}) for ${this.#c.url}`,
      401,
    );
  }

  /** The item in the user's Inbox whose Internet Message-ID is `messageId`, if any. */
  async findByInternetMessageId(address: string, messageId: string, signal?: AbortSignal) {
    return (await this.findAll(address, messageId, ['inbox'], signal))[0] ?? null;
  }

  /** The items in the user's `folders` whose Internet Message-ID is `messageId`. */
  async findAll(
    address: string,
    messageId: string,
    folders: readonly ('inbox' | 'deleteditems')[],
    signal?: AbortSignal,
  ) {
    const msg = await this.#call(
      'FindItem',
      address,
      `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>` +
        `<t:AdditionalProperties><t:FieldURI FieldURI="item:HasAttachments"/></t:AdditionalProperties></m:ItemShape>` +
        `<m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/>` +
        `<m:Restriction><t:IsEqualTo><t:ExtendedFieldURI PropertyTag="${hex(INTERNET_MESSAGE_ID)}" PropertyType="String"/>` +
        `<t:FieldURIOrConstant><t:Constant Value="${xml(messageId)}"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>` +
        `<m:ParentFolderIds>${folders.map((f) => folder(f, address)).join('')}</m:ParentFolderIds></m:FindItem>`,
      signal,
    );
    return items(msg);
  }

  /**
   * Deletes an item: for good (HardDelete: `exchange test` removes its test item), or as a user
   * empties Deleted Items (SoftDelete: kept in Recoverable Items for the retention time).
   */
  async remove(
    address: string,
    itemId: string,
    signal?: AbortSignal,
    type: 'HardDelete' | 'SoftDelete' = 'HardDelete',
  ): Promise<void> {
    await this.#call(
      'DeleteItem',
      address,
      `<m:DeleteItem DeleteType="${type}"><m:ItemIds><t:ItemId Id="${xml(itemId)}"/></m:ItemIds></m:DeleteItem>`,
      signal,
    );
  }

  /** The FolderId of a well-known folder of the user's (GetFolder). */
  async folderId(address: string, name: 'inbox' | 'deleteditems', signal?: AbortSignal) {
    const key = `${address.toLowerCase()} ${name}`;
    const known = this.#folders.get(key);
    if (known) return known;
    const msg = await this.#call(
      'GetFolder',
      address,
      `<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>` +
        `<m:FolderIds>${folder(name, address)}</m:FolderIds></m:GetFolder>`,
      signal,
    );
    const id = (
      msg.getElementsByTagNameNS(NS.t, 'FolderId')[0] as Element | undefined
    )?.getAttribute('Id');
    if (!id)
      throw new EwsError('NoFolderId', `GetFolder answered without the ${name} FolderId`, 200);
    this.#folders.set(key, id);
    return id;
  }

  /** An item's folder, read mark and flag (GetItem); null when no item has that id. */
  async marks(address: string, itemId: string, signal?: AbortSignal) {
    const msg = await this.getItemElement(address, itemId, signal);
    return msg && itemMarks(msg);
  }

  /** GetItem's answer for an item: its folder, read mark, flag and identity; null if none. */
  async getItemElement(
    address: string,
    itemId: string,
    signal?: AbortSignal,
  ): Promise<Element | null> {
    try {
      return await this.#call(
        'GetItem',
        address,
        `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>` +
          `<t:FieldURI FieldURI="item:ParentFolderId"/><t:FieldURI FieldURI="message:IsRead"/>` +
          `<t:FieldURI FieldURI="item:Flag"/>` +
          `<t:ExtendedFieldURI PropertyTag="${hex(INTERNET_MESSAGE_ID)}" PropertyType="String"/>` +
          `</t:AdditionalProperties></m:ItemShape>` +
          `<m:ItemIds><t:ItemId Id="${xml(itemId)}"/></m:ItemIds></m:GetItem>`,
        signal,
      );
    } catch (err) {
      if (err instanceof EwsError && err.code === 'ErrorItemNotFound') return null;
      throw err;
    }
  }

  /**
   * Sets an item's read mark and flag (UpdateItem, SetItemField). Without a ChangeKey and with
   * AlwaysOverwrite: the voicemail's state is the last change, so it wins.
   */
  async mark(
    address: string,
    itemId: string,
    marks: { isRead?: boolean; flagged?: boolean },
    signal?: AbortSignal,
  ) {
    const set = (uri: string, inner: string) =>
      `<t:SetItemField><t:FieldURI FieldURI="${uri}"/><t:Message>${inner}</t:Message></t:SetItemField>`;
    const updates =
      (marks.flagged === undefined
        ? ''
        : set(
            'item:Flag',
            `<t:Flag><t:FlagStatus>${marks.flagged ? 'Flagged' : 'NotFlagged'}</t:FlagStatus></t:Flag>`,
          )) +
      (marks.isRead === undefined
        ? ''
        : set('message:IsRead', `<t:IsRead>${marks.isRead}</t:IsRead>`));
    const msg = await this.#call(
      'UpdateItem',
      address,
      `<m:UpdateItem MessageDisposition="SaveOnly" ConflictResolution="AlwaysOverwrite"><m:ItemChanges>` +
        `<t:ItemChange><t:ItemId Id="${xml(itemId)}"/><t:Updates>${updates}</t:Updates></t:ItemChange>` +
        `</m:ItemChanges></m:UpdateItem>`,
      signal,
    );
    return items(msg)[0] ?? { itemId, changeKey: null, hasAttachments: null };
  }

  /** Moves an item to a well-known folder (MoveItem); returns its new ItemId. */
  async move(address: string, itemId: string, to: 'inbox' | 'deleteditems', signal?: AbortSignal) {
    const msg = await this.#call(
      'MoveItem',
      address,
      `<m:MoveItem><m:ToFolderId>${folder(to, address)}</m:ToFolderId>` +
        `<m:ItemIds><t:ItemId Id="${xml(itemId)}"/></m:ItemIds><m:ReturnNewItemIds>true</m:ReturnNewItemIds></m:MoveItem>`,
      signal,
    );
    const [moved] = items(msg);
    if (!moved?.itemId) throw new EwsError('NoItemId', 'MoveItem answered without an ItemId', 200);
    return moved;
  }

  /**
   * Creates the voicemail in the user's Inbox (CreateItem, MessageDisposition SaveOnly), with
   * the WAV and the properties, in the order of the schema's Item and Message sequences.
   */
  async createInInbox(address: string, v: VoicemailItem, audio: Buffer, signal?: AbortSignal) {
    const strings = v.strings.filter(([tag]) => tag !== VOICE_PROPERTIES.messageClass);
    const message =
      `<t:Message><t:ItemClass>${xml(v.strings.find(([t]) => t === VOICE_PROPERTIES.messageClass)![1])}</t:ItemClass>` +
      `<t:Subject>${xml(v.subject)}</t:Subject>` +
      (v.private ? '<t:Sensitivity>Private</t:Sensitivity>' : '') +
      `<t:Body BodyType="HTML">${xml(v.html)}</t:Body>` +
      `<t:Attachments><t:FileAttachment><t:Name>${xml(v.attachment.name)}</t:Name>` +
      `<t:ContentType>${v.attachment.contentType}</t:ContentType><t:Content>${audio.toString('base64')}</t:Content></t:FileAttachment></t:Attachments>` +
      `<t:Importance>${v.importance === 'high' ? 'High' : 'Normal'}</t:Importance>` +
      prop(VOICE_PROPERTIES.messageFlags, 'Integer', String(NEW_VOICEMAIL_FLAGS)) +
      v.integers
        .filter(([tag]) => tag !== VOICE_PROPERTIES.messageFlags)
        .map(([tag, value]) => prop(tag, 'Integer', String(value)))
        .join('') +
      strings.map(([tag, value]) => prop(tag, 'String', value)).join('') +
      prop(INTERNET_MESSAGE_ID, 'String', v.internetMessageId) +
      prop(DELIVERY_TIME, 'SystemTime', v.receivedAt.toISOString()) +
      `<t:ToRecipients>${mailbox(v.to)}</t:ToRecipients><t:From>${mailbox(v.sender)}</t:From>` +
      `<t:IsRead>false</t:IsRead></t:Message>`;
    const msg = await this.#call(
      'CreateItem',
      address,
      `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>${folder('inbox', address)}</m:SavedItemFolderId>` +
        `<m:Items>${message}</m:Items></m:CreateItem>`,
      signal,
    );
    const [made] = items(msg);
    if (!made?.itemId) throw new EwsError('NoItemId', 'CreateItem answered without an ItemId', 200);
    return made;
  }
}

/** The folder id, read mark and flag of the first item in a response message. */
export function itemMarks(el: Element): { folderId: string; isRead: boolean; flagged: boolean } {
  const tag = (name: string) => el.getElementsByTagNameNS(NS.t, name)[0] as Element | undefined;
  const status = text(tag('FlagStatus') ?? null);
  return {
    folderId: tag('ParentFolderId')?.getAttribute('Id') ?? '',
    isRead: text(tag('IsRead') ?? null) === 'true',
    flagged: status === 'Flagged' || status === 'Complete',
  };
}
