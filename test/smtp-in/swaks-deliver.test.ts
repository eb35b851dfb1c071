import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { soxWav } from '../helpers/sox.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  explain,
  file,
  messagesFrom,
  sendWav,
  storedAudio,
  swaks,
  tmp,
  type SwaksResult,
} from './smtp-kit.ts';

const TONE = toneWav({ seconds: 2 });
let server: TestServer;
let wav: string;

beforeAll(async () => {
  server = await startTestServer();
  await server.context.mailboxes.add({ name: 'Alice', extension: '201' }, '1234');
  await server.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  wav = file('tone.wav', TONE);
});
afterAll(async () => server?.stop());

function accepted(r: SwaksResult): void {
  expect(r.code, explain(r)).toBe(0);
  expect(r.replies).toContain('250 voicemail stored');
}

describe('swaks delivering voicemail to the SMTP listener', () => {
  it('greets naming Voicegate and advertises STARTTLS and SIZE, but no AUTH', async () => {
    const r = await swaks(server, ['--to', '201@voicegate.local', '--quit-after', 'EHLO']);
    expect(r.replies[0]).toBe('220 voicegate.local ESMTP Voicegate voicemail');
    expect(r.replies).toContain('250-STARTTLS');
    expect(r.replies).toContain(`250 SIZE ${25 * 1024 * 1024}`);
    expect(r.replies.some((l) => l.includes('AUTH'))).toBe(false);
  });

  it('stores a WAV sent to 201@ in mailbox 201 with the caller number, audio unchanged', async () => {
    accepted(await sendWav(server, '201@voicegate.local', wav, '5551234'));
    const found = await messagesFrom(server, '5551234');
    expect(found.map((f) => f.mailbox)).toEqual(['Alice']);
    const { message } = found[0]!;
    expect(message).toMatchObject({ state: 'new', kind: 'message', priority: 'normal' });
    expect(message.audio.durationMs).toBe(2000);
    expect((await storedAudio(server, message)).equals(Buffer.from(TONE))).toBe(true);
  });

  it('finds the mailbox by name (Alice@), by Extn prefix (Extn202@, EXTN201@)', async () => {
    accepted(await sendWav(server, 'Alice@voicegate.local', wav, '5550001'));
    accepted(await sendWav(server, 'Extn202@voicegate.local', wav, '5550002'));
    accepted(await sendWav(server, 'EXTN201@VoiceGate.Local', wav, '5550003'));
    expect((await messagesFrom(server, '5550001')).map((f) => f.mailbox)).toEqual(['Alice']);
    expect((await messagesFrom(server, '5550002')).map((f) => f.mailbox)).toEqual(['bob']);
    expect((await messagesFrom(server, '5550003')).map((f) => f.mailbox)).toEqual(['Alice']);
  });

  it('accepts a name written in another case when one mailbox matches (alice@, BOB@)', async () => {
    accepted(await sendWav(server, 'alice@voicegate.local', wav, '5550004'));
    accepted(await sendWav(server, 'BOB@voicegate.local', wav, '5550005'));
    expect((await messagesFrom(server, '5550004')).map((f) => f.mailbox)).toEqual(['Alice']);
    expect((await messagesFrom(server, '5550005')).map((f) => f.mailbox)).toEqual(['bob']);
  });

  it('delivers over STARTTLS with the server certificate', async () => {
    const peerCert = join(tmp, 'peer.pem');
    const r = await sendWav(server, '202@voicegate.local', wav, '5550006', [
      '-tls',
      '--tls-get-peer-cert',
      peerCert,
    ]);
    accepted(r);
    expect(r.stdout).toContain('TLS started');
    // The reply to DATA came over the encrypted channel (swaks marks those lines "<~").
    expect(r.stdout).toMatch(/^<~ +250 voicemail stored/m);
    const pem = (text: string) => text.replace(/\s+/g, '');
    expect(pem(readFileSync(peerCert, 'utf8'))).toBe(
      pem(readFileSync(join(server.dir, 'tls', 'cert.pem'), 'utf8')),
    );
    expect((await messagesFrom(server, '5550006')).map((f) => f.mailbox)).toEqual(['bob']);
  });

  it('stores a µ-law WAV made by sox byte for byte, priority and privacy from the headers', async () => {
    const ulaw = soxWav(join(tmp, 'ulaw.wav'), 1.5, ['-e', 'u-law', '-b', '8']);
    accepted(
      await sendWav(server, '201@voicegate.local', ulaw, '5550007', [
        '--header',
        'Importance: High',
        '--header',
        'Sensitivity: Private',
        '--header',
        'X-VoiceMessageSenderName: Carol Caller',
      ]),
    );
    const { message } = (await messagesFrom(server, '5550007'))[0]!;
    expect(message).toMatchObject({
      callerName: 'Carol Caller',
      priority: 'high',
      private: true,
    });
    expect(message.audio.format).toBe('wav/mulaw/8000');
    expect((await storedAudio(server, message)).equals(readFileSync(ulaw))).toBe(true);
  });

  it('takes the caller from a sender like 5559876@pbx when there is no caller header', async () => {
    const r = await swaks(server, [
      '--to',
      '201@voicegate.local',
      '--from',
      '5559876@pbx.example',
      '--attach-type',
      'audio/x-wav',
      '--attach',
      `@${wav}`,
    ]);
    accepted(r);
    expect((await messagesFrom(server, '5559876')).map((f) => f.mailbox)).toEqual(['Alice']);
  });
});
