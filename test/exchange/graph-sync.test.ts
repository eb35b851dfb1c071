import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toneWav } from '../../server/media/tone.ts';
import { until } from '../mail/mail-helpers.ts';
import { GraphServer } from '../support/graph-server.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { ALICE, exchangeVoicegate } from './exchange-kit.ts';

let graph: GraphServer;
let vg: TestServer;

beforeAll(async () => {
  graph = await GraphServer.start({ users: [ALICE] });
  vg = await exchangeVoicegate(graph.connection());
});
afterAll(async () => {
  await vg?.stop();
  await graph?.close();
});

describe('what the user does in Outlook reaches the voicemail (Graph delta)', () => {
  it('read, flag, delete, move back, file elsewhere and purge, each within 5 s', async () => {
    const ctx = vg.context;
    const [message] = await ctx.messages.deposit({
      mailbox: 'alice',
      audio: toneWav({ seconds: 2 }),
    });
    const id = message!.id;
    const mailboxId = message!.mailboxId;
    const item = await until(() => ctx.store.getExchangeItem(id), 10_000, 'the delivery');
    const state = async () => (await ctx.store.getMessage(id))?.state ?? 'gone';
    const within5s = async (what: string, wanted: string) => {
      const started = Date.now();
      await until(async () => (await state()) === wanted, 5000, what);
      return Date.now() - started;
    };
    expect((await ctx.messages.lamp(mailboxId)).waiting).toBe(1);

    graph.setRead(ALICE, item.itemId, true);
    await within5s('read in Outlook', 'old');
    expect((await ctx.messages.lamp(mailboxId)).waiting).toBe(0);

    graph.setRead(ALICE, item.itemId, false);
    await within5s('marked unread in Outlook', 'new');
    expect((await ctx.messages.lamp(mailboxId)).waiting).toBe(1);

    graph.setFlag(ALICE, item.itemId, 'flagged');
    await within5s('flagged in Outlook', 'saved');

    graph.move(ALICE, item.itemId, 'deleteditems');
    await within5s('moved to Deleted Items', 'deleted');
    expect((await ctx.store.getMessage(id))!.deletedFrom).toBe('saved');

    graph.move(ALICE, item.itemId, 'inbox');
    graph.setFlag(ALICE, item.itemId, 'notFlagged');
    graph.setRead(ALICE, item.itemId, true);
    await within5s('moved back to the Inbox, unflagged, read', 'old');

    graph.move(ALICE, item.itemId, 'archive');
    await within5s('filed in another folder', 'saved');

    graph.move(ALICE, item.itemId, 'inbox');
    await within5s('back in the Inbox, unflagged', 'old');
    graph.move(ALICE, item.itemId, 'deleteditems');
    await within5s('deleted again', 'deleted');
    graph.purge(ALICE, item.itemId);
    await within5s('purged from Deleted Items', 'gone');
    expect(await ctx.messages.list(mailboxId, 'deleted')).toEqual([]);
  });
});
