import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../mail/mail-helpers.ts';
import { connected } from '../imap/imapflow-kit.ts';
import { GraphServer } from '../support/graph-server.ts';
import type { TestServer } from '../helpers/test-server.ts';
import {
  actionsReachItem,
  ALICE,
  exchangeVoicegate,
  leaveVoicemail,
  queueEmpty,
  twoReadBackRounds,
} from './exchange-kit.ts';

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

const item = (id: string) => graph.messages(ALICE).find((m) => m.id === id);
const shows = (id: string) => {
  const m = item(id);
  return m ? `${m.folder} ${m.isRead ? 'read' : 'unread'} ${m.flagStatus}` : 'gone';
};

async function delivered(): Promise<{ id: string; itemId: string; mailboxId: number }> {
  const message = await leaveVoicemail(vg);
  const ref = await until(() => vg.context.store.getExchangeItem(message.id), 10_000, 'delivery');
  return { id: message.id, itemId: ref.itemId, mailboxId: message.mailboxId };
}

describe('what the phone, the web and IMAP do is written to the Exchange item (Graph)', () => {
  it('listen, save, delete, undelete, mark unread and purge each change the item', async () => {
    const { id, itemId, mailboxId } = await delivered();
    const messages = vg.context.messages;
    await actionsReachItem(vg, { id, mailboxId }, () => shows(itemId), [
      ['play', 'inbox read notFlagged'],
      ['save', 'inbox read flagged'],
      ['delete', 'deleteditems read flagged'],
      ['undelete', 'inbox read flagged'],
      ['markUnread', 'inbox unread notFlagged'],
    ]);
    // The item keeps its id through the moves (immutable ids): the shadow still knows it.
    expect((await vg.context.store.getExchangeItem(id))!.itemId).toBe(itemId);

    // What was written back and read again is not written back once more (no echo).
    const writes = graph.patches.length + graph.moves.length;
    await twoReadBackRounds();
    expect(graph.patches.length + graph.moves.length).toBe(writes);
    expect((await vg.context.store.getMessage(id))!.state).toBe('new');

    await messages.act(mailboxId, id, 'delete');
    await messages.purge(mailboxId, [id]);
    await until(() => shows(itemId) === 'gone', 5000, 'purged: the item gone');
  });

  it('quick actions end with the item as the user left it, in their order', async () => {
    const { id, itemId, mailboxId } = await delivered();
    for (const action of ['play', 'save', 'delete', 'undelete', 'unsave', 'delete'] as const)
      await vg.context.messages.act(mailboxId, id, action);
    await until(() => shows(itemId) === 'deleteditems read notFlagged', 5000, 'the last state');
    await queueEmpty(vg);
    await twoReadBackRounds();
    expect(shows(itemId)).toBe('deleteditems read notFlagged');
    expect(await vg.context.store.getMessage(id)).toMatchObject({
      state: 'deleted',
      deletedFrom: 'old',
    });
  });

  it('a voicemail heard and saved before its item existed is made with that state', async () => {
    await graph.down();
    const message = await leaveVoicemail(vg);
    await vg.context.messages.act(message.mailboxId, message.id, 'save');
    const copy = await until(
      async () =>
        (await vg.context.deliveries.list()).find((d) => d.kind === 'copy' && d.attempts > 0),
      10_000,
      'a failed attempt while Exchange is down',
    );
    await graph.listen();
    await vg.context.deliveries.retry(copy.id);
    const ref = await until(
      () => vg.context.store.getExchangeItem(message.id),
      10_000,
      'delivery once Exchange is back',
    );
    await until(() => shows(ref.itemId) === 'inbox read flagged', 5000, 'saved state');
  });

  it('IMAP: \\Seen and \\Flagged set by a mail client reach the item', async () => {
    const { itemId } = await delivered();
    const client = await connected(vg, 'alice');
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        const uids = await client.search({ all: true }, { uid: true });
        const last = (uids as number[]).at(-1)!;
        await client.messageFlagsAdd(String(last), ['\\Seen', '\\Flagged'], { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
    await until(() => shows(itemId) === 'inbox read flagged', 5000, 'IMAP flags on the item');
  });
});
