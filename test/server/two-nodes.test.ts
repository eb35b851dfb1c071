// Two Voicegate nodes on one PostgreSQL database, as an installation behind a load balancer runs
// them: whichever node a channel reaches, it sees and changes the same voicemail.
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { connected, deposit } from '../imap/imapflow-kit.ts';
import { mailServers, until } from '../mail/mail-helpers.ts';
import { SmtpRecorder } from '../mail/smtp-recorder.ts';

let cluster: PgCluster;
let smtp: SmtpRecorder;
let nodeA: TestServer;
let nodeB: TestServer;
const clients: ImapFlow[] = [];

beforeAll(async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase();
  smtp = await SmtpRecorder.start({ tls: 'none' });
  const sets = [
    'store.backend=postgresql',
    `store.url=${url}`,
    'imap.allowPlaintextAuth=true',
    mailServers([{ port: smtp.port, tls: 'opportunistic' }]),
  ];
  nodeA = await startTestServer(sets);
  nodeB = await startTestServer(sets);
  await nodeA.context.mailboxes.add(
    { name: 'alice', extension: '201', email: 'alice@example.com', emailMode: 'copy' },
    '1234',
  );
  await nodeB.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.logout().catch(() => {});
  await nodeA?.stop();
  await nodeB?.stop();
  await smtp?.close();
  await cluster?.stop();
}, 60_000);

describe('two nodes on one PostgreSQL store', () => {
  it('an IMAP IDLE session on node A sees a deposit made on node B within a second', async () => {
    const client = await connected(nodeA, 'bob', { disableAutoIdle: true });
    clients.push(client);
    await client.mailboxOpen('INBOX');
    const before = client.mailbox && typeof client.mailbox === 'object' ? client.mailbox.exists : 0;
    void client.idle().catch(() => {});
    await until(() => client.idling, 5000, 'IDLE');
    const arrived = new Promise<number>((resolve) =>
      client.on('exists', (data: { count: number }) => resolve(data.count)),
    );
    const t0 = performance.now();
    await deposit(nodeB, 'bob', { callerNumber: '5550001' });
    expect(await arrived).toBe(before + 1);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('concurrent deposits into one mailbox from both nodes get distinct, rising UIDs', async () => {
    const start = (await nodeA.context.store.folderSnapshot(
      (await nodeA.context.store.findMailbox('bob'))!.id,
      'inbox',
    ))!.uidNext;
    const made = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        deposit(i % 2 ? nodeB : nodeA, 'bob', { callerNumber: `55510${i}` }),
      ),
    );
    const uids = made.map((d) => d.message.uid).sort((x, y) => x - y);
    // No UID twice, and none skipped: a client would read a gap as an expunge.
    expect(uids).toEqual(Array.from({ length: 16 }, (_, i) => start + i));
    // A mail client on either node lists the same UIDs.
    const client = await connected(nodeB, 'bob');
    clients.push(client);
    await client.mailboxOpen('INBOX');
    const listed: number[] = [];
    for await (const m of client.fetch('1:*', { uid: true })) listed.push(m.uid);
    expect(listed.slice(-16)).toEqual(uids);
  });

  it('sends each voicemail e-mail once, whichever node queued it', async () => {
    const sent = smtp.mails.length;
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        deposit(i % 2 ? nodeB : nodeA, 'alice', { callerNumber: `55520${i}` }),
      ),
    );
    await until(async () => (await nodeA.context.store.listDeliveries()).length === 0, 20_000);
    await smtp.waitFor(sent + 6);
    // Both nodes' delivery runners claimed from the one queue: still one mail per voicemail.
    const ids = smtp.mails
      .slice(sent)
      .map((m) => /^Message-ID: *(.*)$/im.exec(m.raw.toString())?.[1]);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
  });
});
