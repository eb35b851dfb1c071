import { DeliveryRunner, workerId } from '../../delivery/delivery-runner.ts';
import { exchangeTargets } from '../../compose/exchange-targets.ts';
import { VoicegateError } from '../../domain/errors.ts';
import type { Context } from '../../context.ts';
import { print } from '../common.ts';

/**
 * `mailbox set M --move-existing`: queues the mailbox's existing voicemail for Exchange and
 * delivers it from here (a running server's queue delivers it too; leases keep them from
 * sending one twice), printing progress until every message is an item. Interrupted, it is run
 * again: what is moved stays moved, and a delivery cut short finds the item it made.
 */
export async function moveExisting(ctx: Context, mailbox: string): Promise<void> {
  const queued = await ctx.homes.moveExisting(mailbox);
  const start = await ctx.homes.moveProgress(mailbox);
  print(
    `${mailbox}: moving ${start.total - start.moved} voicemail to Exchange (${start.moved} of ${start.total} there already, ${queued} newly queued)`,
  );
  const runner = new DeliveryRunner({
    queue: ctx.deliveries,
    targets: exchangeTargets(ctx.loaded.config, ctx, () => undefined),
    holder: workerId(),
    log: ctx.log.child({ part: 'delivery' }),
    pollMs: 1000,
  });
  ctx.deliveryQueued.notify = () => runner.poke();
  runner.start();
  try {
    let shown = start.moved;
    for (;;) {
      const p = await ctx.homes.moveProgress(mailbox);
      if (p.moved !== shown) print(`moved ${(shown = p.moved)} of ${p.total}`);
      if (p.failed.length > 0)
        throw new VoicegateError(
          'UNAVAILABLE',
          `${p.failed.length} voicemail could not be moved (kept here): ${p.failed[0]!.reason}`,
        );
      if (p.moved >= p.total) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    ctx.deliveryQueued.notify = () => {};
    await runner.stop();
  }
  print(`${mailbox}: its voicemail is in Exchange`);
}
