import { diffReplica, hashesOf, replicaDigest, type ReplicaPosition } from '../domain/replica.ts';
import type { ReplicaService } from '../domain/replica-service.ts';
import type { ReplicaReceiverDeps } from './replica-receiver.ts';
import type { ReplicaPeer } from './replicator.ts';

/** Where replication with one peer stands, as `topology status` shows it. */
export interface ReplicationStatus {
  /** `to`: this central keeps the peer in step; `from`: the peer (the central) keeps this one. */
  direction: 'to' | 'from';
  /** The run of changes (a new one starts with a snapshot) and the last change confirmed. */
  epoch: string | null;
  version: number;
  /** The snapshot that began the epoch has arrived whole. */
  snapshotDone: boolean;
  /** Items that differ between what the peer confirmed and this server's state now (`to`). */
  pendingItems: number;
  /** The digest here now, and the one the other side last stated. */
  digest: string;
  peerDigest: string | null;
  /** Both sides hold the same state. */
  inStep: boolean;
  /** When the last change was confirmed (`to`) or applied (`from`). */
  at: number | null;
}

/** On the central: each peer it keeps in step. */
export async function sendingStatus(
  peers: readonly ReplicaPeer[],
  replica: Pick<ReplicaService, 'items'>,
): Promise<Map<string, ReplicationStatus>> {
  const out = new Map<string, ReplicationStatus>();
  for (const p of peers) {
    const record = await p.record.read();
    const { items } = await replica.items(p.kinds, p.flows, p.only);
    const pending = diffReplica(record?.hashes ?? {}, items).length;
    const digest = replicaDigest(hashesOf(items));
    out.set(p.peer.name, {
      direction: 'to',
      epoch: record?.epoch ?? null,
      version: record?.version ?? 0,
      snapshotDone: record?.snapshotDone ?? false,
      pendingItems: pending,
      digest,
      peerDigest: record?.peerDigest ?? null,
      inStep: pending === 0 && record?.snapshotDone === true && record.peerDigest === digest,
      at: record?.confirmedAt ?? null,
    });
  }
  return out;
}

/** On a backup or distributed server: where it is in the central's changes. */
export async function receivingStatus(
  central: string,
  receiver: ReplicaReceiverDeps,
): Promise<ReplicationStatus> {
  const at: ReplicaPosition | null = await receiver.position(central).read();
  const digest = await receiver.service.digest(at?.kinds ?? [], receiver.flows);
  return {
    direction: 'from',
    epoch: at?.epoch ?? null,
    version: at?.version ?? 0,
    snapshotDone: at?.complete ?? false,
    pendingItems: 0,
    digest,
    peerDigest: at?.digest ?? null,
    inStep: at?.complete === true && at.digest === digest,
    at: at?.appliedAt ?? null,
  };
}

/** One line of it for a table. */
export function replicationText(r: ReplicationStatus | null | undefined): string {
  if (!r) return '';
  if (r.epoch === null) return r.direction === 'to' ? 'snapshot not sent yet' : 'nothing received';
  if (!r.snapshotDone) return `snapshot under way (change ${r.version})`;
  if (r.inStep) return `in step (change ${r.version}, digest ${r.digest.slice(0, 12)})`;
  if (r.pendingItems > 0) return `${r.pendingItems} items to send (change ${r.version})`;
  return `digests differ (here ${r.digest.slice(0, 12)}, there ${(r.peerDigest ?? '-').slice(0, 12)})`;
}
