import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { messagesFrom, storedAudio } from './smtp-kit.ts';

const TONE = toneWav({ seconds: 3, frequency: 660 });
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.context.mailboxes.add({ name: 'Alice', extension: '201' }, '1234');
  await server.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
});
afterAll(async () => server?.stop());

/** nodemailer as a mail server would deliver: STARTTLS required, the certificate verified. */
function transport() {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    secure: false,
    requireTLS: true,
    tls: { ca: readFileSync(join(server.dir, 'tls', 'cert.pem')) },
  });
}

function voicemail(to: string[], caller: string, extra: object = {}) {
  return {
    from: `"Dana Doe" <${caller}@pbx.example>`,
    to,
    subject: 'Voice message',
    text: 'A voice message is attached.',
    attachments: [{ filename: 'message.wav', content: Buffer.from(TONE) }],
    ...extra,
  };
}

describe('nodemailer as a second SMTP client', () => {
  it('delivers one mail to two mailboxes at once: each gets the message', async () => {
    const mailer = transport();
    const info = await mailer.sendMail(
      voicemail(['201@voicegate.local', 'Extn202@voicegate.local'], '5553001'),
    );
    mailer.close();
    expect(info.accepted).toEqual(['201@voicegate.local', 'Extn202@voicegate.local']);
    expect(info.response).toMatch(/^250 voicemail stored/);
    const found = await messagesFrom(server, '5553001');
    expect(found.map((f) => f.mailbox).sort()).toEqual(['Alice', 'bob']);
    for (const { message } of found) {
      // The caller's name from the From display name, the number from its local part.
      expect(message).toMatchObject({ callerName: 'Dana Doe', priority: 'normal' });
      expect((await storedAudio(server, message)).equals(Buffer.from(TONE))).toBe(true);
    }
  });

  it('stores once for two addresses of one mailbox, with the priority nodemailer set', async () => {
    const mailer = transport();
    await mailer.sendMail(
      voicemail(['201@voicegate.local', 'Alice@voicegate.local'], '5553002', {
        priority: 'high',
      }),
    );
    mailer.close();
    const found = await messagesFrom(server, '5553002');
    expect(found.map((f) => f.mailbox)).toEqual(['Alice']);
    expect(found[0]!.message.priority).toBe('high');
  });

  it('reports a refused recipient and delivers to the rest', async () => {
    const mailer = transport();
    const info = await mailer.sendMail(
      voicemail(
        ['bob@voicegate.local', 'carol@voicegate.local', '201@elsewhere.example'],
        '5553003',
      ),
    );
    mailer.close();
    expect(info.accepted).toEqual(['bob@voicegate.local']);
    expect(info.rejected.sort()).toEqual(['201@elsewhere.example', 'carol@voicegate.local']);
    expect((await messagesFrom(server, '5553003')).map((f) => f.mailbox)).toEqual(['bob']);
  });

  it('stores each of many mails sent at once and one after another with its own audio', async () => {
    // Mails of different sizes, several at a time over kept connections: the server gathers
    // each into a buffer another mail had before it.
    const tones = [1.5, 2, 1, 4, 1.25, 3].map((seconds, i) =>
      Buffer.from(toneWav({ seconds, frequency: 400 + 50 * i })),
    );
    const mailers = [transport(), transport(), transport()];
    await Promise.all(
      mailers.map(async (mailer, m) => {
        for (let k = 0; k < tones.length; k++) {
          const tone = tones[(k + 2 * m) % tones.length]!;
          await mailer.sendMail({
            ...voicemail(['bob@voicegate.local'], `555310${m}${k}`),
            attachments: [{ filename: 'message.wav', content: tone }],
          });
        }
        mailer.close();
      }),
    );
    for (let m = 0; m < mailers.length; m++) {
      for (let k = 0; k < tones.length; k++) {
        const [found] = await messagesFrom(server, `555310${m}${k}`);
        const sent = tones[(k + 2 * m) % tones.length]!;
        expect((await storedAudio(server, found!.message)).equals(sent)).toBe(true);
      }
    }
  });
});
