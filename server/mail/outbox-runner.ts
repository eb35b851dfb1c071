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
  intervalMs = 2000,
) {
  let running = false;
  let again = false;
  let stopped = false;
  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    outbox
      .runDue(target)
      .then(
        (r) => {
          // A full batch may mean more is due.
          if (r.sent + r.retried + r.failed >= 20) again = true;
        },
        (err: unknown) => log.error({ err }, 'sending e-mail failed'),
      )
      .finally(() => {
        running = false;
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
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
