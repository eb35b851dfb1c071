import { describe, expect, it } from 'vitest';
import {
  applyAction,
  LIVE_STATES,
  MESSAGE_ACTIONS,
  type MessageState,
  type StatePair,
} from '../../server/domain/message-state.ts';

const live = (state: MessageState): StatePair => ({ state, deletedFrom: null });

describe('message state transitions', () => {
  // The whole table, written out: what each action does from each state.
  const expected: Record<string, Record<MessageState, string | null>> = {
    playHeader: {
      new: 'unopened',
      unopened: 'unopened',
      old: 'old',
      saved: 'saved',
      deleted: null,
    },
    play: { new: 'old', unopened: 'old', old: 'old', saved: 'saved', deleted: null },
    markUnread: { new: 'new', unopened: 'new', old: 'new', saved: 'new', deleted: null },
    save: { new: 'saved', unopened: 'saved', old: 'saved', saved: 'saved', deleted: null },
    unsave: { new: 'new', unopened: 'unopened', old: 'old', saved: 'old', deleted: null },
    delete: {
      new: 'deleted',
      unopened: 'deleted',
      old: 'deleted',
      saved: 'deleted',
      deleted: 'deleted',
    },
    undelete: { new: 'new', unopened: 'unopened', old: 'old', saved: 'saved', deleted: 'old' },
  };

  it('covers every action', () => {
    expect(Object.keys(expected).sort()).toEqual([...MESSAGE_ACTIONS].sort());
  });

  for (const action of MESSAGE_ACTIONS) {
    for (const state of [...LIVE_STATES, 'deleted'] as MessageState[]) {
      it(`${action} from ${state}`, () => {
        const from: StatePair = state === 'deleted' ? { state, deletedFrom: 'old' } : live(state);
        const next = applyAction(from, action);
        expect(next?.state ?? null).toBe(expected[action]![state]);
      });
    }
  }

  it('delete remembers the state and undelete restores it', () => {
    for (const state of LIVE_STATES) {
      const deleted = applyAction(live(state), 'delete')!;
      expect(deleted).toEqual({ state: 'deleted', deletedFrom: state });
      expect(applyAction(deleted, 'undelete')).toEqual({ state, deletedFrom: null });
    }
  });

  it('deleting twice keeps the first remembered state', () => {
    const once = applyAction(live('saved'), 'delete')!;
    expect(applyAction(once, 'delete')).toEqual({ state: 'deleted', deletedFrom: 'saved' });
  });

  it('a deleted message cannot be played, saved or marked unread', () => {
    const deleted: StatePair = { state: 'deleted', deletedFrom: 'new' };
    for (const action of ['play', 'save', 'markUnread', 'playHeader', 'unsave'] as const) {
      expect(applyAction(deleted, action)).toBeNull();
    }
  });
});
