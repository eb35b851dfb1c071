/**
 * The EWS test server's mailboxes and the item operations it answers, each checked as Exchange
 * checks it and naming its source (MS-OXWS* or the EWS reference on learn.microsoft.com). More
 * lenient than Exchange: no XSD validation beyond the elements read, ItemIds are random strings
 * rather than store entry ids, and a sync state is a change counter.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Element } from '@xmldom/xmldom';
import { errorMessage, esc, first, kids, NS, ok, txt } from './ews-wire.ts';

export type EwsFolder = 'inbox' | 'deleteditems' | 'archive';

export interface EwsItem {
  itemId: string;
  changeKey: string;
  folder: EwsFolder;
  itemClass: string;
  subject: string;
  body: string;
  isRead: boolean;
  flag: 'NotFlagged' | 'Flagged' | 'Complete';
  /** Extended properties by `0xTAG` (upper-case hex). */
  props: Map<string, string>;
  attachments: { name: string; contentType: string; bytes: Buffer; isInline?: boolean }[];
  /** An e-mail received (`receive`): its sender, when sent and received, its body's type. */
  mail?: {
    from: { name: string; address: string };
    sentAt: number;
    receivedAt: number;
    html: boolean;
  };
  /** The change counter when it came into its folder, and when it last changed. */
  arrived: number;
  version: number;
}

export const FOLDER_IDS: Record<EwsFolder, string> = {
  inbox: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADInbox',
  deleteditems: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADTrash',
  archive: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADArchive',
};
const newId = () => `AAMkAD${randomBytes(24).toString('base64')}`;
const newKey = () => `CQAAABYA${randomBytes(9).toString('base64')}`;
const tagOf = (uri: Element) =>
  `0x${Number(uri.getAttribute('PropertyTag')).toString(16).toUpperCase().padStart(4, '0')}`;

export class EwsMailboxes {
  readonly mailboxes = new Map<string, EwsItem[]>();
  /** Rises with every change: what sync states count. */
  #seq = 0;
  /** Items that left a folder (moved out or deleted): their old id, when. */
  readonly #left = new Map<string, { folder: EwsFolder; itemId: string; at: number }[]>();

  items(address: string): EwsItem[] {
    return this.mailboxes.get(address.toLowerCase()) ?? [];
  }

  #leftOf(address: string) {
    let left = this.#left.get(address.toLowerCase());
    if (!left) this.#left.set(address.toLowerCase(), (left = []));
    return left;
  }

  #find(itemId: string): { address: string; box: EwsItem[]; item: EwsItem } | null {
    for (const [address, box] of this.mailboxes) {
      const item = box.find((i) => i.itemId === itemId);
      if (item) return { address, box, item };
    }
    return null;
  }

  #touch(item: EwsItem): void {
    item.version = ++this.#seq;
    item.changeKey = newKey();
  }

  /** What a user does in Outlook: read or unread, flag, move (a new ItemId), delete for good. */
  setRead(itemId: string, isRead: boolean): void {
    const item = this.#find(itemId)!.item;
    item.isRead = isRead;
    this.#touch(item);
  }

  setFlag(itemId: string, flag: EwsItem['flag']): void {
    const item = this.#find(itemId)!.item;
    item.flag = flag;
    this.#touch(item);
  }

  /** Moves an item; like Exchange, it then has a new ItemId (returned). */
  move(itemId: string, folder: EwsFolder): string {
    const { address, item } = this.#find(itemId)!;
    this.#leftOf(address).push({ folder: item.folder, itemId, at: ++this.#seq });
    item.folder = folder;
    item.itemId = newId();
    this.#touch(item);
    item.arrived = item.version;
    return item.itemId;
  }

  /** An e-mail that arrives in the user's Inbox (what a sender's mail server would bring). */
  receive(
    address: string,
    e: {
      subject: string;
      from: { name: string; address: string };
      body: string;
      html: boolean;
      receivedAt: Date;
      attachments?: EwsItem['attachments'];
      itemClass?: string;
    },
  ): EwsItem {
    const version = ++this.#seq;
    const item: EwsItem = {
      itemId: newId(),
      changeKey: newKey(),
      folder: 'inbox',
      itemClass: e.itemClass ?? 'IPM.Note',
      subject: e.subject,
      body: e.body,
      isRead: false,
      flag: 'NotFlagged',
      props: new Map(),
      attachments: e.attachments ?? [],
      mail: {
        from: e.from,
        sentAt: e.receivedAt.getTime() - 60_000,
        receivedAt: e.receivedAt.getTime(),
        html: e.html,
      },
      arrived: version,
      version,
    };
    this.items(address).push(item);
    return item;
  }

  purge(itemId: string): void {
    const { address, box, item } = this.#find(itemId)!;
    box.splice(box.indexOf(item), 1);
    this.#leftOf(address).push({ folder: item.folder, itemId, at: ++this.#seq });
  }

  /** The mailbox a folder element names (its Mailbox, else the impersonated user). */
  #mailbox(df: Element | null, impersonating: string | null): string | null {
    const address = txt(df && first(df, NS.t, 'EmailAddress')).toLowerCase() || impersonating;
    return address && this.mailboxes.has(address) ? address : null;
  }

  /** The folders named by DistinguishedFolderIds under `el`, and their mailbox. */
  #folders(el: Element, impersonating: string | null) {
    const named = kids(el, NS.t, 'DistinguishedFolderId');
    const address = named.length ? this.#mailbox(named[0]!, impersonating) : null;
    const folders = named.map((f) => f.getAttribute('Id') as EwsFolder);
    if (!address || folders.some((f) => !(f in FOLDER_IDS))) return null;
    return { address, folders };
  }

  #noMailbox(res: ServerResponse, op: string): void {
    errorMessage(
      res,
      op,
      'ErrorNonExistentMailbox',
      'The SMTP address has no mailbox associated with it.',
    );
  }

  /**
   * CreateItem (MS-OXWSCORE 3.1.4.2, "CreateItem operation (email message)"): MessageDisposition
   * SaveOnly into SavedItemFolderId; the answer carries the new ItemId and ChangeKey.
   */
  create(res: ServerResponse, op: Element, impersonating: string | null): void {
    if (op.getAttribute('MessageDisposition') !== 'SaveOnly')
      return errorMessage(
        res,
        'CreateItem',
        'ErrorInvalidRequest',
        'Only SaveOnly is accepted here.',
      );
    const saved = first(op, NS.m, 'SavedItemFolderId');
    const where = saved && this.#folders(saved, impersonating);
    if (!where || where.folders[0] !== 'inbox') return this.#noMailbox(res, 'CreateItem');
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
      props.set(tagOf(uri), txt(first(p, NS.t, 'Value')));
    }
    const flags = props.has('0x0E07') ? Number(props.get('0x0E07')) : null;
    const version = ++this.#seq;
    const item: EwsItem = {
      itemId: newId(),
      changeKey: newKey(),
      folder: 'inbox',
      itemClass: txt(first(msg, NS.t, 'ItemClass')) || 'IPM.Note',
      subject: txt(first(msg, NS.t, 'Subject')),
      body: txt(first(msg, NS.t, 'Body')),
      // IsRead as given; else the flags' MSGFLAG_READ (Import items by using EWS).
      isRead: first(msg, NS.t, 'IsRead')
        ? txt(first(msg, NS.t, 'IsRead')) === 'true'
        : flags !== null && (flags & 1) !== 0,
      flag: 'NotFlagged',
      props,
      attachments: kids(msg, NS.t, 'FileAttachment').map((a) => ({
        name: txt(first(a, NS.t, 'Name')),
        contentType: txt(first(a, NS.t, 'ContentType')),
        bytes: Buffer.from(txt(first(a, NS.t, 'Content')), 'base64'),
      })),
      arrived: version,
      version,
    };
    // Without PidTagMessageFlags a saved message is unsent: a draft (Thunderbird's EWS client notes
    // the server then sets MSGFLAG_UNSENT | MSGFLAG_UNMODIFIED).
    if (flags === null) item.props.set('0x0E07', String(0x8 | 0x2));
    this.items(where.address).push(item);
    ok(res, 'CreateItem', `<m:Items><t:Message>${idOf(item)}</t:Message></m:Items>`);
  }

  /**
   * DeleteItem (MS-OXWSCORE 3.1.4.3): HardDelete removes the items for good, SoftDelete into
   * Recoverable Items (out of every folder a client sees: the same here).
   */
  delete(res: ServerResponse, op: Element): void {
    const type = op.getAttribute('DeleteType');
    if (type !== 'HardDelete' && type !== 'SoftDelete' && type !== 'MoveToDeletedItems')
      return errorMessage(res, 'DeleteItem', 'ErrorInvalidRequest', 'DeleteType is required.');
    for (const id of kids(op, NS.t, 'ItemId')) {
      const found = this.#find(id.getAttribute('Id') ?? '');
      if (!found) return notFound(res, 'DeleteItem');
      if (type === 'MoveToDeletedItems') this.move(found.item.itemId, 'deleteditems');
      else this.purge(found.item.itemId);
    }
    ok(res, 'DeleteItem', '');
  }

  /**
   * FindItem (MS-OXWSSRCH, "FindItem operation"): Shallow traversal of the folders named, with
   * an IsEqualTo restriction on an extended property; IdOnly plus HasAttachments.
   */
  findItem(res: ServerResponse, op: Element, impersonating: string | null): void {
    const parents = first(op, NS.m, 'ParentFolderIds');
    const where = parents && this.#folders(parents, impersonating);
    if (!where) return this.#noMailbox(res, 'FindItem');
    const eq = first(op, NS.t, 'IsEqualTo');
    if (eq && first(eq, NS.t, 'FieldURI')?.getAttribute('FieldURI') === 'message:IsRead')
      return this.#findUnread(res, op, eq, where);
    const uri = eq && first(eq, NS.t, 'ExtendedFieldURI');
    const constant = eq && first(eq, NS.t, 'Constant');
    if (!uri || !constant)
      return errorMessage(
        res,
        'FindItem',
        'ErrorInvalidRestriction',
        'Only IsEqualTo on an extended property is supported here.',
      );
    const found = this.items(where.address).filter(
      (i) =>
        where.folders.includes(i.folder) &&
        i.props.get(tagOf(uri)) === constant.getAttribute('Value'),
    );
    const xmlItems = found
      .map(
        (i) =>
          `<t:Message>${idOf(i)}<t:HasAttachments>${i.attachments.length > 0}</t:HasAttachments></t:Message>`,
      )
      .join('');
    ok(
      res,
      'FindItem',
      `<m:RootFolder IndexedPagingOffset="${found.length}" TotalItemsInView="${found.length}" IncludesLastItemInRange="true"><t:Items>${xmlItems}</t:Items></m:RootFolder>`,
    );
  }

  /**
   * FindItem with an IsEqualTo restriction on message:IsRead ("IsEqualTo", "FindItem
   * operation"), SortOrder on item:DateTimeReceived ("FieldOrder"), and an IndexedPageItemView
   * (MaxEntriesReturned, Offset; the answer's IncludesLastItemInRange). The item class comes
   * with each when AdditionalProperties name item:ItemClass.
   */
  #findUnread(
    res: ServerResponse,
    op: Element,
    eq: Element,
    where: { address: string; folders: EwsFolder[] },
  ): void {
    const value = first(eq, NS.t, 'Constant')?.getAttribute('Value');
    if (value !== 'true' && value !== 'false')
      return errorMessage(res, 'FindItem', 'ErrorInvalidValueForProperty', 'IsRead is a Boolean.');
    const view = first(op, NS.m, 'IndexedPageItemView');
    const max = Number(view?.getAttribute('MaxEntriesReturned') ?? 1000);
    const offset = Number(view?.getAttribute('Offset') ?? 0);
    if (!Number.isInteger(max) || max < 1 || !Number.isInteger(offset) || offset < 0)
      return errorMessage(res, 'FindItem', 'ErrorInvalidPagingMaxRows', 'Invalid paging.');
    const order = first(op, NS.m, 'SortOrder');
    const by = order && first(order, NS.t, 'FieldURI')?.getAttribute('FieldURI');
    if (order && by !== 'item:DateTimeReceived')
      return errorMessage(
        res,
        'FindItem',
        'ErrorInvalidRequest',
        'Sorted by DateTimeReceived only here.',
      );
    const descending =
      first(order ?? op, NS.t, 'FieldOrder')?.getAttribute('Order') === 'Descending';
    const received = (i: EwsItem) => i.mail?.receivedAt ?? i.arrived;
    const found = this.items(where.address)
      .filter((i) => where.folders.includes(i.folder) && i.isRead === (value === 'true'))
      .sort((a, b) =>
        order ? (descending ? received(b) - received(a) : received(a) - received(b)) : 0,
      );
    const page = found.slice(offset, offset + max);
    const withClass = Array.from(op.getElementsByTagNameNS(NS.t, 'FieldURI')).some(
      (f) => (f as Element).getAttribute('FieldURI') === 'item:ItemClass',
    );
    const xmlItems = page
      .map(
        (i) =>
          `<t:Message>${idOf(i)}${withClass ? `<t:ItemClass>${esc(i.itemClass)}</t:ItemClass>` : ''}</t:Message>`,
      )
      .join('');
    ok(
      res,
      'FindItem',
      `<m:RootFolder IndexedPagingOffset="${offset + page.length}" TotalItemsInView="${found.length}" IncludesLastItemInRange="${offset + page.length >= found.length}"><t:Items>${xmlItems}</t:Items></m:RootFolder>`,
    );
  }

  /** GetFolder ("GetFolder operation"): a well-known folder's FolderId. */
  getFolder(res: ServerResponse, op: Element, impersonating: string | null): void {
    const ids = first(op, NS.m, 'FolderIds');
    const where = ids && this.#folders(ids, impersonating);
    if (!where || where.folders.length !== 1) return this.#noMailbox(res, 'GetFolder');
    ok(
      res,
      'GetFolder',
      `<m:Folders><t:Folder><t:FolderId Id="${FOLDER_IDS[where.folders[0]!]}" ChangeKey="AQAAAA=="/></t:Folder></m:Folders>`,
    );
  }

  /**
   * GetItem ("GetItem operation (email message)"): IdOnly with ParentFolderId, IsRead and Flag
   * (Flag from Exchange 2013); an unknown ItemId is ErrorItemNotFound.
   */
  getItem(res: ServerResponse, op: Element): void {
    const id = first(first(op, NS.m, 'ItemIds')!, NS.t, 'ItemId');
    const found = id && this.#find(id.getAttribute('Id') ?? '');
    if (!found) return notFound(res, 'GetItem');
    const wantsBody = Array.from(op.getElementsByTagNameNS(NS.t, 'FieldURI')).some(
      (f) => (f as Element).getAttribute('FieldURI') === 'item:Body',
    );
    const bodyType = txt(first(op, NS.t, 'BodyType')) || 'Best';
    ok(
      res,
      'GetItem',
      `<m:Items>${wantsBody ? mailXml(found.item, bodyType) : messageXml(found.item)}</m:Items>`,
    );
  }

  /**
   * UpdateItem ("UpdateItem operation"): SetItemField of message:IsRead and item:Flag. With a
   * ChangeKey that is not the item's and ConflictResolution NeverOverwrite, ErrorIrresolvableConflict.
   */
  updateItem(res: ServerResponse, op: Element): void {
    const mode = op.getAttribute('ConflictResolution');
    if (!mode)
      return errorMessage(
        res,
        'UpdateItem',
        'ErrorInvalidRequest',
        'ConflictResolution is required.',
      );
    const changed: EwsItem[] = [];
    for (const change of kids(op, NS.t, 'ItemChange')) {
      const id = first(change, NS.t, 'ItemId')!;
      const found = this.#find(id.getAttribute('Id') ?? '');
      if (!found) return notFound(res, 'UpdateItem');
      const key = id.getAttribute('ChangeKey');
      if (key && key !== found.item.changeKey && mode === 'NeverOverwrite')
        return errorMessage(
          res,
          'UpdateItem',
          'ErrorIrresolvableConflict',
          'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
        );
      for (const set of kids(change, NS.t, 'SetItemField')) {
        const uri = first(set, NS.t, 'FieldURI')?.getAttribute('FieldURI');
        if (uri === 'message:IsRead')
          found.item.isRead = txt(first(set, NS.t, 'IsRead')) === 'true';
        else if (uri === 'item:Flag') {
          const status = txt(first(set, NS.t, 'FlagStatus'));
          if (status !== 'Flagged' && status !== 'NotFlagged' && status !== 'Complete')
            return errorMessage(
              res,
              'UpdateItem',
              'ErrorInvalidValueForProperty',
              'FlagStatus is invalid.',
            );
          found.item.flag = status;
        } else
          return errorMessage(
            res,
            'UpdateItem',
            'ErrorInvalidPropertySet',
            `${uri} is not updated by this test server.`,
          );
      }
      this.#touch(found.item);
      changed.push(found.item);
    }
    ok(
      res,
      'UpdateItem',
      `<m:Items>${changed.map((i) => `<t:Message>${idOf(i)}</t:Message>`).join('')}</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`,
    );
  }

  /** MoveItem ("MoveItem operation"): into a well-known folder; the moved item's new ItemId. */
  moveItem(res: ServerResponse, op: Element, impersonating: string | null): void {
    const to = first(op, NS.m, 'ToFolderId');
    const where = to && this.#folders(to, impersonating);
    if (!where) return this.#noMailbox(res, 'MoveItem');
    const moved: string[] = [];
    for (const id of kids(first(op, NS.m, 'ItemIds')!, NS.t, 'ItemId')) {
      const found = this.#find(id.getAttribute('Id') ?? '');
      if (!found) return notFound(res, 'MoveItem');
      const newItemId = this.move(found.item.itemId, where.folders[0]!);
      moved.push(`<t:Message>${idOf(this.#find(newItemId)!.item)}</t:Message>`);
    }
    ok(res, 'MoveItem', `<m:Items>${moved.join('')}</m:Items>`);
  }

  /**
   * SyncFolderItems ("SyncFolderItems operation"): the changes of one folder since SyncState
   * (none: every item as a Create), Create/Update/ReadFlagChange/Delete, in at most
   * MaxChangesReturned (1-512); an unknown SyncState is ErrorInvalidSyncStateData.
   */
  syncFolderItems(res: ServerResponse, op: Element, impersonating: string | null): void {
    const folderEl = first(op, NS.m, 'SyncFolderId');
    const where = folderEl && this.#folders(folderEl, impersonating);
    if (!where) return this.#noMailbox(res, 'SyncFolderItems');
    const max = Number(txt(first(op, NS.m, 'MaxChangesReturned')));
    if (!Number.isInteger(max) || max < 1 || max > 512)
      return errorMessage(
        res,
        'SyncFolderItems',
        'ErrorInvalidRequest',
        'MaxChangesReturned must be 1 to 512.',
      );
    const state = txt(first(op, NS.m, 'SyncState'));
    const since = state
      ? Number(/^seq:(\d+)$/.exec(Buffer.from(state, 'base64').toString())?.[1] ?? NaN)
      : 0;
    if (!Number.isInteger(since) || since > this.#seq)
      return errorMessage(
        res,
        'SyncFolderItems',
        'ErrorInvalidSyncStateData',
        'Synchronization state data is corrupt or otherwise invalid.',
      );
    const folder = where.folders[0]!;
    const changes: { at: number; xml: string }[] = [];
    for (const i of this.items(where.address))
      if (i.folder === folder && i.version > since)
        changes.push({
          at: i.version,
          xml:
            i.arrived > since
              ? `<t:Create>${messageXml(i)}</t:Create>`
              : `<t:Update>${messageXml(i)}</t:Update>`,
        });
    for (const l of this.#leftOf(where.address))
      if (l.folder === folder && l.at > since)
        changes.push({ at: l.at, xml: `<t:Delete><t:ItemId Id="${esc(l.itemId)}"/></t:Delete>` });
    changes.sort((a, b) => a.at - b.at);
    const page = changes.slice(0, max);
    const reached = page.length < changes.length ? page.at(-1)!.at : this.#seq;
    ok(
      res,
      'SyncFolderItems',
      `<m:SyncState>${Buffer.from(`seq:${reached}`).toString('base64')}</m:SyncState>` +
        `<m:IncludesLastItemInRange>${page.length === changes.length}</m:IncludesLastItemInRange>` +
        `<m:Changes>${page.map((c) => c.xml).join('')}</m:Changes>`,
    );
  }
}

function idOf(i: EwsItem): string {
  return `<t:ItemId Id="${esc(i.itemId)}" ChangeKey="${esc(i.changeKey)}"/>`;
}

/** An item as GetItem and SyncFolderItems show it: ItemType's fields, then MessageType's. */
function messageXml(i: EwsItem): string {
  return (
    `<t:Message>${idOf(i)}<t:ParentFolderId Id="${FOLDER_IDS[i.folder]}" ChangeKey="AQAAAA=="/>` +
    `<t:ItemClass>${esc(i.itemClass)}</t:ItemClass>` +
    `<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1035" PropertyType="String"/><t:Value>${esc(i.props.get('0x1035') ?? '')}</t:Value></t:ExtendedProperty>` +
    `<t:Flag><t:FlagStatus>${i.flag}</t:FlagStatus></t:Flag><t:IsRead>${i.isRead}</t:IsRead></t:Message>`
  );
}

/**
 * An e-mail as GetItem shows it with Subject, Body (in the BodyType asked: HTML, Text or Best),
 * Attachments (names and types), DateTimeReceived, DateTimeSent and From, in ItemType's and
 * MessageType's order ("GetItem operation (email message)").
 */
function mailXml(i: EwsItem, bodyType: string): string {
  const html = i.mail?.html ?? true;
  const asText = bodyType === 'Text' && html;
  const body = asText ? i.body.replace(/<[^>]*>/g, ' ') : i.body;
  const type = bodyType === 'Text' || (bodyType === 'Best' && !html) || !html ? 'Text' : 'HTML';
  const attachments = i.attachments.length
    ? `<t:Attachments>${i.attachments
        .map(
          (a) =>
            `<t:FileAttachment><t:AttachmentId Id="${esc(i.itemId)}-${esc(a.name)}"/><t:Name>${esc(a.name)}</t:Name>` +
            `<t:ContentType>${esc(a.contentType)}</t:ContentType><t:Size>${a.bytes.length}</t:Size>` +
            `<t:IsInline>${a.isInline ?? false}</t:IsInline></t:FileAttachment>`,
        )
        .join('')}</t:Attachments>`
    : '';
  const mail = i.mail;
  return (
    `<t:Message>${idOf(i)}<t:Subject>${esc(i.subject)}</t:Subject>` +
    `<t:Body BodyType="${type}">${esc(body)}</t:Body>${attachments}` +
    (mail
      ? `<t:DateTimeReceived>${new Date(mail.receivedAt).toISOString().replace(/\.\d+Z$/, 'Z')}</t:DateTimeReceived>` +
        `<t:DateTimeSent>${new Date(mail.sentAt).toISOString().replace(/\.\d+Z$/, 'Z')}</t:DateTimeSent>` +
        `<t:From><t:Mailbox><t:Name>${esc(mail.from.name)}</t:Name><t:EmailAddress>${esc(mail.from.address)}</t:EmailAddress></t:Mailbox></t:From>`
      : '') +
    `</t:Message>`
  );
}

function notFound(res: ServerResponse, op: string): void {
  errorMessage(res, op, 'ErrorItemNotFound', 'The specified object was not found in the store.');
}
