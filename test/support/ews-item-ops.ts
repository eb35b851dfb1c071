/**
 * The item operations the EWS test server answers (CreateItem, DeleteItem, GetFolder, GetItem,
 * UpdateItem, MoveItem), each checked as Exchange checks it and naming its source (MS-OXWS* or
 * the EWS reference on learn.microsoft.com).
 */
import type { ServerResponse } from 'node:http';
import type { Element } from '@xmldom/xmldom';
import { FOLDER_IDS, newId, newKey, type EwsItem, type EwsMailboxes } from './ews-items.ts';
import { idOf, mailXml, messageXml, tagOf } from './ews-item-xml.ts';
import { errorMessage, first, kids, noMailbox, notFound, NS, ok, txt } from './ews-wire.ts';

/**
 * CreateItem (MS-OXWSCORE 3.1.4.2, "CreateItem operation (email message)"): MessageDisposition
 * SaveOnly into SavedItemFolderId; the answer carries the new ItemId and ChangeKey.
 */
export function createItem(
  boxes: EwsMailboxes,
  res: ServerResponse,
  op: Element,
  impersonating: string | null,
): void {
  if (op.getAttribute('MessageDisposition') !== 'SaveOnly')
    return errorMessage(
      res,
      'CreateItem',
      'ErrorInvalidRequest',
      'Only SaveOnly is accepted here.',
    );
  const saved = first(op, NS.m, 'SavedItemFolderId');
  const where = saved && boxes.folders(saved, impersonating);
  if (!where || where.folders[0] !== 'inbox') return noMailbox(res, 'CreateItem');
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
  const version = boxes.nextSeq();
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
  boxes.items(where.address).push(item);
  ok(res, 'CreateItem', `<m:Items><t:Message>${idOf(item)}</t:Message></m:Items>`);
}

/**
 * DeleteItem (MS-OXWSCORE 3.1.4.3): HardDelete removes the items for good, SoftDelete into
 * Recoverable Items (out of every folder a client sees: the same here).
 */
export function deleteItem(boxes: EwsMailboxes, res: ServerResponse, op: Element): void {
  const type = op.getAttribute('DeleteType');
  if (type !== 'HardDelete' && type !== 'SoftDelete' && type !== 'MoveToDeletedItems')
    return errorMessage(res, 'DeleteItem', 'ErrorInvalidRequest', 'DeleteType is required.');
  for (const id of kids(op, NS.t, 'ItemId')) {
    const found = boxes.find(id.getAttribute('Id') ?? '');
    if (!found) return notFound(res, 'DeleteItem');
    if (type === 'MoveToDeletedItems') boxes.move(found.item.itemId, 'deleteditems');
    else boxes.purge(found.item.itemId);
  }
  ok(res, 'DeleteItem', '');
}

/** GetFolder ("GetFolder operation"): a well-known folder's FolderId. */
export function getFolder(
  boxes: EwsMailboxes,
  res: ServerResponse,
  op: Element,
  impersonating: string | null,
): void {
  const ids = first(op, NS.m, 'FolderIds');
  const where = ids && boxes.folders(ids, impersonating);
  if (!where || where.folders.length !== 1) return noMailbox(res, 'GetFolder');
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
export function getItem(boxes: EwsMailboxes, res: ServerResponse, op: Element): void {
  const id = first(first(op, NS.m, 'ItemIds')!, NS.t, 'ItemId');
  const found = id && boxes.find(id.getAttribute('Id') ?? '');
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
export function updateItem(boxes: EwsMailboxes, res: ServerResponse, op: Element): void {
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
    const found = boxes.find(id.getAttribute('Id') ?? '');
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
      if (uri === 'message:IsRead') found.item.isRead = txt(first(set, NS.t, 'IsRead')) === 'true';
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
    boxes.touch(found.item);
    changed.push(found.item);
  }
  ok(
    res,
    'UpdateItem',
    `<m:Items>${changed.map((i) => `<t:Message>${idOf(i)}</t:Message>`).join('')}</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`,
  );
}

/** MoveItem ("MoveItem operation"): into a well-known folder; the moved item's new ItemId. */
export function moveItem(
  boxes: EwsMailboxes,
  res: ServerResponse,
  op: Element,
  impersonating: string | null,
): void {
  const to = first(op, NS.m, 'ToFolderId');
  const where = to && boxes.folders(to, impersonating);
  if (!where) return noMailbox(res, 'MoveItem');
  const moved: string[] = [];
  for (const id of kids(first(op, NS.m, 'ItemIds')!, NS.t, 'ItemId')) {
    const found = boxes.find(id.getAttribute('Id') ?? '');
    if (!found) return notFound(res, 'MoveItem');
    const newItemId = boxes.move(found.item.itemId, where.folders[0]!);
    moved.push(`<t:Message>${idOf(boxes.find(newItemId)!.item)}</t:Message>`);
  }
  ok(res, 'MoveItem', `<m:Items>${moved.join('')}</m:Items>`);
}
