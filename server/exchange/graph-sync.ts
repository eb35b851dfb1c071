import type { ExchangeView } from '../domain/exchange-state.ts';
import { GraphError, type DeltaChange, type GraphClient } from './graph-client.ts';
import { advanceSyncState, type ShadowFollower, type SyncStateStore } from './read-back.ts';

/**
 * Reads one Exchange Online mailbox's changes since the last round (the Inbox's delta query)
 * and hands each item's state to the domain. A message that left the Inbox (`@removed`) is
 * looked up: in Deleted Items, elsewhere, or gone; so are the items of deleted voicemail, to
 * learn of purges. An expired delta link (410) starts over.
 */
export async function syncGraphMailbox(
  client: GraphClient,
  address: string,
  mailboxId: number,
  store: SyncStateStore,
  shadows: ShadowFollower,
  signal?: AbortSignal,
): Promise<number> {
  const link = await store.getExchangeSyncState(mailboxId);
  let round;
  try {
    round = await client.inboxDelta(address, link, signal);
  } catch (err) {
    if (!(err instanceof GraphError && err.status === 410) || link === null) throw err;
    round = await client.inboxDelta(address, null, signal);
  }
  const trash = round.changes.length > 0 ? await client.folderId(address, 'deleteditems') : '';
  let followed = 0;
  for (const change of round.changes) {
    const left = change['@removed'] !== undefined;
    const current = left ? await client.message(address, change.id, signal) : change;
    if (await shadows.follow(mailboxId, change.id, viewOf(current, left, trash))) followed++;
  }
  // The Inbox's delta does not see an item purged from Deleted Items: those are looked up.
  for (const itemId of await shadows.deletedItems(mailboxId))
    if (!(await client.message(address, itemId, signal)))
      if (await shadows.follow(mailboxId, itemId, { place: 'gone' })) followed++;
  await advanceSyncState(store, mailboxId, shadows, round.deltaLink);
  return followed;
}

/** An item still in the Inbox, or one that left it (now in Deleted Items, elsewhere, or gone). */
function viewOf(m: DeltaChange | null, left: boolean, trash: string): ExchangeView {
  if (!m) return { place: 'gone' };
  const flagged = m.flag?.flagStatus === 'flagged' || m.flag?.flagStatus === 'complete';
  const isRead = m.isRead === true;
  if (!left) return { place: 'inbox', isRead, flagged };
  return { place: m.parentFolderId === trash ? 'deleted' : 'elsewhere', isRead, flagged };
}
