import { describe, expect, it } from 'vitest';
import {
  applyHashes,
  diffReplica,
  hashesOf,
  itemOf,
  judgeChange,
  replicaDigest,
  takeChunk,
  type ReplicaContent,
  type ReplicaPosition,
} from '../../server/domain/replica.ts';

const mailbox = (name: string, extension: string): ReplicaContent => ({
  kind: 'mailbox',
  mailbox: { name, extension, fullName: name } as never,
});
const greeting = (name: string, sha: string): ReplicaContent => ({
  kind: 'greeting',
  mailbox: name,
  greeting: 'unavailable',
  sha256: sha.repeat(64),
});

describe('replicated state', () => {
  it('has the same digest for the same items in any order, and another for any change', () => {
    const a = [itemOf(mailbox('alice', '201')), itemOf(greeting('alice', 'a'))];
    const same = [itemOf(greeting('alice', 'a')), itemOf(mailbox('alice', '201'))];
    expect(replicaDigest(hashesOf(a))).toBe(replicaDigest(hashesOf(same)));
    const other = [itemOf(mailbox('alice', '202')), itemOf(greeting('alice', 'a'))];
    expect(replicaDigest(hashesOf(other))).not.toBe(replicaDigest(hashesOf(a)));
  });

  it('orders a change so that each step can be applied: removals first, then mailboxes', () => {
    const confirmed = hashesOf([
      itemOf(mailbox('bob', '202')),
      itemOf(greeting('bob', 'b')),
      itemOf(mailbox('alice', '201')),
    ]);
    const now = [
      itemOf(greeting('carol', 'c')),
      itemOf(mailbox('carol', '202')),
      itemOf(mailbox('alice', '201')),
    ];
    const ops = diffReplica(confirmed, now);
    expect(ops.map((o) => `${o.op} ${o.key}`)).toEqual([
      'remove greeting/bob/unavailable',
      'remove mailbox/bob',
      'put mailbox/carol',
      'put greeting/carol/unavailable',
    ]);
    expect(replicaDigest(applyHashes(confirmed, ops))).toBe(replicaDigest(hashesOf(now)));
  });

  it('cuts changes to a size, a large item alone', () => {
    const ops = diffReplica(
      {},
      ['a', 'b', 'c'].map((n) => itemOf(greeting(n, n))),
    );
    const sizes: Record<string, number> = { a: 10, b: 100, c: 10 };
    const size = (o: (typeof ops)[number]) => sizes[o.key.split('/')[1]!]!;
    expect(takeChunk(ops, 50, size)).toHaveLength(1);
    expect(takeChunk(ops.slice(1), 50, size)).toHaveLength(1);
    expect(takeChunk(ops.slice(2), 50, size)).toHaveLength(1);
  });

  it('applies changes in order, once, and asks for a snapshot when it lost its place', () => {
    const at = { epoch: 'e1', version: 4 } as ReplicaPosition;
    expect(judgeChange(at, { epoch: 'e1', version: 5 })).toEqual({ action: 'apply' });
    expect(judgeChange(at, { epoch: 'e1', version: 4 })).toEqual({ action: 'ack' });
    expect(judgeChange(at, { epoch: 'e1', version: 7 })).toEqual({ action: 'wait', expected: 5 });
    expect(judgeChange(at, { epoch: 'e2', version: 1 })).toEqual({ action: 'apply' });
    expect(judgeChange(at, { epoch: 'e2', version: 3 })).toEqual({ action: 'resnapshot' });
    expect(judgeChange(null, { epoch: 'e1', version: 5 })).toEqual({ action: 'resnapshot' });
  });
});
