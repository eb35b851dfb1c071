import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../server/domain/message.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { explain, run, type RunResult } from './fixtures/clients-run.ts';

const AUDIO = toneWav({ seconds: 2 });
const SUBJECT = 'Subject: Voicemail Message (Joe (5551234) > alice) From:Joe (5551234)';

let server: TestServer;
let cert: string;
let message: Message;
beforeAll(async () => {
  server = await startTestServer();
  cert = join(server.dir, 'tls', 'cert.pem');
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  message = (
    await server.context.messages.deposit({
      mailbox: '201',
      audio: AUDIO,
      callerNumber: '5551234',
      callerName: 'Joe',
    })
  )[0]!;
});
afterAll(async () => server?.stop());

const starttls = (path = ''): string => `imap://127.0.0.1:${server.ports.imap}/${path}`;
const implicit = (path = ''): string => `imaps://127.0.0.1:${server.ports.imaps}/${path}`;

/** curl as a user would run it: verifying the server against its certificate, never -k. */
async function curl(url: string, ...args: string[]): Promise<RunResult> {
  return run('curl', ['-sS', '--max-time', '10', '--cacert', cert, '-u', '201:1234', ...args, url]);
}

async function curlOk(url: string, ...args: string[]): Promise<string> {
  const r = await curl(url, ...args);
  expect(r.code, explain(r)).toBe(0);
  return r.stdout;
}

/** The decoded audio/wav part of a rendered message. */
function wavPart(mime: string): Buffer {
  const part =
    /Content-Type: audio\/wav[^\r\n]*(?:\r?\n[^\r\n]+)*\r?\n\r?\n([A-Za-z0-9+/=\r\n]+)/.exec(mime);
  expect(part, 'an audio/wav part').not.toBeNull();
  return Buffer.from(part![1]!.replace(/\s/g, ''), 'base64');
}

describe('curl as an IMAP client', () => {
  it('lists INBOX and Trash (marked \\Trash) over STARTTLS and over implicit TLS', async () => {
    for (const url of [starttls(), implicit()]) {
      const extra = url.startsWith('imap:') ? ['--ssl-reqd'] : [];
      const out = await curlOk(url, ...extra);
      expect(out).toContain('* LIST (\\HasNoChildren) "/" "INBOX"');
      expect(out).toMatch(/^\* LIST \([^)]*\\Trash[^)]*\) "\/" "Trash"\r?$/m);
    }
  });

  it('refuses the connection when it cannot verify the certificate (no --cacert)', async () => {
    const r = await run('curl', ['-sS', '--max-time', '10', '-u', '201:1234', implicit()]);
    expect(r.code, explain(r)).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    expect(r.stderr).toMatch(/certificate/i);
  });

  it('fetches INBOX;UID=1 as the voicemail with its WAV, which reading marks as old', async () => {
    const mime = await curlOk(starttls('INBOX;UID=1'), '--ssl-reqd');
    expect(mime.split(/\r?\n/)).toContain(SUBJECT);
    expect(mime).toMatch(/^Content-Class: voice-ca\r?$/m);
    expect(mime).toMatch(/^Content-Type: audio\/wav; name=voicemail-\d{8}-\d{4}\.wav\r?$/m);
    expect(wavPart(mime).equals(Buffer.from(AUDIO))).toBe(true);
    // curl fetches BODY[] (not PEEK): reading a message in a mail client is playing it.
    expect((await server.context.store.getMessage(message.id))?.state).toBe('old');
  });

  it('saves the message with UID STORE +FLAGS (\\Flagged)', async () => {
    const out = await curlOk(implicit('INBOX'), '-X', 'UID STORE 1 +FLAGS (\\Flagged)');
    expect(out).toMatch(/^\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Flagged\)\)\r?$/m);
    expect((await server.context.store.getMessage(message.id))?.state).toBe('saved');
    // What another client sees now, over the other port.
    const flags = await curlOk(starttls('INBOX'), '--ssl-reqd', '-X', 'UID FETCH 1 (FLAGS)');
    expect(flags).toMatch(/FLAGS \(\\Seen \\Flagged\)/);
  });
});
