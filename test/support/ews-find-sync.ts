/**
 * The EWS test server's searches and folder syncs (FindItem, SyncFolderItems), checked as
 * Exchange checks them and naming their source; a sync state is the mailboxes' change counter.
 */
import type { ServerResponse } from 'node:http';
import type { Element } from '@xmldom/xmldom';
import type { EwsFolder, EwsItem, EwsMailboxes } from './ews-items.ts';
import { idOf, messageXml, tagOf } from './ews-item-xml.ts';
import { errorMessage, esc, first, noMailbox, NS, ok, txt } from './ews-wire.ts';

/**
 * FindItem (MS-OXWSSRCH, "FindItem operation"): Shallow traversal of the folders named, with
 * an IsEqualTo restriction on an extended property; IdOnly plus HasAttachments.
 */
export function findItem(
  boxes: EwsMailboxes,
  res: ServerResponse,
  op: Element,
  impersonating: string | null,
): void {
  const parents = first(op, NS.m, 'ParentFolderIds');
  const where = parents && boxes.folders(parents, impersonating);
  if (!where) return noMailbox(res, 'FindItem');
  const eq = first(op, NS.t, 'IsEqualTo');
  if (eq && first(eq, NS.t, 'FieldURI')?.getAttribute('FieldURI') === 'message:IsRead')
    return findUnread(boxes, res, op, eq, where);
  const uri = eq && first(eq, NS.t, 'ExtendedFieldURI');
  const constant = eq && first(eq, NS.t, 'Constant');
  if (!uri || !constant)
    return errorMessage(
      res,
      'FindItem',
      'ErrorInvalidRestriction',
      'Only IsEqualTo on an extended property is supported here.',
    );
  const found = boxes
    .items(where.address)
    .filter(
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
function findUnread(
  boxes: EwsMailboxes,
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
  const descending = first(order ?? op, NS.t, 'FieldOrder')?.getAttribute('Order') === 'Descending';
  const received = (i: EwsItem) => i.mail?.receivedAt ?? i.arrived;
  const found = boxes
    .items(where.address)
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

/**
 * SyncFolderItems ("SyncFolderItems operation"): the changes of one folder since SyncState
 * (none: every item as a Create), Create/Update/ReadFlagChange/Delete, in at most
 * MaxChangesReturned (1-512); an unknown SyncState is ErrorInvalidSyncStateData.
 */
export function syncFolderItems(
  boxes: EwsMailboxes,
  res: ServerResponse,
  op: Element,
  impersonating: string | null,
): void {
  const folderEl = first(op, NS.m, 'SyncFolderId');
  const where = folderEl && boxes.folders(folderEl, impersonating);
  if (!where) return noMailbox(res, 'SyncFolderItems');
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
  if (!Number.isInteger(since) || since > boxes.seq)
    return errorMessage(
      res,
      'SyncFolderItems',
      'ErrorInvalidSyncStateData',
      'Synchronization state data is corrupt or otherwise invalid.',
    );
  const folder = where.folders[0]!;
  const changes: { at: number; xml: string }[] = [];
  for (const i of boxes.items(where.address))
    if (i.folder === folder && i.version > since)
      changes.push({
        at: i.version,
        xml:
          i.arrived > since
            ? `<t:Create>${messageXml(i)}</t:Create>`
            : `<t:Update>${messageXml(i)}</t:Update>`,
      });
  for (const l of boxes.leftOf(where.address))
    if (l.folder === folder && l.at > since)
      changes.push({ at: l.at, xml: `<t:Delete><t:ItemId Id="${esc(l.itemId)}"/></t:Delete>` });
  changes.sort((a, b) => a.at - b.at);
  const page = changes.slice(0, max);
  const reached = page.length < changes.length ? page.at(-1)!.at : boxes.seq;
  ok(
    res,
    'SyncFolderItems',
    `<m:SyncState>${Buffer.from(`seq:${reached}`).toString('base64')}</m:SyncState>` +
      `<m:IncludesLastItemInRange>${page.length === changes.length}</m:IncludesLastItemInRange>` +
      `<m:Changes>${page.map((c) => c.xml).join('')}</m:Changes>`,
  );
}
