import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, codeOf, deposit } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const audio = (durationMs = 1000) => ({
  key: randomUUID(),
  format: 'wav/pcm16/8000',
  bytes: 16 * durationMs + 44,
  durationMs,
});

export function greetingsContract(open: () => Promise<OpenedStore>): void {
  describe('greetings', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
    });
    afterEach(() => opened.close());

    it('sets one greeting per kind, returning the audio it replaced', async () => {
      const first = audio(2000);
      expect(await store.setGreeting(alice.id, 'busy', first, 1000)).toEqual([]);
      const name = audio(500);
      await store.setGreeting(alice.id, 'name', name, 1100);
      const second = audio(3000);
      expect(await store.setGreeting(alice.id, 'busy', second, 1200)).toEqual([first.key]);
      expect(await store.listGreetings(alice.id)).toEqual([
        { mailboxId: alice.id, kind: 'busy', audio: second, updatedAt: 1200 },
        { mailboxId: alice.id, kind: 'name', audio: name, updatedAt: 1100 },
      ]);
    });

    it('keeps audio a message still uses when its greeting is replaced or removed', async () => {
      const m = await deposit(store, alice.id);
      await store.setGreeting(alice.id, 'unavailable', { ...m.audio }, 1);
      expect(await store.setGreeting(alice.id, 'unavailable', audio(), 2)).toEqual([]);
      await store.setGreeting(alice.id, 'temporary', { ...m.audio }, 3);
      expect(await store.removeGreeting(alice.id, 'temporary', 4)).toEqual([]);
    });

    it('removes a greeting, returning its audio; a greeting not there is NOT_FOUND', async () => {
      const g = audio();
      await store.setGreeting(alice.id, 'temporary', g, 1);
      expect(await store.removeGreeting(alice.id, 'temporary', 2)).toEqual([g.key]);
      expect(await store.listGreetings(alice.id)).toEqual([]);
      expect(await codeOf(store.removeGreeting(alice.id, 'temporary', 3))).toBe('NOT_FOUND');
    });

    it('journals a greeting change as a change of the mailbox', async () => {
      const before = await store.highestModseq(alice.id);
      await store.setGreeting(alice.id, 'busy', audio(), 1);
      await store.removeGreeting(alice.id, 'busy', 2);
      const changes = await store.changesSince(alice.id, before);
      expect(changes.map((c) => c.kind)).toEqual(['mailbox', 'mailbox']);
    });
  });
}
