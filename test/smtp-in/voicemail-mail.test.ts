import nodemailer, { type SendMailOptions } from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { readVoicemail } from '../../server/smtp-in/voicemail-mail.ts';

const TONE = Buffer.from(toneWav({ seconds: 1.5 }));
const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });

/** A mail as nodemailer writes it: a real MIME producer, not one written for the test. */
async function mail(options: SendMailOptions): Promise<Buffer> {
  const info = await composer.sendMail({
    from: 'someone@pbx.example',
    to: '201@voicegate.local',
    ...options,
  });
  return info.message as Buffer;
}

describe('reading a voicemail from a mail', () => {
  it('takes the first attachment that is a WAV and parses, by type or by .wav name', async () => {
    const raw = await mail({
      attachments: [
        { filename: 'notes.txt', content: 'hello' },
        { filename: 'broken.wav', content: 'not a wav', contentType: 'audio/wav' },
        { filename: 'message.WAV', content: TONE, contentType: 'application/octet-stream' },
      ],
    });
    const vm = await readVoicemail(raw, '');
    expect(Buffer.from(vm.audio).equals(TONE)).toBe(true);
  });

  it('says why when no attachment is a usable WAV', async () => {
    await expect(readVoicemail(await mail({ text: 'hi' }), '')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'no WAV audio attachment',
    });
    const onlyBad = await mail({
      attachments: [
        { filename: 'x.wav', content: Buffer.from('RIFF\x10\0\0\0WAVEfmt ', 'latin1') },
      ],
    });
    await expect(readVoicemail(onlyBad, '')).rejects.toMatchObject({
      code: 'BAD_AUDIO',
      message: 'no fmt chunk: the WAV file does not say how its audio is encoded',
    });
  });

  it('takes the caller from X-CallingTelephoneNumber, else a numeric sender, else none', async () => {
    const wav = [{ filename: 'm.wav', content: TONE }];
    const byHeader = await mail({
      from: '"Eve" <5550100@pbx.example>',
      headers: {
        'X-CallingTelephoneNumber': 'tel:+4930123456',
        'X-VoiceMessageSenderName': 'Eve E.',
      },
      attachments: wav,
    });
    expect(await readVoicemail(byHeader, '')).toMatchObject({
      callerNumber: '+4930123456',
      callerName: 'Eve E.',
    });
    const bySender = await mail({ from: '"Frank" <+15550199@pbx.example>', attachments: wav });
    expect(await readVoicemail(bySender, '')).toMatchObject({
      callerNumber: '+15550199',
      callerName: 'Frank',
    });
    const byName = await mail({ from: 'frank@pbx.example', attachments: wav });
    expect(await readVoicemail(byName, '5550111@envelope.example')).toMatchObject({
      callerNumber: null,
      callerName: null,
    });
  });

  it('keeps a caller given as a URI as text only: its user part, never the host', async () => {
    const wav = [{ filename: 'm.wav', content: TONE }];
    const caller = async (value: string) =>
      (
        await readVoicemail(
          await mail({ headers: { 'X-CallingTelephoneNumber': value }, attachments: wav }),
          '',
        )
      ).callerNumber;
    expect(await caller('sip:premium-rate@evil.example;transport=tcp')).toBe('premium-rate');
    expect(await caller('<sips:+4930123456@pbx.example>')).toBe('+4930123456');
    expect(await caller('+49 (30) 123456')).toBe('+4930123456');
    expect(await caller('@;<>')).toBeNull();
  });

  it('reads priority from Importance or X-Priority and privacy from Sensitivity', async () => {
    const wav = [{ filename: 'm.wav', content: TONE }];
    const plain = await readVoicemail(await mail({ attachments: wav }), '');
    expect(plain).toMatchObject({ priority: 'normal', private: false });
    const importance = await mail({
      headers: { Importance: 'high', Sensitivity: 'Private' },
      attachments: wav,
    });
    expect(await readVoicemail(importance, '')).toMatchObject({ priority: 'high', private: true });
    const xPriority = await mail({ headers: { 'X-Priority': '2 (High)' }, attachments: wav });
    expect((await readVoicemail(xPriority, '')).priority).toBe('high');
    const low = await mail({
      priority: 'low',
      headers: { Sensitivity: 'Personal' },
      attachments: wav,
    });
    expect(await readVoicemail(low, '')).toMatchObject({ priority: 'normal', private: false });
  });

  it('refuses a multipart mail whose parts cannot be found', async () => {
    const noBoundary = Buffer.from('Content-Type: multipart/mixed\r\n\r\nbody\r\n');
    await expect(readVoicemail(noBoundary, '')).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'malformed MIME: multipart without a boundary',
    });
    const lost = Buffer.from('Content-Type: multipart/mixed; boundary="b1"\r\n\r\nbody\r\n');
    await expect(readVoicemail(lost, '')).rejects.toMatchObject({
      message: 'malformed MIME: the multipart boundary never appears in the body',
    });
  });
});
