/**
 * Deposits made at the same instant, as every store back end must take them: each caller hears
 * only of its own deposit (one that fails undoes all of its own work and nothing of the
 * others'), and UIDs and modseqs of a mailbox rise strictly with no value given twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, newMessage } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

export function concurrentDepositsContract(open: () => Promise<OpenedStore>): void {
  describe('concurrent deposits', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => opened.close());

    it('gives 24 deposits into one mailbox at once distinct, rising UIDs and modseqs', async () => {
      const box = await addMailbox(store, 'alice', '201');
      const results = await Promise.all(
        Array.from({ length: 24 }, () => store.addMessages([newMessage(box.id)], Date.now())),
      );
      const stored = results.flatMap((r) => r.messages);
      expect(stored).toHaveLength(24);
      const uids = stored.map((m) => m.uid);
      expect(new Set(uids).size).toBe(24);
      const listed = await store.listMessages(box.id);
      expect(listed.map((m) => m.id).sort()).toEqual(stored.map((m) => m.id).sort());
      const byUid = [...listed].sort((a, b) => a.uid - b.uid);
      for (let i = 1; i < byUid.length; i++)
        expect(byUid[i]!.modseq).toBeGreaterThan(byUid[i - 1]!.modseq);
    });

    it('fails only the deposit that cannot be made, and undoes all of its own work', async () => {
      const alice = await addMailbox(store, 'alice', '201');
      const gone = await addMailbox(store, 'gone', '299');
      await store.removeMailbox(gone.id);
      const before = await store.highestModseq(alice.id);
      const [first, broken, last] = await Promise.allSettled([
        store.addMessages([newMessage(alice.id)], Date.now()),
        // Its first message could be stored; its second names a mailbox that no longer exists.
        store.addMessages([newMessage(alice.id), newMessage(gone.id)], Date.now()),
        store.addMessages([newMessage(alice.id)], Date.now()),
      ]);
      expect(first.status).toBe('fulfilled');
      expect(last.status).toBe('fulfilled');
      expect(broken.status).toBe('rejected');
      const listed = await store.listMessages(alice.id);
      expect(listed).toHaveLength(2);
      expect(
        (await store.changesSince(alice.id, before)).filter((c) => c.kind === 'added'),
      ).toHaveLength(2);
    });
  });
}
