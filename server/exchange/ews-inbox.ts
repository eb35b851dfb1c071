/**
 * A user's unread e-mail in Exchange Server, read by phone over EWS as the connection's service
 * account (impersonation or delegate access, as for delivery): FindItem of the Inbox's unread
 * items newest first, GetItem of each (sender, sent time, subject, HTML body, attachments), and
 * what the caller's keys do (UpdateItem IsRead, MoveItem to Deleted Items).
 */
import type { Element } from '@xmldom/xmldom';
import type { SourceEmail, SourceInbox } from '../domain/email-reading.ts';
import type { EwsClient } from './ews-client.ts';
import { folder, NS, text, xml } from './ews-soap.ts';
import { isVoicemailClass, readingError, type InboxOptions } from './inbox-common.ts';

/** Pages of unread items looked through for e-mail that is not voicemail. */
const MAX_PAGES = 5;

const field = (uri: string) => `<t:FieldURI FieldURI="${uri}"/>`;
const child = (el: Element, name: string) =>
  (el.getElementsByTagNameNS(NS.t, name)[0] as Element | undefined) ?? null;

export async function openEwsInbox(
  client: EwsClient,
  address: string,
  opts: InboxOptions,
): Promise<SourceInbox> {
  let emails: SourceEmail[];
  try {
    const signal = AbortSignal.timeout(opts.timeoutMs);
    const ids = await unread(client, address, opts.maxPerCall, signal);
    emails = await Promise.all(ids.map((id) => email(client, address, id, signal)));
  } catch (err) {
    throw readingError(err, address);
  }
  const command = async (run: (signal: AbortSignal) => Promise<unknown>) => {
    try {
      await run(AbortSignal.timeout(opts.timeoutMs));
    } catch (err) {
      throw readingError(err, address, 'UNAVAILABLE');
    }
  };
  return {
    emails,
    markRead: (id) => command((s) => client.mark(address, id, { isRead: true }, s)),
    leaveUnread: (id) => command((s) => client.mark(address, id, { isRead: false }, s)),
    // Moved, as Outlook's Delete does: to the user's Deleted Items, not purged.
    trash: (id) => command((s) => client.move(address, id, 'deleteditems', s)),
    close: async () => {},
  };
}

/**
 * FindItem ("FindItem operation"; elements in the schema's order: ItemShape, the paged view,
 * Restriction, SortOrder, ParentFolderIds): unread items of the Inbox, newest received first,
 * with their class so voicemail items are left out.
 */
async function unread(
  client: EwsClient,
  address: string,
  max: number,
  signal: AbortSignal,
): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 0, offset = 0; page < MAX_PAGES && ids.length < max; page++) {
    const msg = await client.call(
      'FindItem',
      address,
      `<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>` +
        `<t:AdditionalProperties>${field('item:ItemClass')}</t:AdditionalProperties></m:ItemShape>` +
        `<m:IndexedPageItemView MaxEntriesReturned="${max}" Offset="${offset}" BasePoint="Beginning"/>` +
        `<m:Restriction><t:IsEqualTo>${field('message:IsRead')}` +
        `<t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>` +
        `<m:SortOrder><t:FieldOrder Order="Descending">${field('item:DateTimeReceived')}</t:FieldOrder></m:SortOrder>` +
        `<m:ParentFolderIds>${folder('inbox', address)}</m:ParentFolderIds></m:FindItem>`,
      signal,
    );
    const root = msg.getElementsByTagNameNS(NS.m, 'RootFolder')[0] as Element | undefined;
    const items = root
      ? (Array.from(root.getElementsByTagNameNS(NS.t, 'ItemId')) as Element[])
      : [];
    for (const id of items) {
      const item = id.parentNode as Element;
      if (!isVoicemailClass(text(child(item, 'ItemClass'))) && ids.length < max)
        ids.push(id.getAttribute('Id') ?? '');
    }
    offset += items.length;
    if (items.length === 0 || root?.getAttribute('IncludesLastItemInRange') === 'true') break;
  }
  return ids;
}

/** GetItem ("GetItem operation (email message)"): what the phone says of one e-mail. */
async function email(
  client: EwsClient,
  address: string,
  itemId: string,
  signal: AbortSignal,
): Promise<SourceEmail> {
  const msg = await client.call(
    'GetItem',
    address,
    `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>HTML</t:BodyType>` +
      `<t:AdditionalProperties>${['item:Subject', 'item:DateTimeSent', 'item:DateTimeReceived', 'message:From', 'item:Body', 'item:Attachments'].map(field).join('')}` +
      `</t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="${xml(itemId)}"/></m:ItemIds></m:GetItem>`,
    signal,
  );
  const from = child(msg, 'From');
  const body = child(msg, 'Body');
  const sent = Date.parse(text(child(msg, 'DateTimeSent')) || text(child(msg, 'DateTimeReceived')));
  const attachments = (Array.from(msg.getElementsByTagNameNS(NS.t, 'FileAttachment')) as Element[])
    // Pictures shown in the text are not named.
    .filter((a) => text(child(a, 'IsInline')) !== 'true')
    .map((a) => ({ name: text(child(a, 'Name')), contentType: text(child(a, 'ContentType')) }));
  return {
    id: itemId,
    fromName: text(from && child(from, 'Name')),
    fromAddress: text(from && child(from, 'EmailAddress')),
    sentAt: Number.isNaN(sent) ? Date.now() : sent,
    subject: text(child(msg, 'Subject')),
    body: {
      html: body?.getAttribute('BodyType') === 'HTML',
      content: body?.textContent ?? '',
    },
    attachments,
  };
}
