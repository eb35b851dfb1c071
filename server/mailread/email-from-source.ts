import { simpleParser } from 'mailparser';
import type { InboxEmail, SourceEmail } from '../domain/email-reading.ts';
import { listenableText, wordCount } from './listenable-text.ts';

/** A raw RFC 5322 message as the phone reads it: who, when, what about, and its words. */
export async function emailFromSource(
  id: string,
  source: Buffer,
  language: string,
  fallbackDate: number,
): Promise<InboxEmail> {
  const mail = await simpleParser(source, { skipImageLinks: true, skipTextToHtml: true });
  const from = mail.from?.value[0];
  const text = listenableText(
    {
      text: mail.text,
      html: typeof mail.html === 'string' ? mail.html : null,
      attachments: mail.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
      })),
    },
    language,
  );
  return {
    id,
    // The name as written; an address alone is read as its part before the @.
    fromName: from?.name?.trim() || from?.address?.split('@')[0] || '',
    sentAt: mail.date?.getTime() ?? fallbackDate,
    subject: (mail.subject ?? '').trim(),
    text,
    words: wordCount(text),
  };
}

/** An e-mail a store handed over as its parts (Exchange), as the phone reads it. */
export function emailFromParts(email: SourceEmail, language: string): InboxEmail {
  const text = listenableText(
    {
      text: email.body.html ? null : email.body.content,
      html: email.body.html ? email.body.content : null,
      attachments: email.attachments.map((a) => ({ filename: a.name, contentType: a.contentType })),
    },
    language,
  );
  return {
    id: email.id,
    fromName: email.fromName.trim() || email.fromAddress.split('@')[0] || '',
    sentAt: email.sentAt,
    subject: email.subject.trim(),
    text,
    words: wordCount(text),
  };
}
