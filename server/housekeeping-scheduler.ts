import type { MessageService } from './domain/message-service.ts';
import type { Logger } from './log.ts';

/** Runs housekeeping at start and then every `intervalMinutes`; never two runs at once. */
export function startHousekeeping(
  messages: MessageService,
  intervalMinutes: number,
  log: Logger,
  runsHere: () => boolean = () => true,
): () => void {
  let running: Promise<void> | null = null;
  const run = (): void => {
    if (running || !runsHere()) return;
    running = messages
      .runHousekeeping()
      .then(
        () => undefined,
        (err: unknown) => log.error({ err }, 'housekeeping failed'),
      )
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(run, intervalMinutes * 60_000);
  timer.unref();
  setImmediate(run);
  return () => clearInterval(timer);
}
