/** How the EWS test server writes an item (its ids, as GetItem and SyncFolderItems show it) and reads a property tag. */
import type { Element } from '@xmldom/xmldom';
import { FOLDER_IDS, type EwsItem } from './ews-items.ts';
import { esc } from './ews-wire.ts';

export const tagOf = (uri: Element) =>
  `0x${Number(uri.getAttribute('PropertyTag')).toString(16).toUpperCase().padStart(4, '0')}`;

export function idOf(i: EwsItem): string {
  return `<t:ItemId Id="${esc(i.itemId)}" ChangeKey="${esc(i.changeKey)}"/>`;
}

/** An item as GetItem and SyncFolderItems show it: ItemType's fields, then MessageType's. */
export function messageXml(i: EwsItem): string {
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
export function mailXml(i: EwsItem, bodyType: string): string {
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
