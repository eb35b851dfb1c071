import { describe, expect, it } from 'vitest';
import { renderVoicemail, rfc5322Date } from '../../server/render/voicemail-mime.ts';
import {
  header,
  headerFields,
  leafParts,
  MINUTE_WAV,
  SHORT_WAV,
  voicemail,
} from './mime-helpers.ts';

const minute = await renderVoicemail(voicemail());

describe('renderVoicemail', () => {
  it('renders the same bytes every time, and other boundaries for another message', async () => {
    expect((await renderVoicemail(voicemail())).equals(minute)).toBe(true);
    const other = await renderVoicemail(voicemail({ id: '00000000-0000-4000-8000-000000000001' }));
    const boundary = (raw: Buffer) => /boundary="([^"]+)"/.exec(raw.toString('latin1'))![1];
    expect(boundary(other)).not.toBe(boundary(minute));
  });

  it('writes the headers a mail client and Outlook show', () => {
    expect(headerFields(minute)).toEqual([
      { name: 'From', value: 'Alice Martin <+33612345678@voicegate.local>' },
      { name: 'To', value: 'Bob Smith <bob@voicegate.local>' },
      {
        name: 'Subject',
        value:
          'Voicemail Message (Alice Martin (+33612345678) > Bob Smith) From:Alice Martin (+33612345678)',
      },
      { name: 'Date', value: 'Sat, 21 Nov 2026 14:12:03 +0100' },
      // The voicemail's global identity, not this store's id or this server's mail domain.
      { name: 'Message-ID', value: '<01KAZ3N5Q8W2E4R6T8Y0V2H4J6@central>' },
      { name: 'Content-Class', value: 'voice-ca' },
      { name: 'X-CallingTelephoneNumber', value: '+33612345678' },
      { name: 'X-VoiceMessageDuration', value: '60' },
      { name: 'X-VoiceMessageSenderName', value: 'Alice Martin' },
      { name: 'MIME-Version', value: '1.0' },
      { name: 'Content-Type', value: expect.stringMatching(/^multipart\/mixed; boundary="/) },
    ]);
  });

  it('marks high priority and private messages', async () => {
    const raw = await renderVoicemail(voicemail({ priority: 'high', private: true }, SHORT_WAV));
    expect(header(raw, 'Importance')).toBe('high');
    expect(header(raw, 'X-Priority')).toBe('1');
    expect(header(raw, 'Sensitivity')).toBe('Private');
    expect(header(minute, 'Importance')).toBeUndefined();
    expect(header(minute, 'Sensitivity')).toBeUndefined();
  });

  it('puts a text and an HTML body before the audio attachment', () => {
    const parts = leafParts(minute);
    expect(parts.map((p) => p.contentType)).toEqual(['text/plain', 'text/html', 'audio/wav']);
    const text = parts[0]!.decoded.toString();
    expect(text).toContain('Alice Martin (+33612345678)');
    expect(text).toContain('2026-11-21 14:12 (Europe/Paris)');
    expect(text).toContain('1:00');
    expect(text).not.toContain('http');
    const audio = parts[2]!;
    expect(audio.header).toContain(
      'Content-Disposition: attachment; filename=voicemail-20261121-1412.wav',
    );
    expect(audio.decoded.equals(Buffer.from(MINUTE_WAV))).toBe(true);
  });

  it('links to the web player when it knows its address', async () => {
    const input = { ...voicemail({}, SHORT_WAV), webUrl: 'https://vm.example.com/' };
    const [text, html] = leafParts(await renderVoicemail(input));
    const link = 'https://vm.example.com/#/messages/7c1d0f4e-2b6a-4f3c-9d8e-5a4b3c2d1e0f';
    expect(text!.decoded.toString()).toContain(link);
    expect(html!.decoded.toString()).toContain(`<a href="${link}">`);
  });

  it('writes base64 in 76-character lines and only CRLF line ends', () => {
    const lines = leafParts(minute)[2]!.encoded.split('\r\n');
    expect(lines.slice(0, -1).every((l) => l.length === 76)).toBe(true);
    expect(lines.at(-1)!.length).toBeLessThanOrEqual(76);
    const text = minute.toString('latin1');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(text.endsWith('--\r\n')).toBe(true);
  });

  it('sends from unknown@ when the number is not a number, and from a given sender', async () => {
    const anonymous = voicemail({ callerNumber: 'anonymous', callerName: null }, SHORT_WAV);
    const raw = await renderVoicemail(anonymous);
    expect(header(raw, 'From')).toBe('anonymous <unknown@voicegate.local>');
    expect(header(raw, 'Subject')).toBe('Voicemail Message (anonymous > Bob Smith) From:anonymous');
    const nobody = voicemail({ callerNumber: null, callerName: null }, SHORT_WAV);
    const none = await renderVoicemail(nobody);
    expect(header(none, 'From')).toBe('Unknown caller <unknown@voicegate.local>');
    expect(header(none, 'X-CallingTelephoneNumber')).toBeUndefined();
    const sent = await renderVoicemail({ ...voicemail({}, SHORT_WAV), from: 'vm@example.com' });
    expect(header(sent, 'From')).toBe('Alice Martin <vm@example.com>');
  });

  it("addresses the mailbox's own e-mail address when it has one", async () => {
    const input = voicemail({}, SHORT_WAV);
    input.mailbox = { ...input.mailbox, email: 'bob@example.com', fullName: '' };
    const raw = await renderVoicemail(input);
    expect(header(raw, 'To')).toBe('bob <bob@example.com>');
    expect(header(raw, 'Subject')).toBe(
      'Voicemail Message (Alice Martin (+33612345678) > bob) From:Alice Martin (+33612345678)',
    );
  });

  it('escapes a caller name in the HTML body', async () => {
    const raw = await renderVoicemail(
      voicemail({ callerName: '<script>alert(1)</script> & "Co"' }, SHORT_WAV),
    );
    const html = leafParts(raw)[1]!.decoded.toString();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;');
    expect(html).not.toContain('<script>');
    expect(header(raw, 'X-VoiceMessageSenderName')).toBe('<script>alert(1)</script> & "Co"');
  });

  it('does not let a caller name or number add header fields', async () => {
    const raw = await renderVoicemail(
      voicemail(
        {
          callerName: 'Eve\r\nBcc: victim@example.com\r\n\r\nbody',
          callerNumber: '123\nX-Evil: 1',
        },
        SHORT_WAV,
      ),
    );
    const names = headerFields(raw).map((f) => f.name);
    expect(names).not.toContain('Bcc');
    expect(names).not.toContain('X-Evil');
    expect(names).toHaveLength(new Set(names).size);
    expect(header(raw, 'X-VoiceMessageSenderName')).toBe('Eve Bcc: victim@example.com body');
    expect(header(raw, 'X-CallingTelephoneNumber')).toBe('123 X-Evil: 1');
    expect(header(raw, 'From')).toBe(
      '"Eve Bcc: victim@example.com body" <unknown@voicegate.local>',
    );
    const text = leafParts(raw)[0]!.decoded.toString();
    expect(text).toContain('From:     Eve Bcc: victim@example.com body (123 X-Evil: 1)\r\n');
  });

  it('encodes a non-ASCII caller name so that it reads back unchanged', async () => {
    const raw = await renderVoicemail(voicemail({ callerName: 'Zoé 中村' }, SHORT_WAV));
    const [head] = raw.toString('latin1').split('\r\n\r\n', 1);
    expect(head).toMatch(/^[\x20-\x7e\r\n\t]*$/);
    expect(header(raw, 'From')).toBe('Zoé 中村 <+33612345678@voicegate.local>');
    expect(header(raw, 'Subject')).toBe(
      'Voicemail Message (Zoé 中村 (+33612345678) > Bob Smith) From:Zoé 中村 (+33612345678)',
    );
    expect(header(raw, 'X-VoiceMessageSenderName')).toBe('Zoé 中村');
    const [text, html] = leafParts(raw);
    expect(text!.decoded.toString()).toContain('Zoé 中村 (+33612345678)');
    expect(html!.decoded.toString()).toContain('Zoé 中村 (+33612345678)');
  });
});

describe('rfc5322Date', () => {
  it("shows the time in the mailbox's zone with the offset in force then", () => {
    const winter = Date.UTC(2026, 0, 5, 12, 0, 9);
    const summer = Date.UTC(2026, 6, 5, 12, 0, 9);
    expect(rfc5322Date(winter, 'America/New_York')).toBe('Mon, 05 Jan 2026 07:00:09 -0500');
    expect(rfc5322Date(summer, 'America/New_York')).toBe('Sun, 05 Jul 2026 08:00:09 -0400');
    expect(rfc5322Date(winter, 'Asia/Kolkata')).toBe('Mon, 05 Jan 2026 17:30:09 +0530');
    expect(rfc5322Date(winter, 'UTC')).toBe('Mon, 05 Jan 2026 12:00:09 +0000');
    // Crossing midnight changes the day and the weekday.
    expect(rfc5322Date(Date.UTC(2026, 0, 1, 2, 0), 'America/St_Johns')).toBe(
      'Wed, 31 Dec 2025 22:30:00 -0330',
    );
  });
});
