import type { Attachment, ParsedMail } from 'mailparser';
import { VoicegateError, isVoicegateError } from '../domain/errors.ts';
import { identityFromMessageId } from '../domain/identity.ts';
import type { DepositInput } from '../domain/message-service.ts';
import { parseWav } from '../media/wav.ts';
import { findWavPart, isWavNode } from './wav-part.ts';

/**
 * What a mail gives a deposit; the mailbox comes from the envelope. `identity` is the mail's
 * Message-ID when it has the form of one, so a retried delivery of the mail is recognised.
 */
export type MailVoicemail = Required<
  Pick<DepositInput, 'audio' | 'callerNumber' | 'callerName' | 'priority' | 'private'>
> &
  Pick<DepositInput, 'identity'>;

/** A sender's local part taken as the caller's number: digits, an optional leading +. */
const PHONE = /^\+?[0-9]{2,32}$/;

/**
 * The caller's number from a header is caller data, kept as text only: a URI's user part at
 * most (`sip:premium-rate@evil.example;transport=tcp` is "premium-rate"), the characters of a
 * number or a name like "anonymous", short. Nothing ever dials it as a URI (the dial plan).
 */
function callerNumberOf(value: string): string | null {
  const bare = value.replace(/^<|>$/g, '');
  const user = /^(?:sips?|tel):([^@;?>]*)/i.exec(bare)?.[1] ?? bare;
  const kept = user.replace(/[^0-9A-Za-z+*#._-]/g, '').slice(0, 32);
  return kept === '' ? null : kept;
}

/**
 * Reads a voicemail from a mail: the first WAV attachment that parses, the caller from the
 * Exchange voice headers or the sender, priority and sensitivity, the identity from the
 * Message-ID (a mail without a usable one gets a new identity when deposited). The usual mail
 * (wav-part.ts) has only its header block read by mailparser, its audio decoded into a buffer
 * from `audioBuffer` when given. Refusals are domain errors: INVALID_INPUT for the mail itself,
 * BAD_AUDIO (the parser's reason) for the WAV.
 */
export async function readVoicemail(
  raw: Buffer,
  envelopeFrom: string,
  audioBuffer?: (bytes: number) => Buffer,
): Promise<MailVoicemail> {
  const usual = findWavPart(raw, audioBuffer);
  if (usual && parses(usual.audio)) {
    return fromHeaders(await parse(usual.header), envelopeFrom, usual.audio);
  }
  const mail = await parse(raw);
  checkStructure(mail, raw);
  return fromHeaders(mail, envelopeFrom, pickWav(mail.attachments));
}

async function parse(raw: Buffer): Promise<ParsedMail> {
  // mailparser (with html-to-text and its character set tables) loads with the first mail
  // received: a server that receives none does not hold it.
  const { simpleParser } = await import('mailparser');
  try {
    return await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true });
  } catch (err) {
    throw new VoicegateError('INVALID_INPUT', `malformed MIME: ${(err as Error).message}`);
  }
}

function parses(audio: Uint8Array): boolean {
  try {
    parseWav(audio);
    return true;
  } catch {
    return false;
  }
}

function fromHeaders(mail: ParsedMail, envelopeFrom: string, audio: Uint8Array): MailVoicemail {
  const from = mail.from?.value[0];
  const sender = from?.address || envelopeFrom;
  const local = sender.slice(0, Math.max(0, sender.lastIndexOf('@')));
  const header = (name: string): string | null => {
    const value = mail.headers.get(name);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
  };
  const identity = identityFromMessageId(mail.messageId);
  return {
    ...(identity ? { identity } : {}),
    audio,
    callerNumber:
      callerNumberOf(header('x-callingtelephonenumber') ?? '') ??
      (PHONE.test(local) ? local : null),
    callerName: header('x-voicemessagesendername') ?? (from?.name || null),
    // mailparser folds Importance, X-Priority and X-MSMail-Priority into one "priority" header.
    priority: header('priority') === 'high' ? 'high' : 'normal',
    private: header('sensitivity')?.toLowerCase() === 'private',
  };
}

/**
 * mailparser reads nearly anything; a multipart mail whose parts cannot be found is still
 * broken, and saying so beats "no WAV attachment".
 */
function checkStructure(mail: ParsedMail, raw: Buffer): void {
  const type = mail.headers.get('content-type') as
    { value: string; params: Record<string, string> } | undefined;
  if (!type?.value.startsWith('multipart/')) return;
  const boundary = type.params.boundary;
  if (!boundary)
    throw new VoicegateError('INVALID_INPUT', 'malformed MIME: multipart without a boundary');
  if (!raw.includes(`--${boundary}`, 0, 'latin1')) {
    throw new VoicegateError(
      'INVALID_INPUT',
      'malformed MIME: the multipart boundary never appears in the body',
    );
  }
}

function isWavLike(a: Attachment): boolean {
  return isWavNode(a.contentType, a.filename ?? false);
}

/** The first WAV attachment that parses; else the first one's reason, else "no WAV". */
function pickWav(attachments: Attachment[]): Uint8Array {
  let firstError: VoicegateError | undefined;
  for (const a of attachments.filter(isWavLike)) {
    const audio = new Uint8Array(a.content.buffer, a.content.byteOffset, a.content.byteLength);
    try {
      parseWav(audio);
      return audio;
    } catch (err) {
      if (!isVoicegateError(err)) throw err;
      firstError ??= err;
    }
  }
  throw firstError ?? new VoicegateError('INVALID_INPUT', 'no WAV audio attachment');
}
