import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_HOME, type MailboxHome } from '../../../server/domain/exchange.ts';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import { isVoicemail, type NewDelivery } from '../../../server/domain/delivery.ts';
import type { Message } from '../../../server/domain/message.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, deposit } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const alicesExchange: MailboxHome = {
  home: 'exchange',
  exchangeAddress: 'alice@contoso.example',
  exchangeConnection: 'online',
};

const NEW = { state: 'new', deletedFrom: null } as const;
const OLD = { state: 'old', deletedFrom: null } as const;
const DELETED = { state: 'deleted', deletedFrom: 'old' } as const;

/** The write-back of a change to `m`, as the domain makes it (`exchange-writeback.ts`). */
function writeBack(m: Message, mailboxId = m.mailboxId): NewDelivery {
  return {
    voicemailId: m.id,
    identity: m.identity,
    callerNumber: m.callerNumber,
    callerName: m.callerName,
    receivedAt: m.receivedAt,
    audio: m.audio,
    priority: m.priority,
    private: m.private,
    target: 'graph',
    kind: 'update',
    mailboxId,
    recipient: 'alice@contoso.example',
    messageId: m.id,
    payload: { connection: 'online' },
  };
}

/** Mailbox homes and the shadow of Exchange mailboxes (`ExchangeStore`). */
export function exchangeContract(open: () => Promise<OpenedStore>): void {
  describe('mailbox homes and the Exchange shadow', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
    });
    afterEach(() => opened.close());

    it('keeps a mailbox at home here until told otherwise, and lists those in Exchange', async () => {
      expect(await store.getMailboxHome(alice.id)).toEqual(LOCAL_HOME);
      const bob = await addMailbox(store, 'bob', '202');
      await store.setMailboxHome(alice.id, alicesExchange);
      expect(await store.getMailboxHome(alice.id)).toEqual(alicesExchange);
      expect(await store.getMailboxHome(bob.id)).toEqual(LOCAL_HOME);
      expect(await store.listExchangeHomes()).toEqual([
        { mailboxId: alice.id, home: alicesExchange },
      ]);
      await store.setMailboxHome(alice.id, LOCAL_HOME);
      expect(await store.listExchangeHomes()).toEqual([]);
    });

    it('records a change of home in the journal, so every channel hears of it', async () => {
      const before = await store.highestModseq(alice.id);
      await store.setMailboxHome(alice.id, alicesExchange);
      const changes = await store.changesSince(alice.id, before);
      expect(changes.map((c) => c.kind)).toEqual(['mailbox']);
    });

    it('remembers the Exchange item each voicemail became, and finds the voicemail by it', async () => {
      const m = await deposit(store, alice.id);
      const other = await deposit(store, alice.id);
      expect(await store.getExchangeItem(m.id)).toBeNull();
      await store.setExchangeItem(m.id, { itemId: 'AAMk1', changeKey: 'CQA1' });
      expect(await store.getExchangeItem(m.id)).toEqual({ itemId: 'AAMk1', changeKey: 'CQA1' });
      await store.setExchangeItem(m.id, { itemId: 'AAMk1', changeKey: 'CQA2' });
      expect(await store.getExchangeItem(m.id)).toEqual({ itemId: 'AAMk1', changeKey: 'CQA2' });
      expect((await store.findMessageByExchangeItem(alice.id, 'AAMk1'))?.id).toBe(m.id);
      expect(await store.findMessageByExchangeItem(alice.id, 'unknown')).toBeNull();
      expect(await store.getExchangeItem(other.id)).toBeNull();
      const bob = await addMailbox(store, 'bob', '202');
      expect(await store.findMessageByExchangeItem(bob.id, 'AAMk1')).toBeNull();
    });

    it('forgets the item with its message when the message is purged', async () => {
      const m = await deposit(store, alice.id);
      await store.setExchangeItem(m.id, { itemId: 'AAMk1', changeKey: null });
      await store.purgeMessages([m.id], Date.now());
      expect(await store.getExchangeItem(m.id)).toBeNull();
      expect(await store.findMessageByExchangeItem(alice.id, 'AAMk1')).toBeNull();
    });

    it('queues a write-back with the change it writes back: both or neither', async () => {
      const m = await deposit(store, alice.id);
      const updates = async () =>
        (await store.listDeliveries())
          .filter(isVoicemail)
          .filter((d) => d.kind === 'update')
          .map((d) => d.messageId);

      expect(await store.setState(m.id, NEW, OLD, 'inbox', 1, [writeBack(m)])).not.toBeNull();
      expect(await updates()).toEqual([m.id]);
      // A change that is not applied (another channel changed the message first) queues nothing.
      expect(await store.setState(m.id, NEW, OLD, 'inbox', 2, [writeBack(m)])).toBeNull();
      expect(
        await store.setStates([{ id: m.id, from: NEW, to: OLD, folder: 'inbox' }], 3, [
          writeBack(m),
        ]),
      ).toBeNull();
      expect(await updates()).toEqual([m.id]);
      // A write-back that cannot be queued (its mailbox is gone) undoes the change with it.
      await expect(
        store.setState(m.id, OLD, DELETED, 'trash', 4, [writeBack(m, alice.id + 1000)]),
      ).rejects.toThrow();
      expect((await store.getMessage(m.id))!.state).toBe('old');
      await expect(
        store.setStates([{ id: m.id, from: OLD, to: DELETED, folder: 'trash' }], 5, [
          writeBack(m, alice.id + 1000),
        ]),
      ).rejects.toThrow();
      expect((await store.getMessage(m.id))!.state).toBe('old');

      const deleted = await store.setStates(
        [{ id: m.id, from: OLD, to: DELETED, folder: 'trash' }],
        6,
        [writeBack(m)],
      );
      expect(deleted?.[0]?.state).toBe('deleted');
      expect(await updates()).toEqual([m.id, m.id]);
    });

    it('queues the write-back of a purge with it, and keeps the audio the write-back names', async () => {
      const m = await deposit(store, alice.id);
      await store.setState(m.id, NEW, DELETED, 'trash', 1);
      await expect(
        store.purgeMessages([m.id], 2, [writeBack(m, alice.id + 1000)]),
      ).rejects.toThrow();
      expect(await store.getMessage(m.id)).not.toBeNull();
      expect(await store.purgeMessages([m.id], 3, [writeBack(m)])).toEqual([]);
      expect(await store.getMessage(m.id)).toBeNull();
      const [update] = await store.listDeliveries();
      expect(update).toMatchObject({ kind: 'update', messageId: m.id });
    });

    it('keeps the sync state of one Exchange mailbox, and starts over when the home changes', async () => {
      await store.setMailboxHome(alice.id, alicesExchange);
      expect(await store.getExchangeSyncState(alice.id)).toBeNull();
      await store.setExchangeSyncState(alice.id, 'delta-1');
      expect(await store.getExchangeSyncState(alice.id)).toBe('delta-1');
      await store.setMailboxHome(alice.id, alicesExchange);
      expect(await store.getExchangeSyncState(alice.id)).toBe('delta-1');
      await store.setMailboxHome(alice.id, {
        ...alicesExchange,
        exchangeAddress: 'alice2@contoso.example',
      });
      expect(await store.getExchangeSyncState(alice.id)).toBeNull();
    });

    it('sees what another handle wrote, and forgets it all with the mailbox', async () => {
      await store.setMailboxHome(alice.id, alicesExchange);
      const m = await deposit(store, alice.id);
      await store.setExchangeItem(m.id, { itemId: 'AAMk1', changeKey: null });
      const other = await opened.reopen();
      try {
        expect(await other.store.getMailboxHome(alice.id)).toEqual(alicesExchange);
        expect(await other.store.getExchangeItem(m.id)).toEqual({
          itemId: 'AAMk1',
          changeKey: null,
        });
      } finally {
        await other.close();
      }
      await store.removeMailbox(alice.id);
      expect(await store.getMailboxHome(alice.id)).toEqual(LOCAL_HOME);
      expect(await store.getExchangeItem(m.id)).toBeNull();
      expect(await store.listExchangeHomes()).toEqual([]);
    });
  });
}
