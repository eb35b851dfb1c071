import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Baresip } from '../helpers/baresip.ts';
import type { TestServer } from '../helpers/test-server.ts';
import { until } from '../mail/mail-helpers.ts';
import { SIP_PASSWORDS, toneFile } from '../phone/phone-kit.ts';
import { GraphServer } from '../support/graph-server.ts';
import { ALICE, exchangeVoicegate, leaveVoicemail } from './exchange-kit.ts';

let graph: GraphServer;
let vg: TestServer;
let phone: Baresip | undefined;

beforeAll(async () => {
  graph = await GraphServer.start({ users: [ALICE] });
  // baresip 1.0 (libre 1.1) fails on a SHA-256 challenge instead of skipping it: MD5 alone.
  vg = await exchangeVoicegate(graph.connection(), ['sip.digestAlgorithms=[MD5]']);
  const config = vg.context.loaded.config;
  await vg.context.mailboxes.setSipPassword(
    'alice',
    SIP_PASSWORDS.alice,
    config.sip.realm || config.server.domain,
  );
});
afterAll(async () => {
  await phone?.stop();
  await vg?.stop();
  await graph?.close();
});

/** The Graph item as Outlook would show it: `folder read|unread flag`. */
const shows = (id: string) => {
  const m = graph.messages(ALICE).find((i) => i.id === id);
  return m ? `${m.folder} ${m.isRead ? 'read' : 'unread'} ${m.flagStatus}` : 'gone';
};

describe(
  'a real call to a mailbox at home in Exchange (Graph) writes through',
  { timeout: 45_000 },
  () => {
    it('listening marks the item read, 7 flags it, 3 moves it to Deleted Items', async () => {
      const message = await leaveVoicemail(vg);
      const { itemId } = await until(
        () => vg.context.store.getExchangeItem(message.id),
        10_000,
        'delivery into Exchange',
      );
      expect(shows(itemId)).toBe('inbox unread notFlagged');

      // Alice's own phone registers with her SIP credentials and calls 201: no code asked.
      const quiet = toneFile(vg.dir, 'quiet', 1000, 0.1, 0, 40);
      const sip = `127.0.0.1:${vg.ports.sip}`;
      phone = await Baresip.start({
        voice: quiet,
        user: '201',
        registrar: `sip:${sip}`,
        password: SIP_PASSWORDS.alice,
      });
      await phone.waitFor(/201.*200 OK|registered/i);
      phone.dial(`sip:201@${sip}`);
      await phone.waitFor(/Call established/);
      // The summary is playing (the server's audio reaches the phone): the flow takes keys.
      await phone.waitFor(/audio=\d+\/[1-9]\d* \(bit\/s\)/);

      // 1: new messages, the header, then the message played through. A key sent before the
      // flow listens is not heard, so 1 is typed again while the message is still new.
      const state = async () => (await vg.context.store.getMessage(message.id))!.state;
      let typed = 0;
      await until(
        async () => {
          const now = await state();
          if (now === 'new' && typed++ % 30 === 0) phone!.type('1');
          return now === 'old';
        },
        20_000,
        'heard on the phone',
      );
      await until(() => shows(itemId) === 'inbox read notFlagged', 15_000, 'heard: read');
      phone.type('7'); // save
      await until(() => shows(itemId) === 'inbox read flagged', 5000, 'saved: flagged');
      // "No more messages"; 2 (typed ahead) opens the saved ones, 3 deletes it during its header.
      phone.type('2');
      phone.type('3');
      await until(() => shows(itemId) === 'deleteditems read flagged', 5000, 'deleted: moved');
      phone.type('b');
      await phone.waitFor(/terminated|closed/i, 10_000);

      expect((await vg.context.store.getMessage(message.id))!.state).toBe('deleted');
      expect((await vg.context.store.getExchangeItem(message.id))!.itemId).toBe(itemId);
    });
  },
);
