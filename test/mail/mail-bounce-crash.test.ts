import { afterEach, describe, expect, it } from 'vitest';
import { tempContext } from '../helpers/temp-context.ts';
import { wav } from './mail-helpers.ts';

/**
 * A forward that bounces is recorded as failed and then put into the mailbox. If the process
 * dies between the two, the voicemail must still be somewhere: in the mailbox, or in the queue
 * to be tried again.
 */
let ctx: Awaited<ReturnType<typeof tempContext>> | undefined;
afterEach(async () => {
  await ctx?.cleanup();
  ctx = undefined;
});

describe('a bounce interrupted by a crash', () => {
  it('does not lose the forwarded voicemail', async () => {
    ctx = await tempContext();
    const carol = await ctx.mailboxes.add(
      { name: 'carol', extension: '203', email: 'carol@example.com', emailMode: 'forward' },
      '1234',
    );
    await ctx.messages.deposit({ mailbox: '203', audio: wav(ctx.dir, 2) });
    const [queued] = await ctx.outbox.list();

    // The bounce's one transaction fails (as if the process died in it): nothing changed.
    const store = ctx.store;
    const failMail = store.failMail.bind(store);
    store.failMail = () => Promise.reject(new Error('process killed'));
    const refuse = {
      deliver: async () => ({ status: 'fail' as const, reason: '550 no such user' }),
    };
    await expect(ctx.outbox.runDue(refuse)).rejects.toThrow('process killed');
    store.failMail = failMail;
    expect(await ctx.messages.list(carol.id)).toHaveLength(0);
    expect((await ctx.outbox.list()).find((m) => m.id === queued!.id)?.status).toBe('pending');

    // Run again: the bounce and the message in the mailbox are committed together.
    await ctx.outbox.runDue(refuse);
    const kept = await ctx.messages.list(carol.id);
    expect(kept.map((m) => m.id)).toEqual([queued!.voicemailId]);
    expect((await ctx.outbox.list()).find((m) => m.id === queued!.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: '550 no such user',
    });
  });
});
