import { isLiveState, type MessageState } from './message-state.ts';
import type { HousekeepingRules } from './policy.ts';

const HOUR = 3_600_000;

export interface HousekeepingItem {
  id: string;
  state: MessageState;
  stateChangedAt: number;
}

/**
 * Which messages housekeeping deletes (their category's hours have passed since they entered
 * it) and which deleted ones it purges. 0 hours means never.
 */
export function housekeepingDue(
  items: Iterable<HousekeepingItem>,
  rules: HousekeepingRules,
  now: number,
): { toDelete: string[]; toPurge: string[] } {
  const toDelete: string[] = [];
  const toPurge: string[] = [];
  for (const item of items) {
    const age = now - item.stateChangedAt;
    if (isLiveState(item.state)) {
      const hours = rules.deleteAfterHours[item.state];
      if (hours > 0 && age >= hours * HOUR) toDelete.push(item.id);
    } else if (rules.purgeDeletedAfterHours > 0 && age >= rules.purgeDeletedAfterHours * HOUR) {
      toPurge.push(item.id);
    }
  }
  return { toDelete, toPurge };
}
