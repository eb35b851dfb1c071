import { describe, expect, it } from 'vitest';
import { checkPeerState, mergeState, type PeerState } from '../../server/domain/state-merge.ts';

const s = (state: PeerState['state'], changedAt: number, server: string): PeerState => ({
  state,
  deletedFrom: state === 'deleted' ? 'old' : null,
  changedAt,
  server,
});

describe('merging a state change made on another server', () => {
  // [case, local (this server), remote (the peer), the state it ends in]
  const cases: [string, PeerState, PeerState, PeerState['state']][] = [
    ['later change wins', s('new', 1, 'central'), s('old', 2, 'backup'), 'old'],
    ['earlier change loses', s('saved', 3, 'central'), s('old', 2, 'backup'), 'saved'],
    ['tie: greater server name wins', s('old', 5, 'central'), s('saved', 5, 'east'), 'saved'],
    ['tie: smaller server name loses', s('old', 5, 'west'), s('saved', 5, 'east'), 'old'],
    ['deleted there, saved here later', s('saved', 9, 'central'), s('deleted', 1, 'b'), 'deleted'],
    ['deleted here, played there later', s('deleted', 1, 'central'), s('old', 9, 'b'), 'deleted'],
    ['both deleted', s('deleted', 1, 'central'), s('deleted', 2, 'b'), 'deleted'],
    ['the same change again', s('old', 2, 'b'), s('old', 2, 'b'), 'old'],
  ];
  it.each(cases)('%s', (_, local, remote, expected) => {
    const next = mergeState(local, remote);
    expect((next ?? local).state).toBe(expected);
  });

  it('gives the same answer on both sides', () => {
    for (const [, a, b] of cases) {
      const onA = mergeState(a, b) ?? a;
      const onB = mergeState(b, a) ?? b;
      expect(onA.state).toBe(onB.state);
    }
  });

  it('lets an undelete beat the very delete it names, and no other', () => {
    const deleted = s('deleted', 7, 'backup');
    const undelete = { ...s('saved', 9, 'central'), undoes: 7 };
    expect(mergeState(deleted, undelete)).toEqual({ state: 'saved', deletedFrom: null });
    // A delete made apart (another time) is not the one undone: it stays.
    expect(mergeState(s('deleted', 8, 'backup'), undelete)).toBeNull();
  });

  it('refuses a change that is not one', () => {
    expect(() =>
      checkPeerState({
        state: 'deleted',
        deletedFrom: 'old',
        changedAt: 1,
        server: 'b',
        undoes: 1,
      }),
    ).toThrow(/undoes/);
    expect(() =>
      checkPeerState({ state: 'old', deletedFrom: null, changedAt: 1, server: 'b', purged: true }),
    ).toThrow(/purged/);
    expect(() => checkPeerState({ state: 'lost', changedAt: 1, server: 'b' })).toThrow(
      /state change needs/,
    );
    expect(() =>
      checkPeerState({ state: 'old', deletedFrom: 'new', changedAt: 1, server: 'b' }),
    ).toThrow(/deletedFrom/);
    expect(
      checkPeerState({ state: 'deleted', deletedFrom: 'saved', changedAt: 3, server: 'b' }),
    ).toEqual({ state: 'deleted', deletedFrom: 'saved', changedAt: 3, server: 'b' });
  });
});
