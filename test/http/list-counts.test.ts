import { describe, expect, it } from 'vitest';
import { ListCounts, mailboxKey } from '../../server/http/list-counts.ts';

const counts = (n: number) => ({ new: n, old: 0, saved: 0, deleted: 0 });

describe('the list counts kept per modification sequence', () => {
  it('answers at the sequence they were counted at, and forgets them at a newer one', () => {
    const kept = new ListCounts();
    expect(kept.get('1.0', 10, 'inbox')).toEqual({});
    kept.set('1.0', 10, 'inbox', { counts: counts(3), total: 3 });
    expect(kept.get('1.0', 10, 'inbox')).toEqual({ counts: counts(3), total: 3 });
    // Another search at the same sequence: the counts are the mailbox's, its total is not known.
    expect(kept.get('1.0', 10, 'q=ann')).toEqual({ counts: counts(3) });
    expect(kept.get('2.0', 10, 'inbox')).toEqual({});
    // Something changed: nothing counted before is used.
    expect(kept.get('1.0', 11, 'inbox')).toEqual({});
  });

  it('keeps the newest: a request that read an older sequence neither uses nor replaces it', () => {
    const kept = new ListCounts();
    kept.set('1.0', 11, 'inbox', { counts: counts(4), total: 4 });
    kept.set('1.0', 10, 'inbox', { counts: counts(3), total: 3 });
    expect(kept.get('1.0', 10, 'inbox')).toEqual({});
    expect(kept.get('1.0', 11, 'inbox')).toEqual({ counts: counts(4), total: 4 });
  });

  it('stays bounded: a few searches per mailbox, the oldest forgotten first', () => {
    const kept = new ListCounts();
    for (let i = 0; i < 20; i++) kept.set('1.0', 10, `q=${i}`, { counts: counts(1), total: i });
    expect(kept.get('1.0', 10, 'q=0').total).toBeUndefined();
    expect(kept.get('1.0', 10, 'q=19').total).toBe(19);
  });

  it('tells a mailbox from a deleted one whose id was taken again', () => {
    const kept = new ListCounts();
    const old = mailboxKey({ id: 7, createdAt: 1000 });
    const again = mailboxKey({ id: 7, createdAt: 2000 });
    kept.set(old, 40, 'inbox', { counts: counts(9), total: 9 });
    expect(kept.get(again, 40, 'inbox')).toEqual({});
  });
});
