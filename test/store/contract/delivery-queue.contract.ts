import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewDelivery, TargetKind } from '../../../server/domain/delivery.ts';
import type { NewMessage } from '../../../server/domain/message.ts';
import type { VoicemailStore } from '../../../server/domain/ports.ts';
import { toneWav } from '../../../server/media/tone.ts';
import { newMailbox } from './fixtures.ts';
import type { OpenedStore } from './opened-store.ts';

const T0 = Date.UTC(2026, 5, 1, 12);
const LEASE = 60_000;

/**
 * The delivery queue as every back end must keep it: items claimed atomically with a lease,
 * a leased item taken by nobody else until its lease ends, and results recorded only by the
 * lease holder.
 */
export function deliveryQueueContract(open: () => Promise<OpenedStore>): void {
  describe('the delivery queue', () => {
    let opened: OpenedStore;
    let store: VoicemailStore;
    let mailboxId: number;
    let audioKey: string;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      const box = await store.createMailbox({
        ...newMailbox('alice', '201'),
        email: 'alice@example.com',
        emailMode: 'copy',
      });
      mailboxId = box.id;
      audioKey = await opened.audio.put(toneWav({ seconds: 1 }));
    });

    afterEach(async () => {
      await opened.close();
    });

    function delivery(over: Partial<NewDelivery> = {}): NewDelivery {
      const voicemailId = randomUUID();
      return {
        target: 'smtp',
        kind: 'manual',
        mailboxId,
        recipient: 'bob@example.com',
        messageId: null,
        voicemailId,
        identity: `${voicemailId}@contract`,
        callerNumber: '+3312345678',
        callerName: null,
        receivedAt: T0,
        audio: { key: audioKey, format: 'wav/pcm16/8000', bytes: 16044, durationMs: 1000 },
        priority: 'normal',
        private: false,
        ...over,
      };
    }

    function message(id: string): NewMessage {
      const d = delivery();
      return {
        id,
        identity: `${id}@contract`,
        mailboxId,
        kind: 'message',
        callerNumber: d.callerNumber,
        callerName: null,
        receivedAt: T0,
        audio: d.audio,
        priority: 'normal',
        private: false,
        originServer: 'voicegate',
        forwardedFrom: null,
      };
    }

    const claim = (holder: string, now: number, limit = 10, target: TargetKind = 'smtp') =>
      store.claimDeliveries({ target, holder, now, leaseMs: LEASE, limit });

    it('keeps a queued item pending, unleased, with its target and payload', async () => {
      await store.queueDelivery(delivery({ target: 'peer', payload: { peer: 'central' } }), T0);
      expect(await store.listDeliveries()).toMatchObject([
        {
          target: 'peer',
          kind: 'manual',
          mailboxId,
          recipient: 'bob@example.com',
          payload: { peer: 'central' },
          status: 'pending',
          attempts: 0,
          nextAttemptAt: T0,
          createdAt: T0,
          lastError: null,
          lease: null,
        },
      ]);
    });

    it('claims due items of one target kind, oldest first, up to the limit', async () => {
      await store.queueDelivery(delivery({ recipient: 'late@example.com' }), T0 + 5000);
      await store.queueDelivery(delivery({ recipient: 'first@example.com' }), T0);
      await store.queueDelivery(delivery({ recipient: 'second@example.com' }), T0 + 1);
      await store.queueDelivery(delivery({ target: 'ews', recipient: 'ews@example.com' }), T0);

      const got = await claim('w1', T0 + 1000, 1);
      expect(got.map((d) => d.recipient)).toEqual(['first@example.com']);
      expect(got[0]!.lease).toEqual({ holder: 'w1', until: T0 + 1000 + LEASE });
      const more = await claim('w1', T0 + 1000);
      // Not yet due, and another kind's, are left.
      expect(more.map((d) => d.recipient)).toEqual(['second@example.com']);
      expect((await claim('w1', T0 + 1000, 10, 'ews')).map((d) => d.recipient)).toEqual([
        'ews@example.com',
      ]);
    });

    it('gives a leased item to nobody else until its lease ends, then to the next claimer', async () => {
      await store.queueDelivery(delivery(), T0);
      const [mine] = await claim('w1', T0);
      expect(await claim('w2', T0 + LEASE - 1)).toEqual([]);
      const [theirs] = await claim('w2', T0 + LEASE);
      expect(theirs).toMatchObject({
        id: mine!.id,
        lease: { holder: 'w2', until: T0 + 2 * LEASE },
      });

      // The first worker's result no longer counts: its lease passed to another.
      expect(await store.completeDelivery(mine!.id, 'w1')).toBeNull();
      expect(await store.deferDelivery(mine!.id, 'w1', T0, 1, 'late')).toBe(false);
      expect(await store.failDelivery(mine!.id, 'w1', 'late')).toBe(false);
      expect(await store.getDelivery(mine!.id)).toMatchObject({
        status: 'pending',
        attempts: 0,
        lease: { holder: 'w2' },
      });
    });

    it('never hands one item to two of many simultaneous claimers', async () => {
      for (let i = 0; i < 20; i++) await store.queueDelivery(delivery(), T0);
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, w) => claim(`w${w}`, T0 + 1, 4)),
      );
      const ids = claims.flat().map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(20);
    });

    it('removes a delivered item for its holder only, returning audio nobody else uses', async () => {
      await store.queueDelivery(delivery(), T0);
      const [item] = await claim('w1', T0);
      expect(await store.completeDelivery(item!.id, 'w2')).toBeNull();
      expect(await store.listDeliveries()).toHaveLength(1);
      expect(await store.completeDelivery(item!.id, 'w1')).toEqual([audioKey]);
      expect(await store.listDeliveries()).toEqual([]);
    });

    it('keeps audio a message still uses when its delivery is done', async () => {
      const id = randomUUID();
      await store.addMessages([message(id)], T0, [delivery({ kind: 'copy', messageId: id })]);
      const [item] = await claim('w1', T0);
      expect(await store.completeDelivery(item!.id, 'w1')).toEqual([]);
    });

    it('defers for its holder: the lease ends and the item waits until its next attempt', async () => {
      await store.queueDelivery(delivery(), T0);
      const [item] = await claim('w1', T0);
      expect(await store.deferDelivery(item!.id, 'w2', T0 + 5000, 1, 'x')).toBe(false);
      expect(await store.deferDelivery(item!.id, 'w1', T0 + 60_000, 1, '451 busy')).toBe(true);
      expect(await store.getDelivery(item!.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        nextAttemptAt: T0 + 60_000,
        lastError: '451 busy',
        lease: null,
      });
      expect(await claim('w2', T0 + 59_999)).toEqual([]);
      expect(await claim('w2', T0 + 60_000)).toHaveLength(1);
    });

    it('fails for its holder, noting the refusal on the message the item is about', async () => {
      const id = randomUUID();
      const {
        messages: [kept],
      } = await store.addMessages([message(id)], T0, [delivery({ kind: 'copy', messageId: id })]);
      const [item] = await claim('w1', T0);
      expect(await store.failDelivery(item!.id, 'w1', '550 no such user')).toBe(true);
      expect(await store.getDelivery(item!.id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        lastError: '550 no such user',
        lease: null,
      });
      const noted = await store.getMessage(id);
      expect(noted!.emailError).toBe('550 no such user');
      // A change the live views see: the message's modseq rose.
      expect(noted!.modseq).toBeGreaterThan(kept!.modseq);
      // A failed item is never claimed again.
      expect(await claim('w2', T0 + 10 * LEASE)).toEqual([]);
    });

    it('puts an undeliverable forward into the mailbox in the same transaction as failing it', async () => {
      const forward = delivery({ kind: 'forward' });
      await store.queueDelivery(forward, T0);
      const [item] = await claim('w1', T0);
      const keep = { ...message(forward.voicemailId) };
      // Not the holder: neither the failure nor the message.
      expect(await store.failDelivery(item!.id, 'w2', 'bounced', keep)).toBe(false);
      expect(await store.listMessages(mailboxId)).toEqual([]);
      expect(await store.failDelivery(item!.id, 'w1', 'bounced', keep)).toBe(true);
      expect(await store.listMessages(mailboxId)).toMatchObject([
        { id: forward.voicemailId, emailError: 'bounced' },
      ]);
    });

    it('lets an administrator try a failed item again now, and drop any item', async () => {
      await store.queueDelivery(delivery(), T0);
      const [item] = await claim('w1', T0);
      await store.failDelivery(item!.id, 'w1', '550');
      await store.rescheduleDelivery(item!.id, T0 + 1000);
      expect(await store.getDelivery(item!.id)).toMatchObject({
        status: 'pending',
        nextAttemptAt: T0 + 1000,
      });
      const [again] = await claim('w2', T0 + 1000);
      // A drop needs no lease: the administrator's word counts.
      const forward = delivery({ kind: 'forward' });
      expect(await store.dropDelivery(again!.id)).toEqual([audioKey]);
      await store.queueDelivery(forward, T0);
      const [f] = await store.listDeliveries();
      expect(await store.dropDelivery(f!.id, message(forward.voicemailId))).toEqual([]);
      expect(await store.listDeliveries()).toEqual([]);
      expect((await store.listMessages(mailboxId)).map((m) => m.id)).toEqual([forward.voicemailId]);
    });

    it('queues a notice without mailbox or voicemail, leased, failed, retried and settled as voicemail is', async () => {
      const notice = { subject: '[vm1] alarm raised: disk', text: 'Seen: 10 MB free\n' };
      await store.queueDelivery(
        { target: 'smtp', kind: 'notice', recipient: 'ops@example.net', notice },
        T0,
      );
      await store.queueDelivery(delivery(), T0 + 1);
      const claimed = await store.claimDeliveries({
        target: 'smtp',
        holder: 'w1',
        now: T0 + 5,
        leaseMs: LEASE,
        limit: 10,
      });
      expect(claimed.map((d) => d.kind)).toEqual(['notice', 'manual']);
      const [n] = claimed;
      expect(n).toEqual({
        id: n!.id,
        target: 'smtp',
        kind: 'notice',
        recipient: 'ops@example.net',
        notice,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: T0,
        lastError: null,
        createdAt: T0,
        lease: { holder: 'w1', until: T0 + 5 + LEASE },
      });
      expect(await store.failDelivery(n!.id, 'w1', '550 no such user')).toBe(true);
      expect(await store.getDelivery(n!.id)).toMatchObject({
        kind: 'notice',
        status: 'failed',
        lastError: '550 no such user',
      });
      await store.rescheduleDelivery(n!.id, T0 + 10);
      const again = await store.claimDeliveries({
        target: 'smtp',
        holder: 'w2',
        now: T0 + 10,
        leaseMs: LEASE,
        limit: 10,
      });
      expect(again.map((d) => d.id)).toEqual([n!.id]);
      // Done: no audio to give back. The voicemail's audio is still in use by its item.
      expect(await store.completeDelivery(n!.id, 'w2')).toEqual([]);
      await store.queueDelivery(
        { target: 'smtp', kind: 'notice', recipient: 'ops@example.net', notice },
        T0 + 20,
      );
      const dropped = (await store.listDeliveries()).find((d) => d.kind === 'notice')!;
      expect(await store.dropDelivery(dropped.id)).toEqual([]);
      expect((await store.listDeliveries()).map((d) => d.kind)).toEqual(['manual']);
    });

    it('commits deliveries with their messages, or neither', async () => {
      const id = randomUUID();
      await expect(
        store.addMessages([message(id)], T0, [delivery({ mailboxId: mailboxId + 1000 })]),
      ).rejects.toThrow();
      expect(await store.listMessages(mailboxId)).toEqual([]);
      expect(await store.listDeliveries()).toEqual([]);
    });
  });
}
