/**
 * What counts as a message still waiting for its owner: the lamp, the phone's "you have N new
 * messages", the web's unread count, IMAP's missing \Seen and the phone's "new messages" menu
 * all mean the same messages, decided here.
 */
import type { LiveState, MessageState } from './message-state.ts';

/**
 * Nothing of it was played (`new`), or only its header (`unopened`: the caller and time, in
 * Intuity's order): the owner has not heard the message yet. Priority and privacy do not
 * matter; a deleted message never waits, whatever state it was deleted from.
 */
export const WAITING_STATES = ['new', 'unopened'] as const satisfies readonly LiveState[];
/** Played (`old`) or kept (`saved`): heard, and still in the mailbox. */
export const HEARD_STATES = ['old', 'saved'] as const satisfies readonly LiveState[];

export function isWaiting(state: MessageState): boolean {
  return (WAITING_STATES as readonly MessageState[]).includes(state);
}

/**
 * A message as its flags show it wherever deleted ones are still listed (IMAP's \Deleted in
 * INBOX, the trash): the state it was deleted from tells whether it had been heard.
 */
export function wasWaiting(m: { state: MessageState; deletedFrom: LiveState | null }): boolean {
  const base = m.state === 'deleted' ? m.deletedFrom : m.state;
  // A deleted message always remembers its state; if one did not, nobody is known to have heard it.
  return base === null || isWaiting(base);
}

/** A mailbox's messages as the lamp counts them (RFC 3842's new/old). */
export interface LampCounts {
  /** Not heard yet: lights the lamp. */
  waiting: number;
  /** Heard and kept (old and saved). */
  heard: number;
}

export function lampCounts(byState: Partial<Record<MessageState, number>>): LampCounts {
  const sum = (states: readonly MessageState[]): number =>
    states.reduce((n, s) => n + (byState[s] ?? 0), 0);
  return { waiting: sum(WAITING_STATES), heard: sum(HEARD_STATES) };
}
