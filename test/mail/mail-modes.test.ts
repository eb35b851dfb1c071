import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mailbox } from '../../server/domain/mailbox.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import {
  firstAddress,
  makeCert,
  mailServers,
  parse,
  until,
  wav,
  webInbox,
  webLogin,
} from './mail-helpers.ts';
import { SmtpRecorder } from './smtp-recorder.ts';
import type { Delivery } from '../../server/domain/delivery.ts';

/**
 * The e-mail modes end to end: a real server in this process delivers to a real SMTP server
 * on loopback (STARTTLS with a certificate the config trusts), and we read what arrived.
 */
let dir: string;
let smtp: SmtpRecorder;
let server: TestServer;
let audio: Buffer;
const box: Record<string, Mailbox> = {};

// 23:30 UTC on 15 January 2026 is 08:30 on the 16th in Tokyo, 18:30 on the 15th in New York.
const RECEIVED = Date.UTC(2026, 0, 15, 23, 30, 0);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mail-modes-'));
  const cert = await makeCert(dir);
  smtp = await SmtpRecorder.start({ tls: 'starttls', cert });
  server = await startTestServer([
    mailServers([{ port: smtp.port, tls: 'opportunistic', caFile: cert.caFile }]),
  ]);
  audio = wav(dir, 2);
  const add = async (
    name: string,
    extension: string,
    more: Partial<Pick<Mailbox, 'fullName' | 'email' | 'emailMode' | 'timeZone'>>,
  ) => (box[name] = await server.context.mailboxes.add({ name, extension, ...more }, '1234'));
  await add('alice', '201', {
    fullName: 'Alice Martin',
    email: 'alice@example.com',
    emailMode: 'copy',
    timeZone: 'Asia/Tokyo',
  });
  await add('bob', '202', {
    fullName: 'Bob Stone',
    email: 'bob@example.com',
    emailMode: 'alert',
    timeZone: 'America/New_York',
  });
  await add('carol', '203', { email: 'carol@example.com', emailMode: 'forward' });
  await add('dave', '204', { email: 'dave@example.com', emailMode: 'off' });
  await add('erin', '205', {});
});

afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  rmSync(dir, { recursive: true, force: true });
});

function deposit(mailbox: string) {
  return server.context.messages.deposit({
    mailbox,
    audio,
    callerNumber: '+33142685300',
    callerName: 'Dana Leroy',
    receivedAt: RECEIVED,
  });
}

const cli = (...args: string[]) => runCli(['--config', server.configFile, ...args]);
const queue = () => server.context.deliveries.list();
const audioFiles = () =>
  readdirSync(join(server.dir, 'audio'), { recursive: true, withFileTypes: true }).filter((e) =>
    e.isFile(),
  ).length;

describe('e-mail modes', () => {
  it('copy: keeps the message and mails it with the WAV, from the mailbox’s own address', async () => {
    // Mailboxes with mode off, or without an address, go first: nothing may be queued for them.
    const before = smtp.mails.length;
    expect(await deposit('dave')).toHaveLength(1);
    expect(await deposit('erin')).toHaveLength(1);
    expect(await queue()).toEqual([]);

    const [kept] = await deposit('201');
    expect(await server.context.messages.list(box.alice!.id)).toEqual([
      expect.objectContaining({ id: kept!.id, state: 'new' }),
    ]);
    const [got] = (await smtp.waitFor(before + 1)).slice(before);
    // Only alice's mail arrived: off and no address sent nothing.
    expect(smtp.mails).toHaveLength(before + 1);
    expect(got!.to).toEqual(['alice@example.com']);
    // No mail.from configured: the mailbox's own address is the sender.
    expect(got!.from).toBe('alice@example.com');
    expect(got!.secure).toBe(true);

    const mail = await parse(got!.raw);
    expect(mail.subject).toBe(
      'Voicemail Message (Dana Leroy (+33142685300) > Alice Martin) From:Dana Leroy (+33142685300)',
    );
    expect(firstAddress(mail.from)).toEqual({ name: 'Dana Leroy', address: 'alice@example.com' });
    expect(firstAddress(mail.to)).toEqual({ name: 'Alice Martin', address: 'alice@example.com' });
    expect(mail.text).toContain('From:     Dana Leroy (+33142685300)');
    expect(mail.text).toContain('Received: 2026-01-16 08:30 (Asia/Tokyo)');
    expect(mail.text).toContain('Length:   0:02');
    expect(mail.html).toContain('Dana Leroy (+33142685300)');
    expect(mail.html).toContain('2026-01-16 08:30 (Asia/Tokyo)');
    expect(mail.html).toContain('0:02');
    expect(mail.attachments).toHaveLength(1);
    const [wavPart] = mail.attachments;
    expect(wavPart!.contentType).toBe('audio/wav');
    expect(wavPart!.filename).toMatch(/\.wav$/);
    expect(Buffer.compare(wavPart!.content, audio)).toBe(0);

    // Sent: the queue is empty again; the message stays, with its audio.
    await until(async () => (await queue()).length === 0, 5000, 'the queue to empty');
    const stored = await server.context.messages.get(box.alice!.id, kept!.id);
    expect(
      Buffer.compare(Buffer.from(await server.context.audio.read(stored.audio.key)), audio),
    ).toBe(0);
  });

  it('alert: keeps the message and sends a notice without audio, linking to the web player', async () => {
    const before = smtp.mails.length;
    const [kept] = await deposit('bob');
    expect(await server.context.messages.list(box.bob!.id)).toHaveLength(1);
    const [got] = (await smtp.waitFor(before + 1)).slice(before);
    expect(got!.to).toEqual(['bob@example.com']);
    const mail = await parse(got!.raw);
    expect(mail.subject).toBe(
      'Voicemail Message (Dana Leroy (+33142685300) > Bob Stone) From:Dana Leroy (+33142685300)',
    );
    expect(mail.attachments).toEqual([]);
    expect(mail.text).toContain('Received: 2026-01-15 18:30 (America/New_York)');
    const link = `${server.urls.http}/#/messages/${kept!.id}`;
    expect(mail.text).toContain(`Listen in the browser: ${link}`);
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.text).toContain('The recording is in your voicemail box.');
  });

  it('forward: mails the WAV and keeps nothing once the mail server accepted it', async () => {
    const before = smtp.mails.length;
    const files = audioFiles();
    expect(await deposit('203')).toEqual([]);
    expect(await server.context.messages.list(box.carol!.id)).toEqual([]);
    const [got] = (await smtp.waitFor(before + 1)).slice(before);
    expect(got!.to).toEqual(['carol@example.com']);
    const mail = await parse(got!.raw);
    // No full name: the mailbox's name stands in.
    expect(mail.subject).toBe(
      'Voicemail Message (Dana Leroy (+33142685300) > carol) From:Dana Leroy (+33142685300)',
    );
    expect(Buffer.compare(mail.attachments[0]!.content, audio)).toBe(0);
    await until(async () => (await queue()).length === 0, 5000, 'the queue to empty');
    expect(await server.context.messages.list(box.carol!.id)).toEqual([]);
    // The audio the queue held is gone too (removed just after its queue row).
    await until(async () => audioFiles() === files, 5000, 'the queued audio to be removed');
  });

  it('forward refused for good (5xx): the voicemail is kept in the mailbox, the bounce recorded', async () => {
    smtp.answer = 'reject';
    try {
      const before = smtp.mails.length;
      await deposit('203');
      const bounced = await until(
        async () => (await queue()).find((m) => m.status === 'failed'),
        10_000,
        'the bounce',
      );
      expect(bounced).toMatchObject({ kind: 'forward', recipient: 'carol@example.com' });
      expect(bounced.lastError).toMatch(/550/);
      const kept = await server.context.messages.list(box.carol!.id);
      expect(kept).toEqual([
        expect.objectContaining({
          id: (bounced as Delivery).voicemailId,
          callerNumber: '+33142685300',
          callerName: 'Dana Leroy',
          receivedAt: RECEIVED,
          state: 'new',
        }),
      ]);
      expect(
        Buffer.compare(Buffer.from(await server.context.audio.read(kept[0]!.audio.key)), audio),
      ).toBe(0);
      // The owner sees why: the remote server's own words, on the kept message.
      const { messages } = await webInbox(server, await webLogin(server, 'carol', '1234'));
      const shown = messages.find((m) => m.id === (bounced as Delivery).voicemailId);
      expect(shown?.emailError).toContain('550 5.1.1 No such user here');
      expect(shown?.emailError).toBe(bounced.lastError);
      expect(smtp.mails).toHaveLength(before);
      const list = await cli('queue', 'list');
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/forward\s+carol@example\.com\s+failed\s+\d+\s+.*550/);
    } finally {
      smtp.answer = 'accept';
    }
  });

  it('a bounce counts the attempt that bounced', async () => {
    // Regression (fixed): failMail leaves attempts at 0, so `queue list` says a bounced mail was never tried.
    const [bounced] = await queue();
    expect(bounced).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('forward while the server answers 4xx or is down: waits in the queue, sent once it is back', async () => {
    // Clean up the bounce of the previous test, keeping its message (already in the mailbox).
    for (const m of await queue()) await server.context.deliveries.drop(m.id);
    const carolBefore = (await server.context.messages.list(box.carol!.id)).length;

    for (const trouble of ['defer', 'down'] as const) {
      if (trouble === 'defer') smtp.answer = 'defer';
      else await smtp.down();
      const before = smtp.mails.length;
      await deposit('203');
      const waiting = await until(
        async () => (await queue()).find((m) => m.attempts >= 1),
        10_000,
        `a failed attempt (${trouble})`,
      );
      expect(waiting).toMatchObject({ kind: 'forward', status: 'pending', attempts: 1 });
      if (trouble === 'defer') expect(waiting.lastError).toMatch(/451/);
      // Back-off: the next try is about a minute later.
      expect(waiting.nextAttemptAt).toBeGreaterThan(Date.now() + 30_000);
      // Not kept (no lamp) and not lost: it is in the queue.
      expect(await server.context.messages.list(box.carol!.id)).toHaveLength(carolBefore);
      const list = await cli('queue', 'list');
      expect(list.stdout).toMatch(
        new RegExp(
          `^${waiting.id}\\s+smtp\\s+forward\\s+carol@example\\.com\\s+pending\\s+1\\s`,
          'm',
        ),
      );

      smtp.answer = 'accept';
      await smtp.up();
      const retry = await cli('queue', 'retry', String(waiting.id));
      expect(retry.code).toBe(0);
      const [got] = (await smtp.waitFor(before + 1)).slice(before);
      expect(got!.to).toEqual(['carol@example.com']);
      expect(Buffer.compare((await parse(got!.raw)).attachments[0]!.content, audio)).toBe(0);
      await until(async () => (await queue()).length === 0, 5000, 'the queue to empty');
      expect(await server.context.messages.list(box.carol!.id)).toHaveLength(carolBefore);
    }
  });

  it('copy refused for good (5xx): the kept message shows why, and the list is no longer current', async () => {
    // Down first, so the copy waits in the queue while we read the list as it stands.
    await smtp.down();
    try {
      const [kept] = await deposit('alice');
      const waiting = await until(
        async () => (await queue()).find((m) => m.kind === 'copy' && m.attempts >= 1),
        10_000,
        'a failed attempt',
      );
      const session = await webLogin(server, 'alice', '1234');
      const before = await webInbox(server, session);
      expect(before.messages.find((m) => m.id === kept!.id)?.emailError).toBeNull();

      smtp.answer = 'reject';
      await smtp.up();
      await server.context.deliveries.retry(waiting.id);
      const bounced = await until(
        async () => (await queue()).find((m) => m.id === waiting.id && m.status === 'failed'),
        10_000,
        'the bounce',
      );

      // The web app's cached list is stale now: the same ETag gets the list again, in full.
      const after = await webInbox(server, session, before.etag);
      expect(after.status).toBe(200);
      expect(after.etag).not.toBe(before.etag);
      const shown = after.messages.find((m) => m.id === kept!.id);
      expect(shown?.emailError).toContain('550 5.1.1 No such user here');
      expect(shown?.emailError).toBe(bounced.lastError);
      // The message itself is untouched: still new, still in the inbox.
      expect(shown?.state).toBe('new');
      expect((await server.context.messages.get(box.alice!.id, kept!.id)).emailError).toBe(
        bounced.lastError,
      );
    } finally {
      smtp.answer = 'accept';
      await smtp.up();
    }
  });
});
