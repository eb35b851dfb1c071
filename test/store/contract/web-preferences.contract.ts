import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

/** The web app's preferences of each mailbox's owner: kept per mailbox, gone with it. */
export function webPreferencesContract(open: () => Promise<OpenedStore>): void {
  describe('web preferences', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    let bob: MailboxRecord;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
      bob = await addMailbox(store, 'bob', '202');
    });
    afterEach(() => opened.close());

    it('gives the defaults until the owner chooses, then keeps each mailbox its own', async () => {
      expect(await store.getWebPreferences(alice.id)).toEqual({ listOrder: 'newest' });
      expect(await store.setWebPreferences(alice.id, { listOrder: 'priority' })).toEqual({
        listOrder: 'priority',
      });
      expect(await store.setWebPreferences(alice.id, { listOrder: 'oldest' })).toEqual({
        listOrder: 'oldest',
      });
      // Changing nothing keeps what was chosen.
      expect(await store.setWebPreferences(alice.id, {})).toEqual({ listOrder: 'oldest' });
      expect(await store.getWebPreferences(alice.id)).toEqual({ listOrder: 'oldest' });
      expect(await store.getWebPreferences(bob.id)).toEqual({ listOrder: 'newest' });
    });

    it('keeps them across a reopening and drops them with the mailbox', async () => {
      await store.setWebPreferences(alice.id, { listOrder: 'priority' });
      const again = await opened.reopen();
      try {
        expect(await again.store.getWebPreferences(alice.id)).toEqual({ listOrder: 'priority' });
      } finally {
        await again.close();
      }
      await store.removeMailbox(alice.id);
      expect(await store.getWebPreferences(alice.id)).toEqual({ listOrder: 'newest' });
      await expect(
        store.setWebPreferences(alice.id, { listOrder: 'oldest' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
