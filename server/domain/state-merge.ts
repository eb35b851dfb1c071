import { VoicegateError } from './errors.ts';
import { isLiveState, type LiveState, type MessageState, type StatePair } from './message-state.ts';

/**
 * A message's state as one server last set it: what a `state` sync mail carries, and what the
 * receiver compares it with (several servers, DESIGN.md "Topology").
 */
export interface PeerState extends StatePair {
  /** When the change was made (ms since 1970): the message's `stateChangedAt` there. */
  changedAt: number;
  /** The server that made it. */
  server: string;
  /**
   * An undelete names the delete it undoes by that delete's change time: it beats that delete
   * (and only that one) where the delete was applied with the same time.
   */
  undoes?: number | null;
  /** The message was removed for good there: the receiver removes its copy too. */
  purged?: boolean;
}

/**
 * The merge rule when two servers changed the same message apart (a live backup, a split
 * brain): a delete is never lost (a message deleted on one side and kept on the other ends
 * deleted, whatever the times); otherwise the last change wins, by change time, ties by server
 * name (the greater wins), so both sides pick the same. Returns the state to apply, or null
 * when the local one stands. Both deleted: the later one's remembered state is kept. The one
 * exception to "a delete is never lost": an undelete that names this very delete (`undoes`,
 * the delete's change time, which the receiver applied as its own) undoes it, since the side
 * that undid it had seen it.
 */
export function mergeState(local: PeerState, remote: PeerState): StatePair | null {
  const localDeleted = local.state === 'deleted';
  const remoteDeleted = remote.state === 'deleted';
  if (localDeleted && !remoteDeleted && remote.undoes != null && remote.undoes === local.changedAt)
    return pair(remote);
  if (localDeleted !== remoteDeleted) return remoteDeleted ? pair(remote) : null;
  const remoteLater =
    remote.changedAt > local.changedAt ||
    (remote.changedAt === local.changedAt && remote.server > local.server);
  if (!remoteLater) return null;
  if (remote.state === local.state && remote.deletedFrom === local.deletedFrom) return null;
  return pair(remote);
}

const pair = (s: StatePair): StatePair => ({ state: s.state, deletedFrom: s.deletedFrom });

/** A peer's state as read off the wire: checked before anything is compared with it. */
export function checkPeerState(value: unknown): PeerState {
  const v = value as Partial<PeerState> | null;
  const state = v?.state as MessageState | undefined;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    typeof state === 'string' &&
    (state === 'deleted' || isLiveState(state)) &&
    (state === 'deleted'
      ? v.deletedFrom === null || isLiveState(String(v.deletedFrom))
      : v.deletedFrom === null) &&
    Number.isSafeInteger(v.changedAt) &&
    typeof v.server === 'string' &&
    v.server !== '' &&
    (v.undoes == null || (state !== 'deleted' && Number.isSafeInteger(v.undoes))) &&
    (v.purged === undefined || v.purged === false || (v.purged === true && state === 'deleted'));
  if (!ok)
    throw new VoicegateError(
      'INVALID_INPUT',
      'a state change needs state, deletedFrom (null unless deleted), changedAt and server; undoes (a time) only with a state not deleted, purged only with deleted',
    );
  return {
    state: state!,
    deletedFrom: (v!.deletedFrom ?? null) as LiveState | null,
    changedAt: v!.changedAt!,
    server: v!.server!,
    ...(v!.undoes != null ? { undoes: v!.undoes } : {}),
    ...(v!.purged === true ? { purged: true } : {}),
  };
}
