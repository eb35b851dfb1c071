import type { DeliveryTarget } from '../domain/outbox.ts';
import type { OutboxService } from '../domain/outbox-service.ts';
import type { Logger } from '../log.ts';

/**
 * Sends due mail: at once when poked (a mail was queued in this process), and every few seconds
 * for mail queued by other processes or due for a retry. Never two runs at once.
 */
export function startOutbox(
  outbox: OutboxService,
  target: DeliveryTarget,
  log: Logger,
  opts: { intervalMs?: number; runsHere?: () => boolean } = {},
) {
  const intervalMs = opts.intervalMs ?? 2000;
  const runsHere = opts.runsHere ?? (() => true);
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped || !runsHere()) return;
    if (running) {
      again = true;
      return;
    }
    // Started inside a promise, so that even a synchronous throw is this run's failure, logged;
    // the timer and the pokes (from other code paths) never see it.
    running = Promise.resolve()
      .then(() => outbox.runDue(target))
      .then(
        (r) => {
          // A full batch may mean more is due.
          if (r.sent + r.retried + r.failed >= 20) again = true;
        },
        (err: unknown) => log.error({ err }, 'sending e-mail failed'),
      )
      .catch((err: unknown) => log.error({ err }, 'sending e-mail failed'))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          setImmediate(run);
        }
      });
  };
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    poke: run,
    /** Stops, letting a delivery under way finish first (or 30 s pass), so none is sent twice. */
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (running) await Promise.race([running, new Promise((r) => setTimeout(r, 30_000).unref())]);
    },
  };
}
