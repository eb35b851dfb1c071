/**
 * What a central keeps in step on its backup and distributed servers (DESIGN.md, "Topology"),
 * as data: the replicated state is a set of items (a mailbox's settings, a hunt group's members,
 * a greeting, the call flows), each with a content hash. A peer is brought in step by versioned
 * changes: the differences between what it confirmed and what is here now, in an order it can
 * apply, cut into mails of bounded size. The digest of a set is the same on both sides when
 * they hold the same state, whatever their ids, audio keys or times.
 */
import { createHash } from 'node:crypto';
import type { ExportedMailbox } from './settings-transfer.ts';
import type { GreetingKind } from './mailbox.ts';

/** The kinds of item, in the order their upserts are applied (a group's members and a
 * greeting need their mailbox; removals go the other way). */
export const REPLICA_KINDS = ['mailbox', 'members', 'greeting', 'flows'] as const;
export type ReplicaKind = (typeof REPLICA_KINDS)[number];

/** What an item holds, by kind. */
export type ReplicaContent =
  | { kind: 'mailbox'; mailbox: ExportedMailbox }
  | { kind: 'members'; group: string; members: string[] }
  | {
      kind: 'greeting';
      mailbox: string;
      greeting: GreetingKind;
      /** SHA-256 of the audio: the audio itself travels beside the change. */
      sha256: string;
    }
  | { kind: 'flows'; text: string };

/** One item of the state: `key` names it (`mailbox/alice`), `hash` is its content's. */
export interface ReplicaItem {
  key: string;
  hash: string;
  content: ReplicaContent;
}

/** One step of a change: an item set to its content, or removed. */
export type ReplicaOp =
  { op: 'put'; key: string; hash: string; content: ReplicaContent } | { op: 'remove'; key: string };

/** What a peer confirmed it holds: item keys and their hashes. */
export type ReplicaHashes = Record<string, string>;

const sha256 = (text: string | Uint8Array): string =>
  createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted, so equal content hashes equally on every server. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

export function keyOf(c: ReplicaContent): string {
  switch (c.kind) {
    case 'mailbox':
      return `mailbox/${c.mailbox.name}`;
    case 'members':
      return `members/${c.group}`;
    case 'greeting':
      return `greeting/${c.mailbox}/${c.greeting}`;
    case 'flows':
      return 'flows';
  }
}

export function itemOf(content: ReplicaContent): ReplicaItem {
  return { key: keyOf(content), hash: sha256(canonicalJson(content)), content };
}

export function audioHash(bytes: Uint8Array): string {
  return sha256(bytes);
}

const kindOf = (key: string): ReplicaKind => key.split('/')[0] as ReplicaKind;
const rank = (key: string): number => REPLICA_KINDS.indexOf(kindOf(key));

/** The digest of a state: equal on two servers exactly when they hold the same items. */
export function replicaDigest(hashes: ReplicaHashes): string {
  const lines = Object.keys(hashes)
    .sort()
    .map((k) => `${k}\0${hashes[k]}\n`);
  return sha256(lines.join(''));
}

export function hashesOf(items: readonly ReplicaItem[]): ReplicaHashes {
  return Object.fromEntries(items.map((i) => [i.key, i.hash]));
}

/**
 * The steps from `confirmed` to `current`, in an order a receiver can apply one by one:
 * removals first, the dependent kinds before what they depend on (so a mailbox's extension is
 * free before another takes it), then puts, mailboxes first.
 */
export function diffReplica(
  confirmed: ReplicaHashes,
  current: readonly ReplicaItem[],
): ReplicaOp[] {
  const now = new Map(current.map((i) => [i.key, i]));
  const removes: ReplicaOp[] = Object.keys(confirmed)
    .filter((k) => !now.has(k))
    .sort((a, b) => rank(b) - rank(a) || (a < b ? -1 : 1))
    .map((key) => ({ op: 'remove', key }));
  const puts: ReplicaOp[] = current
    .filter((i) => confirmed[i.key] !== i.hash)
    .sort((a, b) => rank(a.key) - rank(b.key) || (a.key < b.key ? -1 : 1))
    .map((i) => ({ op: 'put', key: i.key, hash: i.hash, content: i.content }));
  return [...removes, ...puts];
}

/** `hashes` after `ops`. */
export function applyHashes(hashes: ReplicaHashes, ops: readonly ReplicaOp[]): ReplicaHashes {
  const out = { ...hashes };
  for (const op of ops) {
    if (op.op === 'remove') delete out[op.key];
    else out[op.key] = op.hash;
  }
  return out;
}

/**
 * The first mail's worth of `ops`: as many as fit in `budget` bytes (an op's size as `sizeOf`
 * says, its audio included), and always at least one, so a large greeting still goes alone.
 */
export function takeChunk(
  ops: readonly ReplicaOp[],
  budget: number,
  sizeOf: (op: ReplicaOp) => number,
): ReplicaOp[] {
  const chunk: ReplicaOp[] = [];
  let used = 0;
  for (const op of ops) {
    const size = sizeOf(op);
    if (chunk.length > 0 && used + size > budget) break;
    chunk.push(op);
    used += size;
  }
  return chunk;
}

/**
 * One replication mail: version `version` of the sender's epoch (a run of changes that starts
 * with a snapshot: a new epoch whenever the sender does not know what the peer holds). The first
 * versions of an epoch are the snapshot; its last part says `complete` and lists every key, so
 * the receiver drops what it holds beyond them. `digest` is the sender's state's after this
 * change: the receiver compares its own with it.
 */
export interface ReplicaChange {
  epoch: string;
  version: number;
  snapshot: boolean;
  /** The kinds the sender keeps in step here (a distributed server may take fewer). */
  kinds: ReplicaKind[];
  /** The last part of the snapshot: every key the sender holds. */
  complete?: string[];
  ops: ReplicaOp[];
  digest: string;
}

/** What a receiver remembers of a sender: where it is, durably (the sender resends from there). */
export interface ReplicaPosition {
  epoch: string;
  version: number;
  /** The kinds the sender keeps in step here. */
  kinds: ReplicaKind[];
  /** The sender's digest at that version, and this server's after applying it. */
  digest: string;
  localDigest: string;
  /** The snapshot of this epoch has arrived whole. */
  complete: boolean;
  appliedAt: number;
}

/** What a receiver does with a change, given where it is. */
export type ReplicaVerdict =
  | { action: 'apply' }
  /** Applied before (a resend): acknowledged, nothing done. */
  | { action: 'ack' }
  /** Not the next one: the sender retries (it sends in order; this one came early). */
  | { action: 'wait'; expected: number }
  /** This server does not know the epoch (it lost its state, or the sender's is new and this is
   * not its first version): the sender must start again with a snapshot. */
  | { action: 'resnapshot' };

/** Whether to apply a change: in order within an epoch; a new epoch only from its start. */
export function judgeChange(
  at: ReplicaPosition | null,
  change: Pick<ReplicaChange, 'epoch' | 'version'>,
): ReplicaVerdict {
  if (at && at.epoch === change.epoch) {
    if (change.version <= at.version) return { action: 'ack' };
    if (change.version === at.version + 1) return { action: 'apply' };
    return { action: 'wait', expected: at.version + 1 };
  }
  return change.version === 1 ? { action: 'apply' } : { action: 'resnapshot' };
}

/** The text a receiver's refusal carries when the sender must start a snapshot again. */
export const RESNAPSHOT_MARK = 'replication needs a new snapshot';
