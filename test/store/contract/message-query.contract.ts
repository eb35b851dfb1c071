import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MailboxRecord } from '../../../server/domain/mailbox.ts';
import type { Message, NewMessage } from '../../../server/domain/message.ts';
import { LIVE_STATES } from '../../../server/domain/message-state.ts';
import type { MessageQuery, VoicemailStore } from '../../../server/domain/ports.ts';
import { addMailbox, newMessage } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const NEW = { state: 'new', deletedFrom: null } as const;
const OLD = { state: 'old', deletedFrom: null } as const;
const SAVED = { state: 'saved', deletedFrom: null } as const;
const DELETED_NEW = { state: 'deleted', deletedFrom: 'new' } as const;

/** queryMessages (search, order, cursor paging) and setStates (all or nothing). */
export function messageQueryContract(open: () => Promise<OpenedStore>): void {
  describe('message queries', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let alice: MailboxRecord;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      alice = await addMailbox(store, 'alice', '201');
    });
    afterEach(() => opened.close());

    async function add(at: number, over: Partial<NewMessage> = {}): Promise<Message> {
      const { messages } = await store.addMessages(
        [{ ...newMessage(alice.id, undefined, at), ...over }],
        at,
      );
      return messages[0]!;
    }

    async function all(query: Omit<MessageQuery, 'limit' | 'after'>, limit = 2): Promise<string[]> {
      const ids: string[] = [];
      let after: MessageQuery['after'];
      for (;;) {
        const page = await store.queryMessages(alice.id, { ...query, limit, after });
        ids.push(...page.messages.map((m) => m.id));
        expect(page.messages.length).toBeLessThanOrEqual(limit);
        if (!page.next) return ids;
        after = page.next;
      }
    }

    const inbox = { states: LIVE_STATES, order: 'newest' } as const;

    it('pages newest first, oldest first and high priority first, ties broken by id', async () => {
      const a = await add(1000);
      const b = await add(2000, { priority: 'high' });
      const c = await add(3000);
      const d = await add(3000);
      const [d1, d2] = [c, d].sort((x, y) => (x.id < y.id ? -1 : 1));
      expect(await all(inbox)).toEqual([d2!.id, d1!.id, b.id, a.id]);
      expect(await all({ ...inbox, order: 'oldest' })).toEqual([a.id, b.id, d1!.id, d2!.id]);
      expect(await all({ ...inbox, order: 'priority' }, 1)).toEqual([b.id, d2!.id, d1!.id, a.id]);
      const first = await store.queryMessages(alice.id, { ...inbox, limit: 3 });
      expect(first.total).toBe(4);
      expect(first.next).toEqual({ receivedAt: 2000, id: b.id, priority: 'high' });
      const last = await store.queryMessages(alice.id, { ...inbox, limit: 3, after: first.next! });
      expect(last).toEqual({ messages: [a], next: null, total: 4 });
      expect(await store.queryMessages(alice.id, { ...inbox, limit: 4 })).toMatchObject({
        next: null,
      });
    });

    it('returns a total it is given instead of counting again', async () => {
      const a = await add(1000);
      await add(2000);
      // A total counted earlier at the same modification sequence: the store takes it as it is.
      const page = await store.queryMessages(alice.id, { ...inbox, limit: 1, total: 7 });
      expect(page.total).toBe(7);
      expect(page.messages).toHaveLength(1);
      const rest = await store.queryMessages(alice.id, {
        ...inbox,
        limit: 1,
        total: 7,
        after: page.next!,
      });
      expect(rest).toEqual({ messages: [a], next: null, total: 7 });
      expect((await store.queryMessages(alice.id, { ...inbox, limit: 1 })).total).toBe(2);
    });

    it('finds a part of the caller name or number, in any case', async () => {
      const ann = await add(1000, { callerName: 'Ann Müller', callerNumber: '+15550111' });
      const bob = await add(2000, { callerName: 'Bob Stone', callerNumber: '0612345678' });
      const unknown = await add(3000, { callerName: null, callerNumber: null });
      expect(await all({ ...inbox, caller: 'müller' })).toEqual([ann.id]);
      expect(await all({ ...inbox, caller: 'ANN' })).toEqual([ann.id]);
      expect(await all({ ...inbox, caller: '5550' })).toEqual([ann.id]);
      expect(await all({ ...inbox, caller: '2345' })).toEqual([bob.id]);
      expect(await all({ ...inbox, caller: 'bo' })).toEqual([bob.id]);
      expect(await all({ ...inbox, caller: '06' })).toEqual([bob.id]);
      expect(await all({ ...inbox, caller: 'n' })).toEqual([bob.id, ann.id]);
      expect(await all({ ...inbox, caller: '"%_' })).toEqual([]);
      expect(await all({ ...inbox, caller: '  ' })).toEqual([unknown.id, bob.id, ann.id]);
      expect(
        (await store.queryMessages(alice.id, { ...inbox, caller: 'Stone', limit: 5 })).total,
      ).toBe(1);
    });

    it('filters by date range, state, priority and privacy, and one mailbox only', async () => {
      const bob = await addMailbox(store, 'bob', '202');
      await store.addMessages([newMessage(bob.id, undefined, 1500)], 1500);
      const a = await add(1000);
      const b = await add(2000, { priority: 'high', private: true });
      const c = await add(3000);
      await store.setState(a.id, NEW, OLD, 'inbox', 4000);
      await store.setState(c.id, NEW, DELETED_NEW, 'trash', 4000);
      expect(await all({ ...inbox, from: 1000, to: 2000 })).toEqual([a.id]);
      expect(await all({ ...inbox, from: 1001 })).toEqual([b.id]);
      expect(await all({ ...inbox, states: ['old'] })).toEqual([a.id]);
      expect(await all({ ...inbox, states: ['deleted'] })).toEqual([c.id]);
      expect(await all({ ...inbox, priority: 'high' })).toEqual([b.id]);
      expect(await all({ ...inbox, priority: 'normal' })).toEqual([a.id]);
      expect(await all({ ...inbox, private: true })).toEqual([b.id]);
      expect(await all({ ...inbox, private: false, states: ['old', 'deleted'] })).toEqual([
        c.id,
        a.id,
      ]);
    });

    it('sets many states all or none', async () => {
      const a = await add(1000);
      const b = await add(2000);
      const before = await store.highestModseq(alice.id);
      const done = await store.setStates(
        [
          { id: a.id, from: NEW, to: SAVED, folder: 'inbox' },
          { id: b.id, from: NEW, to: DELETED_NEW, folder: 'trash' },
        ],
        5000,
      );
      expect(done!.map((m) => [m.id, m.state, m.folder])).toEqual([
        [a.id, 'saved', 'inbox'],
        [b.id, 'deleted', 'trash'],
      ]);
      const modseq = await store.highestModseq(alice.id);
      expect(modseq).toBeGreaterThan(before);
      expect(await store.getMessage(a.id)).toEqual(done![0]);
      // One no longer in its `from` (b is deleted now): nothing changes, a stays saved.
      expect(
        await store.setStates(
          [
            { id: a.id, from: SAVED, to: OLD, folder: 'inbox' },
            { id: b.id, from: NEW, to: OLD, folder: 'inbox' },
          ],
          6000,
        ),
      ).toBeNull();
      expect((await store.getMessage(a.id))!.state).toBe('saved');
      expect(await store.highestModseq(alice.id)).toBe(modseq);
      expect(
        await store.setStates(
          [{ id: crypto.randomUUID(), from: NEW, to: OLD, folder: 'inbox' }],
          7000,
        ),
      ).toBeNull();
      const changes = await store.changesSince(alice.id, before);
      expect(changes.map((c) => [c.kind, c.messageId])).toEqual([
        ['changed', a.id],
        ['removed', b.id],
        ['added', b.id],
      ]);
    });

    it('still finds callers after messages are purged and mailboxes removed', async () => {
      const a = await add(1000, { callerName: 'Carol Smith' });
      const b = await add(2000, { callerName: 'Carol Jones' });
      await store.purgeMessages([a.id], 3000);
      expect(await all({ ...inbox, caller: 'carol' })).toEqual([b.id]);
      const dan = await addMailbox(store, 'dan', '203');
      await store.addMessages([{ ...newMessage(dan.id), callerName: 'Carol Dan' }], 4000);
      await store.removeMailbox(dan.id);
      expect(await all({ ...inbox, caller: 'carol' })).toEqual([b.id]);
    });
  });
}
