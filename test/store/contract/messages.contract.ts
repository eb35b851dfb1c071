import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, codeOf, deposit, newMessage } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const NEW = { state: 'new', deletedFrom: null } as const;
const OLD = { state: 'old', deletedFrom: null } as const;
const DELETED_OLD = { state: 'deleted', deletedFrom: 'old' } as const;

export function messagesContract(open: () => Promise<OpenedStore>): void {
  describe('messages', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
    });
    afterEach(() => opened.close());

    it('adds messages as new in the inbox, with what they were given', async () => {
      const input = newMessage(alice.id, randomUUID(), 1_700_000_000_000);
      const {
        messages: [m],
      } = await store.addMessages([input], 1_700_000_000_500);
      expect(m).toEqual({
        ...input,
        state: 'new',
        deletedFrom: null,
        stateChangedAt: 1_700_000_000_500,
        modseq: await store.highestModseq(alice.id),
        folder: 'inbox',
        uid: 1,
        markedForPurge: false,
        emailError: null,
      });
      expect(await store.getMessage(input.id)).toEqual(m);
      expect(await store.getMessage(randomUUID())).toBeNull();
      expect(await store.listMessages(alice.id)).toEqual([m]);
      expect(await store.countByState(alice.id)).toEqual({ new: 1 });
      expect(await store.messageAges()).toEqual([
        { id: m!.id, state: 'new', stateChangedAt: 1_700_000_000_500 },
      ]);
    });

    it("finds a mailbox's message by its voicemail identity, in any state", async () => {
      const bob = await addMailbox(store, 'bob', '202');
      const input = newMessage(alice.id);
      const {
        messages: [m],
      } = await store.addMessages([input], Date.now());
      expect(await store.findMessageByIdentity(alice.id, input.identity)).toEqual(m);
      // Another mailbox's, or an identity never stored, is not found.
      expect(await store.findMessageByIdentity(bob.id, input.identity)).toBeNull();
      expect(await store.findMessageByIdentity(alice.id, `x${input.identity}`)).toBeNull();
      expect(await store.setState(m!.id, NEW, DELETED_OLD, 'trash', Date.now())).toBeTruthy();
      expect((await store.findMessageByIdentity(alice.id, input.identity))?.state).toBe('deleted');
    });

    it('adds all of a batch or none of it', async () => {
      const bob = await addMailbox(store, 'bob', '202');
      const before = await store.highestModseq(alice.id);
      const batch = [newMessage(alice.id), newMessage(bob.id), newMessage(bob.id + 1000)];
      expect(await codeOf(store.addMessages(batch, Date.now()))).not.toBe('resolved');
      expect(await store.listMessages(alice.id)).toEqual([]);
      expect(await store.listMessages(bob.id)).toEqual([]);
      expect(await store.highestModseq(alice.id)).toBe(before);
      expect(await store.changesSince(alice.id, before)).toEqual([]);
      // A message id is stored once (a voicemail of another identity cannot take it).
      const one = newMessage(alice.id);
      await store.addMessages([one], Date.now());
      const clash = { ...one, identity: `other-${one.identity}` };
      expect(await codeOf(store.addMessages([newMessage(bob.id), clash], Date.now()))).not.toBe(
        'resolved',
      );
      expect(await store.listMessages(bob.id)).toEqual([]);
    });

    it('lists by state and folder, oldest first', async () => {
      const first = await store.addMessages([newMessage(alice.id, undefined, 1000)], 1000);
      const second = await store.addMessages([newMessage(alice.id, undefined, 2000)], 2000);
      const a = first.messages[0]!;
      const b = second.messages[0]!;
      await store.setState(a.id, NEW, DELETED_OLD, 'trash', 3000);
      expect((await store.listMessages(alice.id)).map((m) => m.id)).toEqual([a.id, b.id]);
      expect((await store.listMessages(alice.id, { folder: 'inbox' })).map((m) => m.id)).toEqual([
        b.id,
      ]);
      expect((await store.listMessages(alice.id, { folder: 'trash' })).map((m) => m.id)).toEqual([
        a.id,
      ]);
      expect((await store.listMessages(alice.id, { states: ['new'] })).map((m) => m.id)).toEqual([
        b.id,
      ]);
      expect(await store.countByState(alice.id)).toEqual({ new: 1, deleted: 1 });
    });

    it('sets a state only if the message is still in the expected one (compare-and-set)', async () => {
      const m = await deposit(store, alice.id);
      const played = await store.setState(m.id, NEW, OLD, 'inbox', 5000);
      expect(played).toMatchObject({
        state: 'old',
        deletedFrom: null,
        stateChangedAt: 5000,
        folder: 'inbox',
        uid: m.uid,
      });
      expect(played!.modseq).toBeGreaterThan(m.modseq);
      // Someone else changed it first: nothing happens.
      expect(await store.setState(m.id, NEW, OLD, 'inbox', 6000)).toBeNull();
      expect(await store.setState(randomUUID(), NEW, OLD, 'inbox', 6000)).toBeNull();
      expect(await store.getMessage(m.id)).toEqual(played);
    });

    it('lets exactly one of many concurrent changes from one state win, across two opened stores', async () => {
      const m = await deposit(store, alice.id);
      const second = await opened.reopen();
      try {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? second.store : store).setState(m.id, NEW, OLD, 'inbox', 5000 + i),
          ),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      } finally {
        await second.close();
      }
    });

    it('moves a message between folders with a new UID there; UIDs rise and are never reused', async () => {
      const a = await deposit(store, alice.id);
      const b = await deposit(store, alice.id);
      expect([a.uid, b.uid]).toEqual([1, 2]);
      const trashed = await store.setState(a.id, NEW, DELETED_OLD, 'trash', 1);
      expect(trashed).toMatchObject({ folder: 'trash', uid: 1, deletedFrom: 'old' });
      const back = await store.setState(a.id, DELETED_OLD, OLD, 'inbox', 2);
      expect(back).toMatchObject({ folder: 'inbox', uid: 3, state: 'old' });
      // Purged UIDs are not handed out again.
      await store.purgeMessages([a.id, b.id], 3);
      const c = await deposit(store, alice.id);
      expect(c.uid).toBe(4);
      const snapshot = await store.folderSnapshot(alice.id, 'inbox');
      expect(snapshot).toMatchObject({
        uids: [4],
        uidNext: 5,
        modseq: await store.highestModseq(alice.id),
      });
      expect(snapshot.uidValidity).toBe(
        (await store.folderSnapshot(alice.id, 'trash')).uidValidity,
      );
      expect(await store.folderSnapshot(alice.id, 'trash')).toMatchObject({ uids: [], uidNext: 2 });
      expect(await codeOf(store.folderSnapshot(alice.id + 1000, 'inbox'))).toBe('NOT_FOUND');
    });

    it('gives concurrent deposits into one mailbox distinct, rising UIDs, across two opened stores', async () => {
      const second = await opened.reopen();
      try {
        const added = await Promise.all(
          Array.from({ length: 20 }, (_, i) => deposit(i % 2 ? second.store : store, alice.id)),
        );
        const uids = added.map((m) => m.uid).sort((x, y) => x - y);
        expect(uids).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        const modseqs = new Set(added.map((m) => m.modseq));
        expect(modseqs.size).toBe(20);
        // Each message's UID order matches its modseq order: no client sees a later UID first.
        const byModseq = [...added].sort((x, y) => x.modseq - y.modseq).map((m) => m.uid);
        expect(byModseq).toEqual(uids);
      } finally {
        await second.close();
      }
    });

    it('marks a message in the trash for purging, and nowhere else', async () => {
      const m = await deposit(store, alice.id);
      expect(await store.setPurgeMark(m.id, true, 1)).toBeNull();
      await store.setState(m.id, NEW, DELETED_OLD, 'trash', 2);
      expect(await store.setPurgeMark(m.id, true, 3)).toMatchObject({ markedForPurge: true });
      expect(await store.setPurgeMark(m.id, false, 4)).toMatchObject({ markedForPurge: false });
      await store.setPurgeMark(m.id, true, 5);
      // Leaving the trash clears it.
      expect(await store.setState(m.id, DELETED_OLD, OLD, 'inbox', 6)).toMatchObject({
        markedForPurge: false,
      });
    });

    it('keeps the first rendition of a message and removes it with the message', async () => {
      const m = await deposit(store, alice.id);
      expect(await store.getRendition(m.id, 'imap')).toBeNull();
      await store.putRendition(m.id, 'imap', new Uint8Array([1, 2, 3]));
      await store.putRendition(m.id, 'imap', new Uint8Array([9]));
      expect(Buffer.from((await store.getRendition(m.id, 'imap'))!)).toEqual(
        Buffer.from([1, 2, 3]),
      );
      expect(await store.getRendition(m.id, 'other')).toBeNull();
      await store.purgeMessages([m.id], 1);
      expect(await store.getRendition(m.id, 'imap')).toBeNull();
    });

    it('purges messages, returning the audio keys nothing uses any more', async () => {
      const bob = await addMailbox(store, 'bob', '202');
      const shared = randomUUID();
      const a = await deposit(store, alice.id, shared);
      const b = await deposit(store, bob.id, shared);
      const own = await deposit(store, alice.id);
      const greeting = randomUUID();
      const g = await deposit(store, alice.id, greeting);
      await store.setGreeting(bob.id, 'busy', { ...g.audio }, 1);

      expect((await store.purgeMessages([a.id, own.id], 2)).sort()).toEqual([own.audio.key]);
      expect(await store.purgeMessages([b.id], 3)).toEqual([shared]);
      // A greeting still plays it.
      expect(await store.purgeMessages([g.id], 4)).toEqual([]);
      // Unknown or already purged ids are no error.
      expect(await store.purgeMessages([a.id, randomUUID()], 5)).toEqual([]);
      expect(await store.getMessage(a.id)).toBeNull();
    });
  });
}
