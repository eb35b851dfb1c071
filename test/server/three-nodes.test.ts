// Three Voicegate nodes on one PostgreSQL database: a change made through one channel on one node
// reaches a phone's lamp, a web page and a mail client held on the others.
import type { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSipp } from '../helpers/sipp.ts';
import { startPgCluster, type PgCluster } from '../helpers/postgres.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { connected, deposit } from '../imap/imapflow-kit.ts';
import { received, scenario, sippTrace } from '../phone/sipp-kit.ts';

/** A lamp, a web page or a mail client follows a change within a second, whichever node made it. */
const LIMIT_MS = 1000;

let cluster: PgCluster;
let nodes: TestServer[] = [];
const clients: ImapFlow[] = [];

beforeAll(async () => {
  cluster = await startPgCluster();
  const url = await cluster.createDatabase();
  const sets = [
    'store.backend=postgresql',
    `store.url=${url}`,
    // Plain HTTP (as behind a proxy), so the page's events are read with fetch.
    'http.tls=false',
    // SIPp answers no digest challenge: 127.0.0.1 stands for a trusted PBX here.
    'sip.trustedPeers=[127.0.0.1/32]',
  ];
  nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startTestServer(sets));
  await nodes[0]!.context.mailboxes.add({ name: 'alice', extension: '201' }, '1234');
  await nodes[1]!.context.mailboxes.add({ name: 'bob', extension: '202' }, '1234');
}, 180_000);

afterAll(async () => {
  for (const c of clients) await c.logout().catch(() => {});
  for (const n of nodes) await n.stop();
  await cluster?.stop();
}, 60_000);

/** The `change` events a web page of `mailbox` logged in on `node` receives. */
async function webPage(node: TestServer, mailbox: string) {
  const login = await fetch(`${node.urls.http}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mailbox, code: '1234' }),
  });
  expect(login.status).toBe(200);
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  const controller = new AbortController();
  const res = await fetch(`${node.urls.http}/api/events`, {
    headers: { cookie },
    signal: controller.signal,
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: {
    data: { kind: string; messageId: string | null; state: string | null };
    at: number;
  }[] = [];
  let buffer = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = /^event: change\ndata: (.*)$/m.exec(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data) events.push({ data: JSON.parse(data[1]!), at: performance.now() });
      }
    }
  })();
  return {
    async waitFor(pred: (e: (typeof events)[number]) => boolean, ms = 5000) {
      const deadline = performance.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (performance.now() > deadline)
          throw new Error(`no such event; got ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => controller.abort(),
  };
}

describe('three nodes on one PostgreSQL store', () => {
  it('a phone subscribed on node A: its lamp lit by a deposit on B, put out by IMAP \\Seen on C', async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const trace = sippTrace();
    const run = runSipp(scenario('mwi-subscriber.xml'), `127.0.0.1:${a.ports.sip}`, {
      service: '201',
      args: trace.args,
    });
    await received(trace, /^NOTIFY [\s\S]*Voice-Message: 0\/0/m);

    await deposit(b, 'alice', { callerNumber: '5550133' });
    const deposited = Date.now(); // acknowledged, so committed
    const lit = await received(trace, /^NOTIFY [\s\S]*Voice-Message: 1\/0/m);
    expect(lit.text).toMatch(/Messages-Waiting: yes/);
    expect(lit.at - deposited).toBeLessThan(LIMIT_MS);

    const imap = await connected(c, 'alice');
    clients.push(imap);
    await imap.mailboxOpen('INBOX');
    const seen = Date.now();
    await imap.messageFlagsAdd('1:*', ['\\Seen']);
    const off = await received(trace, /^NOTIFY [\s\S]*Voice-Message: 0\/1/m);
    expect(off.at - seen).toBeLessThan(LIMIT_MS);
    // SIPp checked each NOTIFY's Event and Messages-Waiting, and the unsubscribe.
    const done = await run;
    expect(done.code, done.log).toBe(0);
  });

  it('a web page on node A sees a voicemail deleted by a mail client on node B', async () => {
    const [a, b, c] = nodes as [TestServer, TestServer, TestServer];
    const { message } = await deposit(c, 'bob', { callerNumber: '5550144' });
    const page = await webPage(a, 'bob');
    try {
      const imap = await connected(b, 'bob');
      clients.push(imap);
      await imap.mailboxOpen('INBOX');
      const t0 = performance.now();
      await imap.messageDelete(String(message.uid), { uid: true });
      // Moved to the deleted view, or gone: either way, out of the page's inbox.
      const gone = await page.waitFor(
        (e) =>
          e.data.messageId === message.id &&
          (e.data.state === 'deleted' || e.data.kind === 'removed'),
      );
      expect(gone.at - t0).toBeLessThan(LIMIT_MS);
      // What the page reloads from node A agrees.
      expect((await a.context.store.getMessage(message.id))?.state ?? 'removed').toMatch(
        /^(deleted|removed)$/,
      );
    } finally {
      page.close();
    }
  });

  it('deposits made at once on all three nodes get consecutive UIDs, none twice', async () => {
    const box = (await nodes[0]!.context.store.findMailbox('bob'))!;
    const start = (await nodes[0]!.context.store.folderSnapshot(box.id, 'inbox'))!.uidNext;
    const made = await Promise.all(
      Array.from({ length: 18 }, (_, i) =>
        deposit(nodes[i % 3]!, 'bob', { callerNumber: `55530${i}` }),
      ),
    );
    const uids = made.map((d) => d.message.uid).sort((x, y) => x - y);
    expect(uids).toEqual(Array.from({ length: 18 }, (_, i) => start + i));
  });
});
