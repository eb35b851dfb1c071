import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { Change } from '../../../server/domain/message.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, codeOf, deposit, Wakes } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const NEW = { state: 'new', deletedFrom: null } as const;
const OLD = { state: 'old', deletedFrom: null } as const;
const SAVED = { state: 'saved', deletedFrom: null } as const;
const DELETED = { state: 'deleted', deletedFrom: 'saved' } as const;

/** What a channel acts on: what happened, to which message, its state, where. */
const summary = (c: Change) => [c.kind, c.messageId, c.state, c.folder && `${c.folder}/${c.uid}`];

/** A move is one change written as two entries (removed, added) sharing a modseq. */
function modseqsOfChanges(changes: Change[]): number[] {
  return [...new Set(changes.map((c) => c.modseq))];
}

function expectRising(values: number[], what: string): void {
  for (let i = 1; i < values.length; i++)
    expect(values[i], `${what} at ${i}: ${values.join(', ')}`).toBeGreaterThan(values[i - 1]!);
}

export function journalContract(open: () => Promise<OpenedStore>): void {
  describe('the change journal', () => {
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

    it("records each mailbox's changes in order, with a modseq rising per change", async () => {
      const aliceStart = await store.highestModseq(alice.id);
      const bobStart = await store.highestModseq(bob.id);
      const m = await deposit(store, alice.id);
      const b = await deposit(store, bob.id);
      const acted = [
        await store.setState(m.id, NEW, OLD, 'inbox', 1),
        await store.setState(m.id, OLD, SAVED, 'inbox', 2),
        await store.setState(m.id, SAVED, DELETED, 'trash', 3),
        await store.setState(m.id, DELETED, SAVED, 'inbox', 4),
      ];
      await store.setState(b.id, NEW, { state: 'deleted', deletedFrom: 'new' }, 'trash', 5);
      await store.updateMailbox(alice.id, { fullName: 'Alice L' });
      await store.purgeMessages([m.id, b.id], 6);

      const ofAlice = await store.changesSince(alice.id, aliceStart);
      const ofBob = await store.changesSince(bob.id, bobStart);
      // A delete moves the message to the trash and an undelete back, each time with a new UID.
      expect(ofAlice.map(summary)).toEqual([
        ['added', m.id, 'new', 'inbox/1'],
        ['changed', m.id, 'old', 'inbox/1'],
        ['changed', m.id, 'saved', 'inbox/1'],
        ['removed', m.id, 'deleted', 'inbox/1'],
        ['added', m.id, 'deleted', 'trash/1'],
        ['removed', m.id, 'saved', 'trash/1'],
        ['added', m.id, 'saved', 'inbox/2'],
        ['mailbox', null, null, null],
        ['removed', m.id, null, 'inbox/2'],
      ]);
      expect(ofBob.map(summary)).toEqual([
        ['added', b.id, 'new', 'inbox/1'],
        ['removed', b.id, 'deleted', 'inbox/1'],
        ['added', b.id, 'deleted', 'trash/1'],
        ['removed', b.id, null, 'trash/1'],
      ]);
      for (const changes of [ofAlice, ofBob]) {
        expect(changes.every((c) => c.mailboxId === changes[0]!.mailboxId)).toBe(true);
        // Never falling; equal only for the two entries of one move.
        for (let i = 1; i < changes.length; i++)
          expect(changes[i]!.modseq).toBeGreaterThanOrEqual(changes[i - 1]!.modseq);
      }
      expectRising([aliceStart, ...modseqsOfChanges(ofAlice)], 'alice modseq');
      expectRising([bobStart, ...modseqsOfChanges(ofBob)], 'bob modseq');
      // A message carries the modseq of the change that gave it its state (IMAP CONDSTORE).
      expect(acted.map((x) => x!.modseq)).toEqual(modseqsOfChanges(ofAlice).slice(1, 5));
      expect(await store.highestModseq(alice.id)).toBe(ofAlice.at(-1)!.modseq);

      // A client that reconnects catches up from any modseq it saw.
      expect(await store.changesSince(alice.id, ofAlice[2]!.modseq)).toEqual(ofAlice.slice(3));
      expect(await store.changesSince(alice.id, ofAlice.at(-1)!.modseq)).toEqual([]);
      expect(await codeOf(store.highestModseq(alice.id + 1000))).toBe('NOT_FOUND');
    });

    it("prunes old entries but keeps each mailbox's newest", async () => {
      const start = await store.highestModseq(alice.id);
      for (let i = 0; i < 3; i++) await deposit(store, alice.id);
      await deposit(store, bob.id);
      const later = Date.now() + 60_000;
      expect(await store.pruneJournal(later)).toBeGreaterThan(0);
      const left = await store.changesSince(alice.id, start);
      expect(left).toHaveLength(1);
      expect(left[0]!.modseq).toBe(await store.highestModseq(alice.id));
      expect(await store.changesSince(bob.id, 0)).toHaveLength(1);
      // Nothing newer than the cut goes.
      const before = await store.highestModseq(alice.id);
      await deposit(store, alice.id);
      await store.pruneJournal(Date.now() - 60_000);
      expect(await store.changesSince(alice.id, before)).toHaveLength(1);
    });
  });

  describe('the change feed', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    let bob: MailboxRecord;
    let wakes: Wakes;
    let unsubscribe: () => void;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
      bob = await addMailbox(store, 'bob', '202');
      wakes = new Wakes();
      unsubscribe = store.feed.subscribe(wakes.listener);
    });
    afterEach(async () => {
      unsubscribe();
      await opened.close();
    });

    it('wakes subscribers after each committed change, naming the mailbox and a modseq covering it', async () => {
      const m = await deposit(store, alice.id);
      await wakes.covering(alice.id, m.modseq);
      const changed = await store.setState(m.id, NEW, OLD, 'inbox', 1);
      await wakes.covering(alice.id, changed!.modseq);
      await store.updateMailbox(bob.id, { fullName: 'Bob B' });
      await wakes.covering(bob.id, await store.highestModseq(bob.id));
      for (const w of wakes.seen)
        expect(w.modseq).toBeLessThanOrEqual(await store.highestModseq(w.mailboxId));
    });

    it('wakes for changes committed through another opened store (another process or node)', async () => {
      const second = await opened.reopen();
      try {
        const since = await store.highestModseq(alice.id);
        const seconds: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          const m = await deposit(second.store, alice.id);
          await wakes.covering(alice.id, m.modseq, 1000);
          seconds.push((performance.now() - t0) / 1000);
        }
        await second.store.updateMailbox(bob.id, { fullName: 'Bob B' });
        await wakes.covering(bob.id, await second.store.highestModseq(bob.id), 1000);
        // The consumer reads what happened from its own modseq.
        const read = await store.changesSince(alice.id, since);
        expect(read.map((c) => c.kind)).toEqual(['added', 'added', 'added']);
        expect(Math.max(...seconds), 'seconds from a commit to its wake-up').toBeLessThan(1);
      } finally {
        await second.close();
      }
    });

    it('wakes every subscriber, and no longer one that unsubscribed', async () => {
      const other = new Wakes();
      const stop = store.feed.subscribe(other.listener);
      const m = await deposit(store, alice.id);
      await Promise.all([wakes.covering(alice.id, m.modseq), other.covering(alice.id, m.modseq)]);
      stop();
      const n = await deposit(store, alice.id);
      await wakes.covering(alice.id, n.modseq);
      expect(other.seen.every((w) => w.modseq < n.modseq)).toBe(true);
    });
  });
}
