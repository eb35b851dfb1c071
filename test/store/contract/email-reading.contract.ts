import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEmailReading } from '../../../server/domain/email-reading.ts';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const alicesImap: StoredEmailReading = {
  source: 'imap',
  imap: { host: 'mail.example', port: 993, tls: 'implicit', user: 'alice', auth: 'password' },
  sealedSecret: 'v1:aXY:dGFn:ZGF0YQ',
};

/** Per mailbox, where its owner's e-mail is read from by phone (`EmailReadingStore`). */
export function emailReadingContract(open: () => Promise<OpenedStore>): void {
  describe('e-mail reading settings', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
    });
    afterEach(() => opened.close());

    it('is off until set, keeps the account and the sealed secret as given, and turns off', async () => {
      const bob = await addMailbox(store, 'bob', '202');
      expect(await store.getEmailReading(alice.id)).toBeNull();
      await store.setEmailReading(alice.id, alicesImap);
      expect(await store.getEmailReading(alice.id)).toEqual(alicesImap);
      expect(await store.getEmailReading(bob.id)).toBeNull();
      const exchange: StoredEmailReading = { source: 'exchange', imap: null, sealedSecret: null };
      await store.setEmailReading(alice.id, exchange);
      expect(await store.getEmailReading(alice.id)).toEqual(exchange);
      await store.setEmailReading(alice.id, null);
      expect(await store.getEmailReading(alice.id)).toBeNull();
    });

    it('survives reopening the store', async () => {
      await store.setEmailReading(alice.id, alicesImap);
      const again = await opened.reopen();
      try {
        expect(await again.store.getEmailReading(alice.id)).toEqual(alicesImap);
      } finally {
        await again.close();
      }
    });

    it('goes with its mailbox, and is not set for a mailbox that does not exist', async () => {
      await store.setEmailReading(alice.id, alicesImap);
      await store.removeMailbox(alice.id);
      expect(await store.getEmailReading(alice.id)).toBeNull();
      await store.setEmailReading(9999, alicesImap);
      expect(await store.getEmailReading(9999)).toBeNull();
    });
  });
}
