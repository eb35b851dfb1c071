import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { firstAddress, mailServers, parse, sleep, wav } from './mail-helpers.ts';
import { SmtpRecorder } from './smtp-recorder.ts';

/** Two SMTP servers: the first is the default, the second serves partner.example. */
let dir: string;
let main: SmtpRecorder;
let partner: SmtpRecorder;
let server: TestServer;
let audio: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mail-routing-'));
  main = await SmtpRecorder.start({ tls: 'none' });
  partner = await SmtpRecorder.start({ tls: 'none' });
  server = await startTestServer([
    'mail.from=voicemail@vg.example',
    mailServers([
      { port: main.port },
      { port: partner.port, domains: ['partner.example'], from: 'relay@partner-gw.example' },
    ]),
  ]);
  audio = wav(dir, 2);
  const add = (name: string, extension: string, email: string) =>
    server.context.mailboxes.add({ name, extension, email, emailMode: 'copy' }, '1234');
  await add('alice', '201', 'alice@example.com');
  await add('bob', '202', 'bob@partner.example');
  // A domain that only ends like the partner's is not the partner's.
  await add('mallory', '203', 'mallory@notpartner.example');
});

afterAll(async () => {
  await server?.stop();
  await main?.close();
  await partner?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('per-domain SMTP servers', () => {
  it('sends mail for partner.example through the second server, all other mail through the first', async () => {
    for (const mailbox of ['201', '202', '203'])
      await server.context.messages.deposit({ mailbox, audio, callerNumber: '+3312345678' });
    const alice = (await server.context.mailboxes.resolve('alice')).id;
    const [message] = await server.context.messages.list(alice);
    // A user's forward to e-mail follows the same rule; domains compare without case (the
    // receiving server may lower-case the domain in the envelope).
    await server.context.messages.forwardToEmail(alice, message!.id, 'carol@Partner.Example');

    await main.waitFor(2);
    await partner.waitFor(2);
    await sleep(300);
    expect(main.mails.map((m) => m.to).sort()).toEqual([
      ['alice@example.com'],
      ['mallory@notpartner.example'],
    ]);
    expect(partner.mails.map((m) => m.to[0]!.toLowerCase()).sort()).toEqual([
      'bob@partner.example',
      'carol@partner.example',
    ]);

    // The sender: the entry's own when it names one, else mail.from.
    for (const m of main.mails) {
      expect(m.from).toBe('voicemail@vg.example');
      expect(firstAddress((await parse(m.raw)).from).address).toBe('voicemail@vg.example');
    }
    for (const m of partner.mails) {
      expect(m.from).toBe('relay@partner-gw.example');
      expect(firstAddress((await parse(m.raw)).from).address).toBe('relay@partner-gw.example');
    }
    expect(await server.context.deliveries.list()).toEqual([]);
  });
});
