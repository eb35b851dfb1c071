import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, DeliveryResult } from '../../server/domain/delivery.ts';
import { tempContext } from '../helpers/temp-context.ts';
import { wav } from './mail-helpers.ts';

/**
 * A forward that bounces is recorded as failed and then put into the mailbox. If the process
 * dies between the two, the voicemail must still be somewhere: in the mailbox, or in the queue
 * to be tried again once the dead worker's lease has run out.
 */
let ctx: Awaited<ReturnType<typeof tempContext>> | undefined;
afterEach(async () => {
  await ctx?.cleanup();
  ctx = undefined;
});

const LEASE_MS = 60_000;
const refusal: DeliveryResult = { status: 'fail', reason: '550 no such user' };

describe('a bounce interrupted by a crash', () => {
  it('does not lose the forwarded voicemail', async () => {
    ctx = await tempContext();
    const carol = await ctx.mailboxes.add(
      { name: 'carol', extension: '203', email: 'carol@example.com', emailMode: 'forward' },
      '1234',
    );
    await ctx.messages.deposit({ mailbox: '203', audio: wav(ctx.dir, 2) });
    const [claimed] = await ctx.deliveries.claim('smtp', 'worker-1', 10, LEASE_MS);
    expect(claimed).toMatchObject({ kind: 'forward', target: 'smtp' });

    // The bounce's one transaction fails (as if the process died in it): nothing changed.
    const store = ctx.store;
    const failDelivery = store.failDelivery.bind(store);
    store.failDelivery = () => Promise.reject(new Error('process killed'));
    await expect(ctx.deliveries.settle(claimed!, refusal, 'worker-1')).rejects.toThrow(
      'process killed',
    );
    store.failDelivery = failDelivery;
    expect(await ctx.messages.list(carol.id)).toHaveLength(0);
    const waiting = await ctx.deliveries.list();
    expect(waiting).toMatchObject([{ id: claimed!.id, status: 'pending', attempts: 0 }]);
    expect(waiting[0]!.lease?.holder).toBe('worker-1');

    // Nobody else takes it while the lease lasts; once it has run out, another worker does.
    expect(await ctx.deliveries.claim('smtp', 'worker-2', 10, LEASE_MS)).toEqual([]);
    const [again] = await store.claimDeliveries({
      target: 'smtp',
      holder: 'worker-2',
      now: waiting[0]!.lease!.until,
      leaseMs: LEASE_MS,
      limit: 10,
    });
    expect(again?.id).toBe(claimed!.id);

    // The bounce and the message in the mailbox are committed together.
    expect(await ctx.deliveries.settle(again!, refusal, 'worker-2')).toBe('failed');
    const kept = await ctx.messages.list(carol.id);
    expect(kept.map((m) => m.id)).toEqual([(claimed as Delivery).voicemailId]);
    expect(await ctx.deliveries.list()).toMatchObject([
      {
        id: claimed!.id,
        status: 'failed',
        attempts: 1,
        lastError: '550 no such user',
        lease: null,
      },
    ]);
  });
});
