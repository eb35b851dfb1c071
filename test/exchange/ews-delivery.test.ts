import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { until } from '../mail/mail-helpers.ts';
import { EwsServer } from '../support/ews-server.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';

let ews: EwsServer;
let vg: TestServer;
const ALICE = 'alice@contoso.example';

async function startVoicegate(connection: Record<string, unknown>): Promise<TestServer> {
  const server = await startTestServer([`exchange.connections=${JSON.stringify([connection])}`]);
  await server.context.mailboxes.add(
    { name: 'alice', extension: '201', fullName: 'Alice Liddell' },
    '1234',
  );
  await server.context.homes.setHome('alice', { home: 'exchange', exchangeAddress: ALICE });
  return server;
}

async function leave(server: TestServer) {
  const [m] = await server.context.messages.deposit({
    mailbox: 'alice',
    audio: toneWav({ seconds: 4 }),
    callerNumber: '5551234',
    callerName: 'Joe Caller',
  });
  return m!;
}

const queueEmpty = (server: TestServer) => async () =>
  (await server.context.deliveries.list()).length === 0;
const firstError = (server: TestServer) => async () =>
  (await server.context.deliveries.list())[0]?.lastError;

beforeAll(async () => {
  ews = await EwsServer.start([ALICE]);
});
afterAll(() => ews.close());
afterEach(async () => {
  await vg?.stop();
  ews.mailboxes.set(ALICE, []);
  ews.busy(0, 0);
  ews.canImpersonate = true;
  ews.auth = 'basic';
});

describe('delivery into Exchange Server (EWS)', () => {
  it('creates the voicemail in the Inbox by impersonation: class, voice properties, unread, not a draft, the WAV', async () => {
    vg = await startVoicegate(ews.connection());
    const message = await leave(vg);
    await until(queueEmpty(vg), 10_000, 'the delivery');
    const [item] = ews.items(ALICE);
    expect(item).toMatchObject({
      folder: 'inbox',
      itemClass: 'IPM.Note.Microsoft.Voicemail.UM.CA',
      isRead: false,
      subject: 'Voicemail Message (Joe Caller (5551234) > Alice Liddell) From:Joe Caller (5551234)',
    });
    expect(Object.fromEntries(item!.props)).toMatchObject({
      '0x0E07': '2',
      '0x6801': '4',
      '0x6802': '5551234',
      '0x6803': 'Joe Caller',
      '0x6805': item!.attachments[0]!.name,
      '0x1035': `<${message.identity}>`,
    });
    expect(item!.attachments[0]!.bytes.equals(await vg.context.audio.read(message.audio.key))).toBe(
      true,
    );
    expect(ews.requests.at(-1)).toMatchObject({
      op: 'CreateItem',
      impersonating: ALICE,
      anchor: ALICE,
    });
    expect(await vg.context.store.getExchangeItem(message.id)).toEqual({
      itemId: item!.itemId,
      changeKey: item!.changeKey,
    });
  });

  it('logs in by NTLM (a real NTLMv2 handshake) and delivers; a wrong password is refused, clearly', async () => {
    ews.auth = 'ntlm';
    const connection = ews.connection();
    expect(connection).toMatchObject({ auth: 'ntlm', username: 'CONTOSO\\svc-voicegate' });
    vg = await startVoicegate(connection);
    const message = await leave(vg);
    await until(queueEmpty(vg), 10_000, 'the delivery');
    expect(ews.ntlmLogins.at(-1)).toBe('CONTOSO\\svc-voicegate');
    expect(ews.items(ALICE)).toHaveLength(1);
    expect(await vg.context.store.getExchangeItem(message.id)).not.toBeNull();
    await vg.stop();

    vg = await startVoicegate({ ...connection, password: 'wrong-password' });
    const logins = ews.ntlmLogins.length;
    await leave(vg);
    await until(firstError(vg), 10_000, 'the refusal');
    expect((await vg.context.deliveries.list())[0]).toMatchObject({
      status: 'pending',
      lastError: expect.stringContaining(
        'EWS Unauthorized: credentials refused (HTTP 401, NTLM as CONTOSO\\svc-voicegate)',
      ),
    });
    expect(ews.ntlmLogins).toHaveLength(logins);
    expect(ews.items(ALICE)).toHaveLength(1);
  });

  it('waits BackOffMilliseconds when the server is busy, then delivers once', async () => {
    vg = await startVoicegate(ews.connection());
    ews.busy(1, 1500);
    const started = Date.now();
    await leave(vg);
    await until(firstError(vg), 10_000, 'the busy answer');
    const [deferred] = await vg.context.deliveries.list();
    expect(deferred!.lastError).toMatch(/EWS ErrorServerBusy/);
    expect(deferred!.nextAttemptAt - started).toBeGreaterThanOrEqual(1500);
    expect(deferred!.nextAttemptAt - started).toBeLessThan(10_000);
    await until(queueEmpty(vg), 15_000, 'the delivery after the back-off');
    expect(ews.items(ALICE)).toHaveLength(1);
  });

  it('says why when the password is refused or impersonation is not granted, and keeps the voicemail', async () => {
    vg = await startVoicegate({ ...ews.connection(), password: 'wrong-password' });
    await leave(vg);
    await until(firstError(vg), 10_000, 'the refusal');
    expect((await vg.context.deliveries.list())[0]).toMatchObject({
      status: 'pending',
      lastError: expect.stringMatching(/credentials refused \(HTTP 401, basic\)/),
    });
    await vg.stop();
    ews.canImpersonate = false;
    vg = await startVoicegate(ews.connection());
    await leave(vg);
    await until(firstError(vg), 10_000, 'the refusal');
    expect((await vg.context.deliveries.list())[0]!.lastError).toMatch(
      /EWS ErrorImpersonateUserDenied/,
    );
    expect(ews.items(ALICE)).toHaveLength(0);
  });

  it('keeps the voicemail here, the failure on record, for a mailbox Exchange does not have', async () => {
    vg = await startVoicegate(ews.connection());
    await vg.context.homes.setHome('alice', { exchangeAddress: 'nobody@contoso.example' });
    const message = await leave(vg);
    await until(
      async () => (await vg.context.deliveries.list())[0]?.status === 'failed',
      10_000,
      'the refusal',
    );
    const [kept] = await vg.context.messages.list(message.mailboxId);
    expect(kept!.emailError).toMatch(/no such Exchange mailbox \(ErrorNonExistentMailbox\)/);
  });

  it('finds an item an earlier attempt made, and makes no second one', async () => {
    vg = await startVoicegate(ews.connection());
    const message = await leave(vg);
    await until(queueEmpty(vg), 10_000, 'the delivery');
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
        target: 'ews',
        kind: 'copy',
        mailboxId: message.mailboxId,
        recipient: ALICE,
        messageId: message.id,
        payload: { connection: 'onprem' },
      },
      Date.now(),
    );
    (vg.context.store as unknown as { db: { exec(sql: string): void } }).db.exec(
      'DELETE FROM exchange_item',
    );
    vg.context.deliveryQueued.notify();
    const creates = ews.requests.filter((r) => r.op === 'CreateItem').length;
    await until(queueEmpty(vg), 10_000, 'the second delivery');
    expect(ews.items(ALICE)).toHaveLength(1);
    expect(ews.requests.filter((r) => r.op === 'CreateItem').length).toBe(creates);
    expect(ews.requests.at(-1)!.op).toBe('FindItem');
  });
});
