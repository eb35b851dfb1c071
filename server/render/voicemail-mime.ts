/**
 * One voicemail as an RFC 5322 message, shared by the IMAP view and the e-mail sender.
 *
 * The output is a pure function of the input: boundaries come from the message id, the
 * Message-ID and Date are fixed, nothing reads the clock or a random source. IMAP clients
 * cache a message by UID forever, so the bytes they saw must be the bytes we serve later.
 */
import { createHash } from 'node:crypto';
import type { MimeNodeHeader } from 'nodemailer/lib/mime-node';
import type { Mailbox } from '../domain/mailbox.ts';
import { callerLabel, type Message } from '../domain/message.ts';
import { formatDuration, formatLocalTime } from '../domain/time.ts';

/** What a rendering depends on: facts fixed at deposit, never state, folder or UID, so the
 * message stays byte-identical while it is read, flagged and moved. */
export type RenderedMessage = Pick<
  Message,
  | 'id'
  | 'identity'
  | 'callerNumber'
  | 'callerName'
  | 'receivedAt'
  | 'audio'
  | 'priority'
  | 'private'
>;

export interface VoicemailInput {
  message: RenderedMessage;
  mailbox: Pick<Mailbox, 'name' | 'extension' | 'fullName' | 'timeZone' | 'email'>;
  /** The WAV file exactly as stored; it is attached unchanged. Null for a notice without it. */
  audio: Uint8Array | null;
  /** Mail domain of this server, e.g. `voicegate.local`. */
  domain: string;
  /** Base URL of the web player; without it the bodies carry no link. */
  webUrl?: string;
  /** Recipient other than the mailbox (a user's "forward to e-mail"): the To header then names only it. */
  to?: string;
  /** The message the web link opens, when the mail's own id is not a stored message's. */
  linkId?: string;
  /**
   * Address to send from instead of `<caller number>@<domain>` (the e-mail sender's
   * configured sender, so SPF and DMARC pass). The display name stays the caller's.
   */
  from?: string;
}

/** The parts of a rendering other channels show too (subject lines, web lists, logs). */
export interface VoicemailSummary {
  /** `Name (number)`, the number, or `Unknown caller`; cleaned to one printable line. */
  caller: string;
  /** The mailbox's full name, or its name when it has none. */
  mailboxName: string;
  subject: string;
  /** RFC 5322 date in the mailbox's zone. */
  date: string;
  filename: string;
}

/** Longer caller IDs are noise or an attack; 100 characters fit any real name. */
const MAX_CALLER_CHARS = 100;
/** Control characters, line and paragraph separators, and bidi overrides (which can make a
 * name display as something else). */
const UNSAFE_TEXT = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu;
/** Header names as Exchange and Outlook write them; nodemailer would otherwise re-case them
 * (`X-Voicemessagesendername`). Field names are case-insensitive, but people read them. */
const HEADER_NAMES = new Map(
  [
    'Content-Class',
    'X-CallingTelephoneNumber',
    'X-VoiceMessageDuration',
    'X-VoiceMessageSenderName',
  ].map((name) => [name.toLowerCase(), name]),
);

/**
 * Caller ID arrives from the network (SIP display names, SMTP headers) and is untrusted:
 * keep it to one printable line so it can't break a header, a body line or the display.
 */
function cleanCallerText(value: string | null): string | null {
  if (value === null) return null;
  const text = value.replace(UNSAFE_TEXT, ' ').replace(/\s+/g, ' ').trim();
  return Array.from(text).slice(0, MAX_CALLER_CHARS).join('').trim() || null;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `Sat, 21 Nov 2026 14:12:03 +0100`: the wall-clock time of `timeZone` with its offset then. */
export function rfc5322Date(utcMs: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const [y, mo, d] = [get('year'), get('month'), get('day')];
  const [h, mi, sec] = [get('hour'), get('minute'), get('second')];
  const wall = Date.UTC(y, mo - 1, d, h, mi, sec);
  // Wall time minus UTC (both in whole seconds) is the zone's offset at that instant.
  const offset = Math.round((wall - Math.floor(utcMs / 1000) * 1000) / 60_000);
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  const day = DAYS[new Date(wall).getUTCDay()];
  return `${day}, ${pad2(d)} ${MONTHS[mo - 1]} ${y} ${pad2(h)}:${pad2(mi)}:${pad2(sec)} ${zone}`;
}

export function summarize(input: Pick<VoicemailInput, 'message' | 'mailbox'>): VoicemailSummary {
  const { message, mailbox } = input;
  const caller = callerLabel({
    callerName: cleanCallerText(message.callerName),
    callerNumber: cleanCallerText(message.callerNumber),
  });
  const mailboxName = mailbox.fullName.trim() || mailbox.name;
  const stamp = formatLocalTime(message.receivedAt, mailbox.timeZone)
    .replace(/[-:]/g, '')
    .replace(' ', '-');
  return {
    caller,
    mailboxName,
    subject: `Voicemail Message (${caller} > ${mailboxName}) From:${caller}`,
    date: rfc5322Date(message.receivedAt, mailbox.timeZone),
    filename: `voicemail-${stamp}.wav`,
  };
}

function escapeHtml(text: string): string {
  const entities: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#39;',
  };
  return text.replace(/[&<>"']/g, (c) => entities[c]!);
}

interface BodyFacts {
  caller: string;
  mailbox: string;
  received: string;
  length: string;
  filename: string;
  attached: boolean;
  link: string | null;
  priority: boolean;
  private: boolean;
}

function textBody(f: BodyFacts): string {
  const lines = [
    `Voicemail for ${f.mailbox}`,
    '',
    `From:     ${f.caller}`,
    `Received: ${f.received}`,
    `Length:   ${f.length}`,
  ];
  if (f.priority) lines.push('Priority: high');
  if (f.private) lines.push('Private:  yes, it cannot be forwarded');
  lines.push('');
  if (f.link) lines.push(`Listen in the browser: ${f.link}`);
  lines.push(
    f.attached
      ? `The recording is attached as ${f.filename}.`
      : 'The recording is in your voicemail box.',
  );
  return lines.join('\r\n') + '\r\n';
}

function htmlBody(f: BodyFacts): string {
  const row = (label: string, value: string) =>
    `<tr><th align="left">${label}</th><td>${escapeHtml(value)}</td></tr>`;
  const rows = [
    row('From', f.caller),
    row('Received', f.received),
    row('Length', f.length),
    ...(f.priority ? [row('Priority', 'high')] : []),
    ...(f.private ? [row('Private', 'yes, it cannot be forwarded')] : []),
  ];
  const link = f.link ? `<p><a href="${escapeHtml(f.link)}">Listen in the browser</a></p>\r\n` : '';
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"></head><body>',
    `<p>Voicemail for ${escapeHtml(f.mailbox)}</p>`,
    `<table>\r\n${rows.join('\r\n')}\r\n</table>`,
    `${link}<p>${f.attached ? `The recording is attached as ${escapeHtml(f.filename)}.` : 'The recording is in your voicemail box.'}</p>`,
    '</body></html>',
    '',
  ].join('\r\n');
}

function senderAddress(input: VoicemailInput): string {
  if (input.from) return input.from;
  const number = cleanCallerText(input.message.callerNumber);
  return number && /^\+?[0-9]+$/.test(number)
    ? `${number}@${input.domain}`
    : `unknown@${input.domain}`;
}

/** The header fields in the order they are written; nodemailer encodes and folds them. */
function headers(input: VoicemailInput, s: VoicemailSummary): MimeNodeHeader[] {
  const { message, mailbox, domain } = input;
  const name = cleanCallerText(message.callerName);
  const number = cleanCallerText(message.callerNumber);
  const senderName = name ?? number ?? 'Unknown caller';
  const fields: MimeNodeHeader[] = [
    { key: 'From', value: { name: senderName, address: senderAddress(input) } },
    {
      key: 'To',
      value: input.to
        ? { name: '', address: input.to }
        : { name: s.mailboxName, address: mailbox.email || `${mailbox.name}@${domain}` },
    },
    { key: 'Subject', value: s.subject },
    { key: 'Date', value: s.date },
    // The voicemail's global identity: the same in every copy of it (IMAP, e-mail, peers).
    { key: 'Message-ID', value: `<${message.identity}>` },
  ];
  if (message.priority === 'high') {
    fields.push({ key: 'Importance', value: 'high' }, { key: 'X-Priority', value: '1' });
  }
  if (message.private) fields.push({ key: 'Sensitivity', value: 'Private' });
  // What Exchange Unified Messaging writes, so Outlook shows its voicemail form and player.
  fields.push({ key: 'Content-Class', value: 'voice-ca' });
  if (number) fields.push({ key: 'X-CallingTelephoneNumber', value: number });
  fields.push(
    { key: 'X-VoiceMessageDuration', value: String(Math.round(message.audio.durationMs / 1000)) },
    { key: 'X-VoiceMessageSenderName', value: senderName },
  );
  return fields;
}

/**
 * Renders the message. MailComposer is deterministic once given the boundary base, the
 * Message-ID and the Date (it only falls back to random ids and `new Date()` without them);
 * its base64 lines are 76 characters + CRLF with no CRLF after the last, which
 * `message-index.ts` relies on to re-create the attachment from the WAV file.
 */
export async function renderVoicemail(input: VoicemailInput): Promise<Buffer> {
  const { message, audio } = input;
  const { summary: s, text, html } = voicemailContent(input);
  // nodemailer's composer loads with the first message rendered, not with every server.
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  const composer = new MailComposer({
    baseBoundary: createHash('sha256').update(`voicegate:${message.id}`).digest('hex').slice(0, 24),
    boundaryPrefix: '--_VG',
    disableFileAccess: true,
    disableUrlAccess: true,
    normalizeHeaderKey: (key: string) => HEADER_NAMES.get(key.toLowerCase()) ?? key,
    headers: headers(input, s),
    text,
    html,
    attachments: audio
      ? [
          {
            content: Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength),
            contentType: 'audio/wav',
            filename: s.filename,
          },
        ]
      : [],
  });
  return composer.compile().build();
}

/**
 * What a voicemail says, as the MIME rendering and every channel that builds its own message
 * (Exchange items) show it: the summary, the text and HTML bodies, and the sender.
 */
export function voicemailContent(input: VoicemailInput): {
  summary: VoicemailSummary;
  text: string;
  html: string;
  sender: { name: string; address: string };
} {
  const { message, mailbox, audio } = input;
  const s = summarize(input);
  const facts: BodyFacts = {
    caller: s.caller,
    mailbox: mailbox.extension ? `${s.mailboxName} (${mailbox.extension})` : s.mailboxName,
    received: `${formatLocalTime(message.receivedAt, mailbox.timeZone)} (${mailbox.timeZone})`,
    length: formatDuration(message.audio.durationMs),
    filename: s.filename,
    attached: audio !== null,
    link: input.webUrl
      ? `${input.webUrl.replace(/\/+$/, '')}/#/messages/${encodeURIComponent(input.linkId ?? message.id)}`
      : null,
    priority: message.priority === 'high',
    private: message.private,
  };
  const senderName =
    cleanCallerText(message.callerName) ??
    cleanCallerText(message.callerNumber) ??
    'Unknown caller';
  return {
    summary: s,
    text: textBody(facts),
    html: htmlBody(facts),
    sender: { name: senderName, address: senderAddress(input) },
  };
}
