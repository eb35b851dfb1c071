import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await server.context.messages.deposit({
    mailbox: '201',
    audio: toneWav({ seconds: 2 }),
    callerNumber: '5551234',
    callerName: 'Joe',
  });
});
afterAll(async () => server.stop());

function client(user: string, pass: string, secure = true): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: secure ? server.ports.imaps : server.ports.imap,
    secure,
    tls: { rejectUnauthorized: false },
    auth: { user, pass },
    logger: false,
  });
}

describe('IMAP login', () => {
  it('logs in over TLS by extension and lists the voicemail', async () => {
    const c = client('201', '1234');
    await c.connect();
    const lock = await c.getMailboxLock('INBOX');
    try {
      const list = [];
      for await (const m of c.fetch('1:*', { envelope: true, flags: true })) list.push(m);
      expect(list).toHaveLength(1);
      expect(list[0]!.envelope!.subject).toBe(
        'Voicemail Message (Joe (5551234) > alice) From:Joe (5551234)',
      );
      expect([...list[0]!.flags!]).toEqual([]);
    } finally {
      lock.release();
    }
    await c.logout();
  });
});

describe('IMAP log-ins on the audit trail', () => {
  it('records a right and a wrong code with the channel, mailbox, client address and reason', async () => {
    const good = client('201', '1234');
    await good.connect();
    await good.logout();
    const wrong = client('201', '9999');
    await expect(wrong.connect()).rejects.toThrow();
    wrong.close();
    const records = await server.context.store.queryAudit({
      mailbox: 'alice',
      kind: 'login',
      limit: 2,
    });
    expect(records.map((r) => [r.channel, r.principal, r.mailbox, r.outcome, r.reason])).toEqual([
      ['imap', null, 'alice', 'failure', 'wrong code'],
      ['imap', 'mailbox:alice', 'alice', 'success', null],
    ]);
    for (const r of records) expect(r.client).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });
});
