import { startHousekeeping } from '../housekeeping-scheduler.ts';
import type { Part, Wiring } from './part.ts';

/** Deletes and purges old messages on schedule, on the node that runs it. */
export function buildHousekeepingPart(w: Wiring): Part {
  let stop: (() => void) | null = null;
  return {
    listen: async () => {
      stop = startHousekeeping(
        w.context.messages,
        w.loaded.config.housekeeping.intervalMinutes,
        w.log,
        () => w.once.runsHere('housekeeping'),
      );
    },
    close: async () => stop?.(),
  };
}
