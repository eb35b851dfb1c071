import type { Delivery } from '../domain/delivery.ts';
import { NEW_VOICEMAIL_FLAGS, VOICE_PROPERTIES, VOICEMAIL_ITEM_CLASS } from '../domain/exchange.ts';
import type { Mailbox } from '../domain/mailbox.ts';
import { voicemailContent } from '../render/voicemail-mime.ts';

type MailboxFacts = Pick<Mailbox, 'name' | 'extension' | 'fullName' | 'timeZone' | 'email'>;

/** What an Exchange item of a voicemail holds, whatever the protocol that creates it. */
export interface VoicemailItem {
  subject: string;
  html: string;
  sender: { name: string; address: string };
  to: { name: string; address: string };
  /** `<identity>`: the Internet Message-ID it is found by again. */
  internetMessageId: string;
  receivedAt: Date;
  importance: 'normal' | 'high';
  private: boolean;
  /** MAPI properties by tag: the class, the flags (not a draft, unread), the voice ones. */
  strings: [number, string][];
  integers: [number, number][];
  attachment: { name: string; contentType: 'audio/wav' };
}

/**
 * The item for a delivery: the same subject and body as the IMAP and e-mail rendering, with
 * the class and voice properties Outlook reads (MS-OXOUM, MS-OXPROPS).
 */
export function voicemailItem(
  item: Delivery,
  mailbox: MailboxFacts,
  address: string,
  opts: { domain: string; webUrl?: string },
): VoicemailItem {
  const content = voicemailContent({
    message: { ...item, id: item.voicemailId },
    mailbox: { ...mailbox, email: address },
    audio: new Uint8Array(0),
    domain: opts.domain,
    webUrl: opts.webUrl,
    linkId: item.messageId ?? undefined,
  });
  const P = VOICE_PROPERTIES;
  const strings: [number, string][] = [
    [P.messageClass, VOICEMAIL_ITEM_CLASS],
    [P.senderName, content.sender.name],
    [P.attachmentOrder, content.summary.filename],
  ];
  if (item.callerNumber) strings.push([P.callerNumber, item.callerNumber]);
  return {
    subject: content.summary.subject,
    html: content.html,
    sender: content.sender,
    to: { name: content.summary.mailboxName, address },
    internetMessageId: `<${item.identity}>`,
    receivedAt: new Date(item.receivedAt),
    importance: item.priority === 'high' ? 'high' : 'normal',
    private: item.private,
    strings,
    integers: [
      [P.messageFlags, NEW_VOICEMAIL_FLAGS],
      [P.duration, Math.round(item.audio.durationMs / 1000)],
    ],
    attachment: { name: content.summary.filename, contentType: 'audio/wav' },
  };
}

const hex = (tag: number): string => `0x${tag.toString(16).padStart(4, '0').toUpperCase()}`;

/** PidTagMessageDeliveryTime: the time the voicemail was left, shown as received. */
const DELIVERY_TIME = 0x0e06;
/** PidTagSensitivity: 2 = private. */
const SENSITIVITY = 0x0036;

/**
 * The item as Graph's message resource, with singleValueExtendedProperties (Graph reference:
 * "Create single-value extended property", ids `Type 0xTAG`, values as strings). The flags are
 * set in the creating request: Graph makes every message created by POST a draft otherwise.
 */
export function graphMessage(v: VoicemailItem, audio: Buffer | null): object {
  const props = [
    ...v.strings.map(([tag, value]) => ({ id: `String ${hex(tag)}`, value })),
    ...v.integers.map(([tag, value]) => ({ id: `Integer ${hex(tag)}`, value: String(value) })),
    { id: `SystemTime ${hex(DELIVERY_TIME)}`, value: v.receivedAt.toISOString() },
    ...(v.private ? [{ id: `Integer ${hex(SENSITIVITY)}`, value: '2' }] : []),
  ];
  return {
    subject: v.subject,
    body: { contentType: 'html', content: v.html },
    from: { emailAddress: v.sender },
    toRecipients: [{ emailAddress: v.to }],
    internetMessageId: v.internetMessageId,
    importance: v.importance,
    isRead: false,
    singleValueExtendedProperties: props,
    ...(audio
      ? {
          attachments: [
            {
              '@odata.type': '#microsoft.graph.fileAttachment',
              name: v.attachment.name,
              contentType: v.attachment.contentType,
              contentBytes: audio.toString('base64'),
            },
          ],
        }
      : {}),
  };
}
