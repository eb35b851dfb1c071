import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { firstAddress, mailServers, parse, until, wav, webLogin } from './mail-helpers.ts';
import { SmtpRecorder } from './smtp-recorder.ts';

/** "Forward to e-mail" from the web API of a real server, delivered to a real SMTP server. */
let dir: string;
let smtp: SmtpRecorder;
let server: TestServer;
let audio: Buffer;
let alice: { cookie: string; csrf: string };
let publicId: string;
let privateId: string;
let bobsId: string;

function forwardEmail(id: string, payload: unknown, session = alice, csrf = true) {
  return server.http.inject({
    method: 'POST',
    url: `/api/messages/${id}/forward-email`,
    headers: { cookie: session.cookie, ...(csrf ? { 'x-csrf-token': session.csrf } : {}) },
    payload: payload as object,
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voicegate-mail-api-'));
  smtp = await SmtpRecorder.start({ tls: 'none' });
  server = await startTestServer([mailServers([{ port: smtp.port }])]);
  audio = wav(dir, 2);
  const { mailboxes, messages } = server.context;
  // Alice has an address but sends nothing on her own (mode off).
  await mailboxes.add(
    { name: 'alice', extension: '201', fullName: 'Alice Martin', email: 'alice@example.com' },
    '1234',
  );
  await mailboxes.add({ name: 'bob', extension: '202' }, '1234');
  const caller = { audio, callerNumber: '+3312345678', callerName: 'Dana Leroy' };
  publicId = (await messages.deposit({ mailbox: '201', ...caller }))[0]!.id;
  privateId = (await messages.deposit({ mailbox: '201', ...caller, private: true }))[0]!.id;
  bobsId = (await messages.deposit({ mailbox: '202', ...caller }))[0]!.id;
  alice = await webLogin(server, 'alice', '1234');
});

afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  rmSync(dir, { recursive: true, force: true });
});

const queue = () => server.context.deliveries.list();

describe('POST /api/messages/:id/forward-email', () => {
  it('queues the message and sends it with its WAV to any address', async () => {
    const res = await forwardEmail(publicId, { to: 'someone@elsewhere.example' });
    expect(res.statusCode).toBe(202);
    const [got] = await smtp.waitFor(1);
    expect(got!.to).toEqual(['someone@elsewhere.example']);
    // No mail.from: the mailbox's own address sends it.
    expect(got!.from).toBe('alice@example.com');
    const mail = await parse(got!.raw);
    expect(mail.subject).toBe(
      'Voicemail Message (Dana Leroy (+3312345678) > Alice Martin) From:Dana Leroy (+3312345678)',
    );
    expect(firstAddress(mail.to).address).toBe('someone@elsewhere.example');
    expect(Buffer.compare(mail.attachments[0]!.content, audio)).toBe(0);
    await until(async () => (await queue()).length === 0, 5000, 'the queue to empty');
    // The message stays where it was, as it was.
    const listed = await server.http.inject({
      method: 'GET',
      url: '/api/messages',
      headers: { cookie: alice.cookie },
    });
    const ids = (listed.json() as { messages: { id: string; state: string }[] }).messages;
    expect(ids).toContainEqual(expect.objectContaining({ id: publicId, state: 'new' }));
  });

  it('does not show the recipient under the mailbox owner’s name', async () => {
    const mail = await parse(smtp.mails[0]!.raw);
    // Regression (fixed): the To field reads "Alice Martin <someone@elsewhere.example>".
    expect(firstAddress(mail.to).name).not.toBe('Alice Martin');
  });

  it('links, if at all, to the message that was forwarded', async () => {
    const mail = await parse(smtp.mails[0]!.raw);
    const linked = [...(mail.text ?? '').matchAll(/#\/messages\/([\w-]+)/g)].map((m) => m[1]);
    // Regression (fixed): the link names the mail's own random id, a message that does not exist.
    for (const id of linked) expect(id).toBe(publicId);
  });

  it('refuses a private message with 403 and queues nothing', async () => {
    const res = await forwardEmail(privateId, { to: 'someone@elsewhere.example' });
    expect(res.statusCode).toBe(403);
    expect(await queue()).toEqual([]);
  });

  it('answers 400 to an address that is not one', async () => {
    for (const to of ['not-an-address', 'a@b', 'two words@example.com', '<x@example.com>']) {
      const res = await forwardEmail(publicId, { to });
      expect(res.statusCode, to).toBe(400);
    }
    expect((await forwardEmail(publicId, {})).statusCode).toBe(400);
    expect(await queue()).toEqual([]);
  });

  it('needs the session and its CSRF token, and only reaches its own mailbox', async () => {
    const to = { to: 'someone@elsewhere.example' };
    expect((await forwardEmail(publicId, to, alice, false)).statusCode).toBe(403);
    expect((await forwardEmail(publicId, to, { cookie: '', csrf: '' }, false)).statusCode).toBe(
      401,
    );
    expect((await forwardEmail(bobsId, to)).statusCode).toBe(404);
    expect(await queue()).toEqual([]);
    expect(smtp.mails).toHaveLength(1);
  });
});
