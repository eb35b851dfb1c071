/**
 * A voicemail mail delivered again (a sender's retry, a relay's duplicate, later a peer's resend)
 * is acknowledged with 250 and stored once: its Message-ID is the voicemail's identity.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailbox } from '../../server/domain/mailbox.ts';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { imapClient } from '../imap/imapflow-kit.ts';
import { mailServers, parse, until } from '../mail/mail-helpers.ts';
import { SmtpRecorder } from '../mail/smtp-recorder.ts';

const TONE = toneWav({ seconds: 2, frequency: 520 });
let server: TestServer;
let smtp: SmtpRecorder;
let alice: Mailbox;
let bob: Mailbox;
let carol: Mailbox;

beforeAll(async () => {
  smtp = await SmtpRecorder.start({ tls: 'none' });
  server = await startTestServer([mailServers([{ port: smtp.port, tls: 'opportunistic' }])]);
  alice = await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  bob = await server.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  carol = await server.context.mailboxes.add(
    { name: 'carol', extension: '203', email: 'carol@example.com', emailMode: 'forward' },
    '1234',
  );
});
afterAll(async () => {
  await server?.stop();
  await smtp?.close();
});

/** One voicemail mail, built once: every send of it is the same bytes, as a retry is. */
async function voicemailMail(caller: string, messageId: string | null): Promise<Buffer> {
  const mail = new MailComposer({
    from: `"Dana Doe" <${caller}@pbx.example>`,
    to: '201@voicegate.local',
    subject: 'Voice message',
    text: 'A voice message is attached.',
    attachments: [{ filename: 'message.wav', content: Buffer.from(TONE) }],
    ...(messageId ? { messageId } : {}),
  }).compile();
  const raw = await mail.build();
  // MailComposer invents a Message-ID when given none: take it out for a mail without one.
  return messageId
    ? raw
    : Buffer.from(raw.toString('latin1').replace(/^Message-ID:.*\r\n/im, ''), 'latin1');
}

/** nodemailer delivering as a mail server would; `pool` keeps that many connections open at once. */
function transport(pool = 1) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: server.ports.smtp,
    secure: false,
    requireTLS: true,
    tls: { ca: readFileSync(join(server.dir, 'tls', 'cert.pem')) },
    pool: pool > 1,
    maxConnections: pool,
    maxMessages: Infinity,
  });
}

function send(mailer: ReturnType<typeof transport>, raw: Buffer, to: string[]) {
  return mailer.sendMail({ envelope: { from: 'pbx@pbx.example', to }, raw });
}

/** The audio files kept (each in a folder named by its key's first characters). */
const audioFiles = () =>
  (readdirSync(join(server.dir, 'audio'), { recursive: true }) as string[]).filter((f) =>
    f.endsWith('.wav'),
  ).length;

async function fromCaller(mailbox: Mailbox, caller: string) {
  return (await server.context.messages.list(mailbox.id)).filter((m) => m.callerNumber === caller);
}

describe('the same voicemail mail delivered again', () => {
  it('stores one voicemail for 100 sends, 10 at a time over 10 connections, each answered 250', async () => {
    const identity = '01KAZ3N5Q8W2E4R6T8Y0V2H4K0@pbx.example';
    const raw = await voicemailMail('5554001', `<${identity}>`);
    const files = audioFiles();

    // The first ten one after another on one connection, then ninety over ten at once.
    const single = transport();
    const responses: string[] = [];
    for (let i = 0; i < 10; i++)
      responses.push((await send(single, raw, ['201@voicegate.local'])).response);
    single.close();
    const pooled = transport(10);
    const rest = await Promise.all(
      Array.from({ length: 90 }, () => send(pooled, raw, ['201@voicegate.local'])),
    );
    pooled.close();
    responses.push(...rest.map((info) => info.response));

    expect(responses).toHaveLength(100);
    for (const response of responses) expect(response).toMatch(/^250 /);
    const stored = await fromCaller(alice, '5554001');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ identity, callerName: 'Dana Doe', state: 'new' });
    // The 99 copies of the audio written before the store said "seen" are gone again.
    expect(audioFiles()).toBe(files + 1);

    // The identity travels: a mail client sees the sender's Message-ID on the voicemail.
    const client = imapClient(server, 'alice');
    await client.connect();
    try {
      await client.mailboxOpen('INBOX');
      const fetched = await client.fetchOne(
        String(stored[0]!.uid),
        { envelope: true },
        { uid: true },
      );
      expect(fetched && fetched.envelope?.messageId).toBe(`<${identity}>`);
    } finally {
      await client.logout();
    }
  });

  it('stores a second voicemail for another Message-ID, and one for each mail without any', async () => {
    const mailer = transport();
    for (const id of [
      '<01KAZ3N5Q8W2E4R6T8Y0V2H4K1@pbx.example>',
      '<01KAZ3N5Q8W2E4R6T8Y0V2H4K2@pbx.example>',
    ])
      expect(
        (await send(mailer, await voicemailMail('5554002', id), ['201@voicegate.local'])).response,
      ).toMatch(/^250 /);
    const bare = await voicemailMail('5554003', null);
    expect(bare.toString('latin1')).not.toMatch(/^Message-ID:/im);
    await send(mailer, bare, ['201@voicegate.local']);
    await send(mailer, bare, ['201@voicegate.local']);
    mailer.close();

    expect((await fromCaller(alice, '5554002')).map((m) => m.identity).sort()).toEqual([
      '01KAZ3N5Q8W2E4R6T8Y0V2H4K1@pbx.example',
      '01KAZ3N5Q8W2E4R6T8Y0V2H4K2@pbx.example',
    ]);
    const bareStored = await fromCaller(alice, '5554003');
    expect(bareStored).toHaveLength(2);
    // Each got an identity of this server's own.
    for (const m of bareStored) expect(m.identity).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}@voicegate$/);
    expect(bareStored[0]!.identity).not.toBe(bareStored[1]!.identity);
  });

  it("cannot make another mailbox's voicemail disappear by sending its Message-ID first", async () => {
    const identity = '01KAZ3N5Q8W2E4R6T8Y0V2H4K3@pbx.example';
    const mailer = transport();
    // A forger's mail to bob with the Message-ID alice's voicemail will carry...
    await send(mailer, await voicemailMail('5554666', `<${identity}>`), ['202@voicegate.local']);
    // ...does not stop it reaching alice.
    await send(mailer, await voicemailMail('5554004', `<${identity}>`), ['201@voicegate.local']);
    mailer.close();
    expect(await fromCaller(alice, '5554004')).toEqual([expect.objectContaining({ identity })]);
    expect(await fromCaller(bob, '5554666')).toEqual([expect.objectContaining({ identity })]);
  });

  it('stores a mail to two mailboxes in each once, however often it comes', async () => {
    const raw = await voicemailMail('5554005', '<01KAZ3N5Q8W2E4R6T8Y0V2H4K4@pbx.example>');
    const mailer = transport();
    for (let i = 0; i < 3; i++)
      await send(mailer, raw, ['201@voicegate.local', 'Extn202@voicegate.local']);
    mailer.close();
    expect(await fromCaller(alice, '5554005')).toHaveLength(1);
    expect(await fromCaller(bob, '5554005')).toHaveLength(1);
  });

  it('forwards a voicemail for a forward-mode mailbox once, also when it comes again later', async () => {
    const identity = '01KAZ3N5Q8W2E4R6T8Y0V2H4K5@pbx.example';
    const raw = await voicemailMail('5554006', `<${identity}>`);
    const before = smtp.mails.length;
    const mailer = transport();
    await Promise.all(Array.from({ length: 5 }, () => send(mailer, raw, ['203@voicegate.local'])));
    const [forwarded] = (await smtp.waitFor(before + 1)).slice(before);
    expect(forwarded!.to).toEqual(['carol@example.com']);
    // The forward carries the voicemail's identity as its Message-ID.
    expect((await parse(forwarded!.raw)).messageId).toBe(`<${identity}>`);
    await until(
      async () => (await server.context.deliveries.list()).length === 0,
      10_000,
      'the queue to empty',
    );

    // Sent and gone from the queue: a resend now is still recognised, and nothing is queued.
    expect((await send(mailer, raw, ['203@voicegate.local'])).response).toMatch(/^250 /);
    mailer.close();
    expect(await server.context.deliveries.list()).toEqual([]);
    expect(await server.context.messages.list(carol.id)).toEqual([]);
    expect(smtp.mails).toHaveLength(before + 1);
  });
});
