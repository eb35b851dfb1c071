import type { ExchangeView } from '../domain/exchange-state.ts';
import type { ExchangeStore } from '../domain/ports.ts';

/** What reading a mailbox back needs of the domain: make a shadow follow its item. */
export interface ShadowFollower {
  follow(mailboxId: number, itemId: string, view: ExchangeView): Promise<boolean>;
  deletedItems(mailboxId: number): Promise<string[]>;
  /**
   * Set when what the round read was older than a change made here meanwhile: the sync state
   * is then kept, and the next round reads the same changes again, as they are by then.
   */
  readonly readAgain?: boolean;
}

/** Where a mailbox's read-back keeps its sync state between rounds. */
export type SyncStateStore = Pick<ExchangeStore, 'getExchangeSyncState' | 'setExchangeSyncState'>;

/** Ends a round: the sync state it reached is the next round's start, unless it must read again. */
export async function advanceSyncState(
  store: SyncStateStore,
  mailboxId: number,
  shadows: ShadowFollower,
  state: string,
): Promise<void> {
  if (!shadows.readAgain) await store.setExchangeSyncState(mailboxId, state);
}
