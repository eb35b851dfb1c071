import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../mail/mail-helpers.ts';
import { runSipp } from '../helpers/sipp.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { phoneServer } from '../phone/phone-kit.ts';
import { received, scenario, sippTrace } from '../phone/sipp-kit.ts';
import { EwsServer } from '../support/ews-server.ts';
import {
  actionsReachItem,
  ALICE,
  leaveVoicemail,
  queueEmpty,
  twoReadBackRounds,
} from './exchange-kit.ts';

let ews: EwsServer;
let vg: TestServer;

beforeAll(async () => {
  ews = await EwsServer.start([ALICE]);
  // SIPp answers no digest challenge: 127.0.0.1 stands for a trusted PBX here.
  vg = await phoneServer([
    'sip.trustedPeers=[127.0.0.1/32]',
    `exchange.connections=${JSON.stringify([ews.connection()])}`,
    'exchange.syncSeconds=1',
  ]);
  await vg.context.homes.setHome('alice', { home: 'exchange', exchangeAddress: ALICE });
});
afterAll(async () => {
  await vg?.stop();
  await ews?.close();
});

/** The item of a voicemail, whatever its id now (EWS gives a moved item a new one). */
const itemOf = async (messageId: string) => {
  const ref = await vg.context.store.getExchangeItem(messageId);
  return ews.items(ALICE).find((i) => i.itemId === ref?.itemId);
};
const shows = async (messageId: string) => {
  const i = await itemOf(messageId);
  return i ? `${i.folder} ${i.isRead ? 'read' : 'unread'} ${i.flag}` : 'gone';
};

async function delivered(): Promise<{ id: string; mailboxId: number }> {
  const m = await leaveVoicemail(vg, 2);
  await until(() => itemOf(m.id), 10_000, 'the item in Exchange');
  return { id: m.id, mailboxId: m.mailboxId };
}

describe('Exchange Server (EWS): the user in Outlook and the voicemail follow each other', () => {
  it('read and deleted in Outlook: the lamp NOTIFYs, and an IMAP IDLE session gets FETCH and EXPUNGE', async () => {
    const trace = sippTrace();
    const run = runSipp(scenario('mwi-subscriber.xml'), `127.0.0.1:${vg.ports.sip}`, {
      service: '201',
      args: trace.args,
    });
    await received(trace, /^NOTIFY [\s\S]*Voice-Message: 0\/0/m);
    const { id } = await delivered();
    await received(trace, /^NOTIFY [\s\S]*Voice-Message: 1\/0/m);
    const imap = new ImapFlow({
      host: '127.0.0.1',
      port: vg.ports.imaps,
      secure: true,
      tls: { rejectUnauthorized: false },
      auth: { user: 'alice', pass: '1234' },
      logger: false,
      disableAutoIdle: true,
    });
    const untagged: string[] = [];
    imap.on('flags', (e: { flags: Set<string> }) =>
      untagged.push(`FETCH ${[...e.flags].join(' ')}`),
    );
    imap.on('expunge', () => untagged.push('EXPUNGE'));
    await imap.connect();
    try {
      await imap.mailboxOpen('INBOX');
      void imap.idle().catch(() => {});
      await until(() => imap.idling, 5000, 'IDLE');

      const read = Date.now();
      ews.setRead((await itemOf(id))!.itemId, true);
      const off = await received(trace, /^NOTIFY [\s\S]*Voice-Message: 0\/1/m);
      expect(off.at - read).toBeLessThan(5000);
      await until(() => untagged.some((u) => /FETCH .*\\Seen/.test(u)), 5000, 'FETCH \\Seen');

      ews.move((await itemOf(id))!.itemId, 'deleteditems');
      await until(() => untagged.includes('EXPUNGE'), 5000, 'EXPUNGE after Deleted Items');
      expect((await vg.context.store.getMessage(id))!.state).toBe('deleted');
      // The shadow knows the item by its new id: undeleting by phone moves it back.
      expect(await shows(id)).toBe('deleteditems read NotFlagged');

      const done = await run;
      expect(done.code, done.log).toBe(0);
    } finally {
      await imap.logout();
    }
  }, 60_000);

  it('flag, move back, and purge in Outlook each reach the voicemail within 5 s', async () => {
    const { id } = await delivered();
    const state = async () => (await vg.context.store.getMessage(id))?.state ?? 'gone';
    ews.setFlag((await itemOf(id))!.itemId, 'Flagged');
    await until(async () => (await state()) === 'saved', 5000, 'flagged: saved');
    ews.move((await itemOf(id))!.itemId, 'deleteditems');
    await until(async () => (await state()) === 'deleted', 5000, 'deleted');
    ews.move((await itemOf(id))!.itemId, 'inbox');
    await until(async () => (await state()) === 'saved', 5000, 'moved back: saved again');
    ews.move((await itemOf(id))!.itemId, 'archive');
    await until(async () => (await state()) === 'saved', 5000, 'filed elsewhere: kept');
    const archived = ews.items(ALICE).find((i) => i.folder === 'archive')!;
    ews.move(archived.itemId, 'deleteditems');
    await until(async () => (await state()) === 'deleted', 5000, 'deleted from the archive');
    ews.purge((await itemOf(id))!.itemId);
    await until(async () => (await state()) === 'gone', 5000, 'purged');
  });

  it('listen, save, delete, undelete and purge on the phone change the item', async () => {
    const { id, mailboxId } = await delivered();
    await actionsReachItem(vg, { id, mailboxId }, () => shows(id), [
      ['play', 'inbox read NotFlagged'],
      ['save', 'inbox read Flagged'],
      ['delete', 'deleteditems read Flagged'],
      ['undelete', 'inbox read Flagged'],
    ]);
    await queueEmpty(vg);
    await twoReadBackRounds(); // no echo
    expect((await vg.context.store.getMessage(id))!.state).toBe('saved');

    const before = ews.items(ALICE).length;
    await vg.context.messages.act(mailboxId, id, 'delete');
    await vg.context.messages.purge(mailboxId, [id]);
    await until(() => ews.items(ALICE).length === before - 1, 5000, 'the item deleted');
  });
});
