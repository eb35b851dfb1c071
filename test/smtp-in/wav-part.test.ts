import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { readVoicemail } from '../../server/smtp-in/voicemail-mail.ts';
import { findWavPart, isWavNode } from '../../server/smtp-in/wav-part.ts';

const TONE = Buffer.from(toneWav({ seconds: 1.5 }));
const OTHER = Buffer.from(toneWav({ seconds: 0.5, frequency: 880 }));
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });

async function mail(options: SendMailOptions): Promise<Buffer> {
  const info = await composer.sendMail({
    from: 'pbx@pbx.example',
    to: '201@vg.example',
    ...options,
  });
  return info.message as Buffer;
}

/** What the full parser takes: the first WAV attachment, whole. */
async function oracle(raw: Buffer): Promise<Buffer | undefined> {
  const parsed = await simpleParser(raw);
  return parsed.attachments.find((a) => isWavNode(a.contentType, a.filename ?? false))?.content;
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/.{76}/g, '$&\r\n');

/** A hand-made multipart mail: the parts given verbatim between the delimiter lines. */
function multipart(parts: string[], opts: { preamble?: string; close?: boolean } = {}): Buffer {
  const head =
    'From: "Caller" <5550100@pbx.example>\r\nSubject: vm\r\nMessage-ID: <a1@pbx.example>\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n';
  const body =
    parts.map((p) => `--b1\r\n${p}\r\n`).join('') + (opts.close === false ? '' : '--b1--\r\n');
  return Buffer.from(head + (opts.preamble ?? '') + body, 'latin1');
}
const wavPart = (bytes: Buffer, name = 'm.wav'): string =>
  `Content-Type: audio/wav; name="${name}"\r\nContent-Transfer-Encoding: base64\r\n` +
  `Content-Disposition: attachment; filename="${name}"\r\n\r\n${b64(bytes)}`;

describe('the usual voicemail mail, read without the full parser', () => {
  it('finds the WAV of mails as nodemailer writes them, the same bytes the full parser takes', async () => {
    const shapes: SendMailOptions[] = [
      { text: 'You have a voicemail', attachments: [{ filename: 'm.wav', content: TONE }] },
      {
        text: 'plain',
        html: '<p>html</p>',
        attachments: [
          { filename: 'notes.txt', content: 'hello' },
          { filename: 'm.wav', content: TONE },
          { filename: 'second.wav', content: OTHER },
        ],
      },
      {
        attachments: [
          { filename: 'message.WAV', content: TONE, contentType: 'application/octet-stream' },
        ],
      },
    ];
    for (const shape of shapes) {
      const raw = await mail(shape);
      const found = findWavPart(raw);
      expect(found).not.toBeNull();
      expect(Buffer.from(found!.audio).equals(TONE)).toBe(true);
      expect((await oracle(raw))!.equals(TONE)).toBe(true);
      // Bare LF line endings, as some gateways write them.
      const lf = Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
      expect(Buffer.from(findWavPart(lf)!.audio).equals(TONE)).toBe(true);
    }
  });

  it('takes only delimiter lines as boundaries: not inside a line, not a longer boundary, padding allowed', async () => {
    const raw = multipart(
      [
        'Content-Type: text/plain\r\n\r\nsee --b1 here\r\n--b1x is not a delimiter',
        'Content-Type: text/plain\r\n\r\n\r\nno header above',
        wavPart(TONE),
      ],
      { preamble: 'This is a MIME message --b1\r\n' },
    );
    const padded = Buffer.from(
      raw
        .toString('latin1')
        .replace('--b1\r\nContent-Type: audio', '--b1 \t\r\nContent-Type: audio'),
      'latin1',
    );
    expect(Buffer.from(findWavPart(raw)!.audio).equals(TONE)).toBe(true);
    expect((await oracle(raw))!.equals(TONE)).toBe(true);
    // RFC 2046 5.1.1 allows blanks after a delimiter; mailsplit (under the full parser) does
    // not see such a line as one, so there the fast path reads more mails than the full one.
    expect(Buffer.from(findWavPart(padded)!.audio).equals(TONE)).toBe(true);
    expect(await oracle(padded)).toBeUndefined();
    const headerless = multipart(['\r\nno header at all', wavPart(TONE)]);
    expect(Buffer.from(findWavPart(headerless)!.audio).equals(TONE)).toBe(true);
  });

  it('finds a WAV inside nested multiparts and a mail that is only the WAV', async () => {
    const nested = multipart([
      'Content-Type: multipart/alternative; boundary="b2"\r\n\r\n--b2\r\nContent-Type: text/plain\r\n\r\ntext\r\n--b2\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b2--',
      wavPart(TONE),
    ]);
    expect(Buffer.from(findWavPart(nested)!.audio).equals(TONE)).toBe(true);
    expect((await oracle(nested))!.equals(TONE)).toBe(true);
    const single = Buffer.from(
      `From: 5550100@pbx.example\r\nContent-Type: audio/wav\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(TONE)}\r\n`,
      'latin1',
    );
    expect(Buffer.from(findWavPart(single)!.audio).equals(TONE)).toBe(true);
    expect((await oracle(single))!.equals(TONE)).toBe(true);
  });

  it('leaves the unusual to the full parser, which still reads them', async () => {
    const qp = await mail({
      attachments: [
        { filename: 'm.wav', content: TONE, contentTransferEncoding: 'quoted-printable' },
      ],
    });
    const unclosed = multipart(['Content-Type: text/plain\r\n\r\nhi', wavPart(TONE)], {
      close: false,
    });
    const embedded = multipart([
      'Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: audio/wav\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
        b64(OTHER),
      wavPart(TONE),
    ]);
    expect(findWavPart(await mail({ text: 'no audio here' }))).toBeNull();
    for (const raw of [qp, unclosed, embedded]) {
      expect(findWavPart(raw)).toBeNull();
      const vm = await readVoicemail(raw, '');
      expect(Buffer.from(vm.audio).equals((await oracle(raw))!)).toBe(true);
    }
  });

  it('gives the same voicemail as the full parser, headers included', async () => {
    const raw = await mail({
      from: '"=?UTF-8?Q?Ren=C3=A9e?=" <5550100@pbx.example>',
      messageId: '<01J0000000000000000000000@central.example>',
      priority: 'high',
      headers: { Sensitivity: 'Private', 'X-CallingTelephoneNumber': '+33123456789' },
      attachments: [{ filename: 'm.wav', content: TONE }],
    });
    expect(findWavPart(raw)).not.toBeNull();
    const vm = await readVoicemail(raw, 'envelope@pbx.example');
    expect({ ...vm, audio: Buffer.from(vm.audio).equals(TONE) }).toEqual({
      identity: '01J0000000000000000000000@central.example',
      audio: true,
      callerNumber: '+33123456789',
      callerName: 'Renée',
      priority: 'high',
      private: true,
    });
  });
});
