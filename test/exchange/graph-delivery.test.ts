import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { until } from '../mail/mail-helpers.ts';
import { GraphServer } from '../support/graph-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let graph: GraphServer;
let vg: TestServer;
const ALICE = 'alice@contoso.example';

async function startVoicegate(connection: Record<string, unknown>): Promise<TestServer> {
  const server = await startTestServer([
    `exchange.connections=${JSON.stringify([connection])}`,
    'server.name=vg1.contoso.example',
  ]);
  const ctx = server.context;
  await ctx.mailboxes.add({ name: 'alice', extension: '201', fullName: 'Alice Liddell' }, '1234');
  await ctx.homes.setHome('alice', { home: 'exchange', exchangeAddress: ALICE });
  return server;
}

async function leave(server: TestServer, seconds = 3, callerNumber = '+15551234') {
  const [m] = await server.context.messages.deposit({
    mailbox: 'alice',
    audio: toneWav({ seconds }),
    callerNumber,
    callerName: 'Joe Caller',
  });
  return m!;
}

const queueEmpty = (server: TestServer) => async () =>
  (await server.context.deliveries.list()).length === 0;

beforeAll(async () => {
  graph = await GraphServer.start({ users: [ALICE] });
});
afterAll(() => graph.close());
afterEach(async () => {
  await vg?.stop();
  graph.mailboxes.set(ALICE, []);
  graph.throttle(0, 0);
  if (!graph.listening) await graph.listen();
});

describe('delivery into Exchange Online (Graph)', () => {
  it('creates a voicemail in the Inbox: its class, voice properties, unread, not a draft, the WAV', async () => {
    vg = await startVoicegate(graph.connection());
    const message = await leave(vg, 3);
    await until(() => graph.messages(ALICE).length === 1 && queueEmpty(vg)(), 10_000, 'the item');
    const [item] = graph.messages(ALICE);
    expect(item).toMatchObject({
      folder: 'inbox',
      isRead: false,
      isDraft: false,
      internetMessageId: `<${message.identity}>`,
      subject:
        'Voicemail Message (Joe Caller (+15551234) > Alice Liddell) From:Joe Caller (+15551234)',
    });
    expect(item!.body.content).toContain('Voicemail for Alice Liddell (201)');
    expect(Object.fromEntries(item!.props)).toMatchObject({
      'String 0x001A': 'IPM.Note.Microsoft.Voicemail.UM.CA',
      'Integer 0x6801': '3',
      'String 0x6802': '+15551234',
      'String 0x6803': 'Joe Caller',
      'String 0x6805': item!.attachments[0]!.name,
    });
    expect(item!.attachments).toHaveLength(1);
    expect(item!.attachments[0]!.contentType).toBe('audio/wav');
    expect(item!.attachments[0]!.bytes.equals(await vg.context.audio.read(message.audio.key))).toBe(
      true,
    );
    // The local message is now the item's shadow; it still lights the lamp.
    expect(await vg.context.store.getExchangeItem(message.id)).toEqual({
      itemId: item!.id,
      changeKey: item!.changeKey,
    });
    expect((await vg.context.messages.lamp(message.mailboxId)).waiting).toBe(1);
  });

  it('uploads a WAV of 3 MB or more through an upload session', async () => {
    vg = await startVoicegate(graph.connection());
    // 100 s of 16-bit audio at 16 kHz: 3.2 MB, within the 120 s a message may last.
    const message = await vg.context.messages
      .deposit({ mailbox: 'alice', audio: toneWav({ seconds: 100, sampleRate: 16000 }) })
      .then((m) => m[0]!);
    await until(() => queueEmpty(vg)(), 20_000, 'the delivery');
    const [item] = graph.messages(ALICE);
    expect(message.audio.bytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(item!.attachments[0]!.bytes.equals(await vg.context.audio.read(message.audio.key))).toBe(
      true,
    );
    expect(graph.requests.some((r) => r.path.endsWith('/createUploadSession'))).toBe(true);
  });

  it('keeps the voicemail while Exchange is down, and delivers it once when it is back', async () => {
    vg = await startVoicegate(graph.connection());
    await graph.down();
    const message = await leave(vg);
    await until(
      async () => (await vg.context.deliveries.list())[0]?.attempts === 1,
      10_000,
      'a failed attempt',
    );
    const [waiting] = await vg.context.deliveries.list();
    expect(waiting!.lastError).toMatch(/unreachable|ECONNREFUSED/);
    expect(await vg.context.messages.list(message.mailboxId)).toHaveLength(1);
    await graph.listen();
    await vg.context.deliveries.retry(waiting!.id);
    await until(queueEmpty(vg), 10_000, 'the delivery');
    expect(graph.messages(ALICE)).toHaveLength(1);
  });

  it('waits as long as Retry-After says when throttled', async () => {
    vg = await startVoicegate(graph.connection());
    graph.throttle(1, 2);
    const started = Date.now();
    await leave(vg);
    await until(
      async () => (await vg.context.deliveries.list())[0]?.lastError,
      10_000,
      'the throttled attempt',
    );
    const [deferred] = await vg.context.deliveries.list();
    expect(deferred!.lastError).toMatch(/429 ApplicationThrottled/);
    expect(deferred!.nextAttemptAt - started).toBeGreaterThanOrEqual(2000);
    expect(deferred!.nextAttemptAt - started).toBeLessThan(10_000);
    await until(queueEmpty(vg), 15_000, 'the delivery after the wait');
    expect(graph.messages(ALICE)).toHaveLength(1);
  });

  it('says why when the credentials are refused, keeps the voicemail and tries again', async () => {
    vg = await startVoicegate({ ...graph.connection(), clientSecret: 'not-the-secret' });
    const message = await leave(vg);
    await until(
      async () => (await vg.context.deliveries.list())[0]?.lastError,
      10_000,
      'the refused attempt',
    );
    const [waiting] = await vg.context.deliveries.list();
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1 });
    expect(waiting!.lastError).toMatch(/token refused: invalid_client.*AADSTS7000215/);
    expect(waiting!.lastError).not.toContain('not-the-secret');
    expect(await vg.context.messages.list(message.mailboxId)).toHaveLength(1);
    expect(graph.messages(ALICE)).toHaveLength(0);
  });

  it('keeps the voicemail here, the failure on record, for a mailbox Exchange does not know', async () => {
    vg = await startVoicegate(graph.connection());
    await vg.context.homes.setHome('alice', { exchangeAddress: 'nobody@contoso.example' });
    const message = await leave(vg);
    await until(
      async () => (await vg.context.deliveries.list())[0]?.status === 'failed',
      10_000,
      'the refusal',
    );
    const [failed] = await vg.context.deliveries.list();
    expect(failed!.lastError).toMatch(
      /nobody@contoso.example: no such Exchange mailbox \(ErrorInvalidUser\)/,
    );
    const [kept] = await vg.context.messages.list(message.mailboxId);
    expect(kept).toMatchObject({ id: message.id, state: 'new' });
    expect(kept!.emailError).toMatch(/no such Exchange mailbox/);
  });

  it('finds the item made by an attempt that died before remembering it, and makes no second one', async () => {
    vg = await startVoicegate(graph.connection());
    const message = await leave(vg);
    await until(queueEmpty(vg), 10_000, 'the delivery');
    // As if the process had died between the item's creation and the shadow's update: the item
    // exists, the message does not know it, and the delivery is due again.
    const [made] = graph.messages(ALICE);
    await vg.context.store.queueDelivery(
      {
        voicemailId: message.id,
        identity: message.identity,
        callerNumber: message.callerNumber,
        callerName: message.callerName,
        receivedAt: message.receivedAt,
        audio: message.audio,
        priority: message.priority,
        private: message.private,
        target: 'graph',
        kind: 'copy',
        mailboxId: message.mailboxId,
        recipient: ALICE,
        messageId: message.id,
        payload: { connection: 'online' },
      },
      Date.now(),
    );
    const forgetful = vg.context.store as unknown as { db: { exec(sql: string): void } };
    forgetful.db.exec('DELETE FROM exchange_item');
    vg.context.deliveryQueued.notify();
    await until(queueEmpty(vg), 10_000, 'the second delivery');
    expect(graph.messages(ALICE).map((m) => m.id)).toEqual([made!.id]);
    expect(await vg.context.store.getExchangeItem(message.id)).toMatchObject({ itemId: made!.id });
  });
});
