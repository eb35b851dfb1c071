// A read-back round that read the mailbox before a change made here (the phone played the
// message) must not take that change back when it applies what it read.
import { afterEach, describe, expect, it } from 'vitest';
import type { TestServer } from '../helpers/test-server.ts';
import { until } from '../mail/mail-helpers.ts';
import {
  EXCHANGE_KINDS,
  exchangeVoicegate,
  fakeExchange,
  leaveVoicemail,
  queueEmpty,
  type FakeExchange,
} from './exchange-kit.ts';

let fake: FakeExchange | undefined;
let vg: TestServer | undefined;
afterEach(async () => {
  await vg?.stop();
  await fake?.close();
  vg = fake = undefined;
});

for (const kind of EXCHANGE_KINDS)
  describe(`a read-back round older than a change made here (${kind})`, { timeout: 45_000 }, () => {
    it('flagged in Outlook, then deleted on the phone while a round read the flag: it stays deleted', async () => {
      fake = await fakeExchange(kind);
      vg = await exchangeVoicegate(fake.connection());
      const server = vg;
      const message = await leaveVoicemail(server);
      const shows = () => fake!.shows(server, message.id);
      const now = async () => (await server.context.store.getMessage(message.id))!;
      const state = async () => (await now()).state;
      await until(async () => (await shows()) === 'inbox unread notFlagged', 10_000, 'delivery');

      // The user flags it in Outlook; a round reads that (the item unread and flagged in the
      // Inbox), and its answer is held...
      const held = await fake.holdNextRead(server, message.id);
      await fake.flag(server, message.id);
      await held.arrived;
      // ...while the phone deletes the message, which moves the item to Deleted Items.
      await server.context.messages.act(message.mailboxId, message.id, 'delete');
      await until(async () => (await shows()).startsWith('deleteditems'), 10_000, 'written back');
      await queueEmpty(server);
      const deleted = await now();
      expect(deleted.state).toBe('deleted');
      // The round then applies what it read, and the next round (reading again) ends as well.
      const readsThen = fake.reads();
      held.release();
      await until(() => fake!.reads() >= readsThen + 2, 20_000, 'two more read-back rounds');
      // The later change, the phone's, stands on both sides, and was never undone meanwhile
      // (each change of a message raises its modification sequence, which IMAP clients see).
      expect(await now()).toMatchObject({ state: 'deleted', modseq: deleted.modseq });
      expect(await shows()).toMatch(/^deleteditems /);

      // What the user does in Outlook afterwards is read back: moved back to the Inbox.
      await fake.moveToInbox(server, message.id);
      await until(async () => (await state()) !== 'deleted', 10_000, 'undeleted in Outlook');
    });
  });
