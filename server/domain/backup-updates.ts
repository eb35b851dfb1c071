/**
 * The central's state changes sent to its backup as they happen (`topology.syncMessages`,
 * DESIGN.md "Topology"): when a message the backup holds a copy of is played, saved, deleted,
 * undeleted, marked unread or purged here, an `update` to the `peer` target carries the new
 * state, the change's time and this server's name; the backup merges it by the rule of
 * `state-merge.ts`. The store queues them in the transaction of the change itself, beside the
 * Exchange write-backs, so a crash never keeps one without the other; the queue keeps them in
 * order behind the copy of the message they concern, and waits while the backup does not
 * answer (a partition): they reach it when the link heals.
 */
import { randomUUID } from 'node:crypto';
import type { DomainDeps } from './deps.ts';
import { mailFactsOf, type NewDelivery } from './delivery.ts';
import type { Message } from './message.ts';
import type { StatePair } from './message-state.ts';
import type { PeerState } from './state-merge.ts';

/** One message's change: as it was, and what it becomes (null: purged). */
export interface BackupChange {
  message: Message;
  to: StatePair | null;
}

/**
 * The `state` the backup is sent for a change made at `at`: an undelete names the delete it
 * undoes (its change time, `undoes`), a purge is a delete marked `purged`.
 */
export function peerStateOf(change: BackupChange, at: number, server: string): PeerState {
  const { message: m, to } = change;
  if (to === null)
    return {
      state: 'deleted',
      deletedFrom: m.state === 'deleted' ? m.deletedFrom : null,
      changedAt: at,
      server,
      purged: true,
    };
  return {
    state: to.state,
    deletedFrom: to.deletedFrom,
    changedAt: at,
    server,
    ...(m.state === 'deleted' && to.state !== 'deleted' ? { undoes: m.stateChangedAt } : {}),
  };
}

/**
 * The updates for a backup of these changes to messages of `mailboxId`: none unless this is a
 * central keeping a backup in step (`deps.backup`), none for a state that does not change.
 * A message is sent whatever its origin: the backup holds a copy of every one kept here.
 */
export function backupUpdatesFor(
  deps: Pick<DomainDeps, 'backup' | 'serverName'>,
  mailbox: { id: number; name: string },
  changes: readonly BackupChange[],
  at: number,
): NewDelivery[] {
  const backup = deps.backup;
  if (!backup) return [];
  return changes
    .filter(
      (c) =>
        c.to === null ||
        c.to.state !== c.message.state ||
        c.to.deletedFrom !== c.message.deletedFrom,
    )
    .map((c) => ({
      voicemailId: randomUUID(),
      ...mailFactsOf(c.message),
      target: 'peer' as const,
      kind: 'update' as const,
      mailboxId: mailbox.id,
      recipient: mailbox.name,
      messageId: c.message.id,
      payload: { peer: backup, ...peerStateOf(c, at, deps.serverName) },
    }));
}
