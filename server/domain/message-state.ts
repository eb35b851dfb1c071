/**
 * Message states and the transitions every channel may ask for, declared as data and checked
 * in one place (`applyAction`). A deleted message remembers the state it had, so undelete
 * restores it.
 */
export const LIVE_STATES = ['new', 'unopened', 'old', 'saved'] as const;
export type LiveState = (typeof LIVE_STATES)[number];
export type MessageState = LiveState | 'deleted';
export const MESSAGE_STATES: readonly MessageState[] = [...LIVE_STATES, 'deleted'];

/** `restore` = back to the state remembered at deletion. */
type Target = MessageState | 'restore';

export const TRANSITIONS = {
  /** The header (caller, time) was played: Intuity's "unopened". */
  playHeader: { new: 'unopened', unopened: 'unopened', old: 'old', saved: 'saved' },
  /** The message itself was played. A saved message stays saved. */
  play: { new: 'old', unopened: 'old', old: 'old', saved: 'saved' },
  markUnread: { new: 'new', unopened: 'new', old: 'new', saved: 'new' },
  save: { new: 'saved', unopened: 'saved', old: 'saved', saved: 'saved' },
  /** Clearing the saved mark (IMAP -FLAGS \Flagged) leaves a played message. */
  unsave: { new: 'new', unopened: 'unopened', old: 'old', saved: 'old' },
  delete: {
    new: 'deleted',
    unopened: 'deleted',
    old: 'deleted',
    saved: 'deleted',
    deleted: 'deleted',
  },
  undelete: { deleted: 'restore', new: 'new', unopened: 'unopened', old: 'old', saved: 'saved' },
} as const satisfies Record<string, Partial<Record<MessageState, Target>>>;

export type MessageAction = keyof typeof TRANSITIONS;
export const MESSAGE_ACTIONS = Object.keys(TRANSITIONS) as MessageAction[];

export interface StatePair {
  state: MessageState;
  /** Set only while `state` is `deleted`. */
  deletedFrom: LiveState | null;
}

/**
 * The state after `action`, or null when the action is not allowed from the current state.
 * An action that leaves the state as it was returns an equal pair (the caller skips the write).
 */
export function applyAction(current: StatePair, action: MessageAction): StatePair | null {
  const table: Partial<Record<MessageState, Target>> = TRANSITIONS[action];
  const target = table[current.state];
  if (target === undefined) return null;
  if (target === 'restore') return { state: current.deletedFrom ?? 'old', deletedFrom: null };
  if (target === 'deleted') {
    const from = current.state === 'deleted' ? current.deletedFrom : current.state;
    return { state: 'deleted', deletedFrom: from ?? 'old' };
  }
  return { state: target, deletedFrom: null };
}

export function isLiveState(value: string): value is LiveState {
  return (LIVE_STATES as readonly string[]).includes(value);
}
