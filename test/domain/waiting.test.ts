import { describe, expect, it } from 'vitest';
import { isWaiting, lampCounts, wasWaiting } from '../../server/domain/waiting.ts';

describe('what the lamp counts', () => {
  it('counts new and unopened messages as waiting, old and saved as heard, never deleted ones', () => {
    expect(lampCounts({ new: 2, unopened: 1, old: 4, saved: 3, deleted: 7 })).toEqual({
      waiting: 3,
      heard: 7,
    });
    expect(lampCounts({})).toEqual({ waiting: 0, heard: 0 });
    expect(lampCounts({ deleted: 5 })).toEqual({ waiting: 0, heard: 0 });
  });

  it('decides per state, and for a deleted message by the state it was deleted from', () => {
    expect(
      ['new', 'unopened', 'old', 'saved', 'deleted'].map((s) => isWaiting(s as never)),
    ).toEqual([true, true, false, false, false]);
    expect(wasWaiting({ state: 'deleted', deletedFrom: 'unopened' })).toBe(true);
    expect(wasWaiting({ state: 'deleted', deletedFrom: 'saved' })).toBe(false);
    expect(wasWaiting({ state: 'new', deletedFrom: null })).toBe(true);
  });
});
